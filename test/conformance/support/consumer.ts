import * as ActionCable from '@rails/actioncable';
import WebSocket from 'ws';

/**
 * The stock @rails/actioncable consumer, run in Node: `ws` stands in for the browser WebSocket and
 * the few browser globals the client touches are provided (its ConnectionMonitor registers a
 * `visibilitychange` listener on the global object; `createConsumer()` without a URL would read a
 * `<meta>` tag, so a URL is always passed).
 */

interface EventTargetGlobals {
  addEventListener?: (type: string, listener: unknown) => void;
  removeEventListener?: (type: string, listener: unknown) => void;
  document?: unknown;
}

const recorders = new Map<string, RecordingConsumer>();
let installed = false;

/** A `ws` WebSocket that reports what it sends and receives to the consumer that opened it. */
class RecordingWebSocket extends WebSocket {
  private readonly recorder: RecordingConsumer | undefined;

  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols);
    const recorder = recorders.get(url);
    this.recorder = recorder;
    this.on('message', (data, isBinary) => {
      if (!isBinary) recorder?.received.push(JSON.parse(data.toString()) as Record<string, unknown>);
    });
  }

  override send(data: unknown, ...rest: unknown[]): void {
    this.recorder?.sent.push(JSON.parse(String(data)) as Record<string, unknown>);
    (super.send as (...args: unknown[]) => void)(data, ...rest);
  }
}

function installNodeGlobals(): void {
  if (installed) return;
  installed = true;
  const scope = globalThis as EventTargetGlobals;
  scope.addEventListener ??= () => undefined;
  scope.removeEventListener ??= () => undefined;
  scope.document ??= { visibilityState: 'visible', head: { querySelector: () => null } };
  ActionCable.adapters.WebSocket = RecordingWebSocket as unknown as typeof ActionCable.adapters.WebSocket;
}

export type SubscriptionEvent =
  | { readonly event: 'initialized' }
  | { readonly event: 'connected'; readonly reconnected: boolean }
  | { readonly event: 'rejected' }
  | { readonly event: 'disconnected' }
  | { readonly event: 'received'; readonly data: unknown };

export interface RecordedSubscription {
  readonly subscription: ActionCable.Subscription;
  readonly events: SubscriptionEvent[];
}

let consumerCount = 0;

/** One @rails/actioncable consumer with a record of the commands it sent and the frames it got. */
export class RecordingConsumer {
  readonly consumer: ActionCable.Consumer;
  /** Commands the client sent, parsed. */
  readonly sent: Record<string, unknown>[] = [];
  /** Frames the client received, parsed (pings included). */
  readonly received: Record<string, unknown>[] = [];
  private readonly url: string;

  constructor(baseUrl: string) {
    installNodeGlobals();
    // A unique query string tells the sockets of concurrent consumers apart; servers ignore it.
    this.url = `${baseUrl}?consumer=${++consumerCount}`;
    recorders.set(this.url, this);
    this.consumer = ActionCable.createConsumer(this.url);
  }

  /** `consumer.subscriptions.create(params)`, recording every callback. */
  subscribe(params: ActionCable.ChannelNameWithParams): RecordedSubscription {
    const events: SubscriptionEvent[] = [];
    const subscription = this.consumer.subscriptions.create(params, {
      initialized: () => { events.push({ event: 'initialized' }); },
      connected: ({ reconnected }: { reconnected: boolean }) => { events.push({ event: 'connected', reconnected }); },
      rejected: () => { events.push({ event: 'rejected' }); },
      disconnected: () => { events.push({ event: 'disconnected' }); },
      received: (data: unknown) => { events.push({ event: 'received', data }); },
    });
    return { subscription, events };
  }

  /** Commands of one kind the client sent, e.g. how often it sent `subscribe`. */
  sentCommands(command: string): Record<string, unknown>[] {
    return this.sent.filter((frame) => frame.command === command);
  }

  /** Received frames without pings. */
  frames(): Record<string, unknown>[] {
    return this.received.filter((frame) => frame.type !== 'ping');
  }

  waitForFrame(predicate: (frame: Record<string, unknown>) => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    return waitFor(() => this.received.some(predicate), what, timeoutMs, () => JSON.stringify(this.received));
  }

  disconnect(): void {
    this.consumer.disconnect();
    recorders.delete(this.url);
  }
}

/** Polls a condition on the client's own state (callbacks have no promise to await). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000, context: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} ${context()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Waits a fixed time: only for asserting that something does NOT happen within a window. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
