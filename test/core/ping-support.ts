import { Behaviour, makeWorld, playBehaviour, START_MS, World } from './support';
import { MemoryConnectionStore } from '../../lambda/adapters/memory/memory-connection-store';
import { CableSettings } from '../../lambda/core/config';
import { PingDeps } from '../../lambda/core/ping';
import { Clock, ConnectionRecord, Transport } from '../../lambda/core/ports';

export type { Behaviour } from './support';

export interface TransportCall {
  readonly kind: 'send' | 'close';
  readonly connectionId: string;
  /** Decoded frame, for sends. */
  readonly frame?: unknown;
  /** The clock when the call was made. */
  readonly at: number;
}

/** Records every call in order, with the time; plays a script per connection. */
export class RecordingTransport implements Transport {
  readonly calls: TransportCall[] = [];
  private readonly attempts = new Map<string, number>();

  constructor(private readonly clock: Clock, private readonly script: Readonly<Record<string, Behaviour>> = {}) {}

  async send(connectionId: string, data: string): Promise<void> {
    const at = this.clock.now();
    await new Promise((resolve) => setImmediate(resolve));
    playBehaviour(this.script, this.attempts, connectionId);
    this.calls.push({ kind: 'send', connectionId, frame: JSON.parse(data), at });
  }

  async close(connectionId: string): Promise<void> {
    this.calls.push({ kind: 'close', connectionId, at: this.clock.now() });
  }

  /** Frames sent per connection, decoded. */
  framesByConnection(): Record<string, unknown[]> {
    const frames: Record<string, unknown[]> = {};
    for (const call of this.calls) if (call.kind === 'send') (frames[call.connectionId] ??= []).push(call.frame);
    return frames;
  }

  pingedIds(): string[] {
    return this.calls.filter((call) => call.kind === 'send' && (call.frame as { type?: string }).type === 'ping').map((call) => call.connectionId).sort();
  }
}

/**
 * Virtual time for concurrent sleepers (FakeClock adds every sleep to the time, which is right for
 * one sleeper only): sleepers wake one at a time, earliest first, each on its own turn of the
 * event loop with the time set to its wake time.
 */
export class VirtualClock implements Clock {
  private readonly sleepers: { readonly wake: number; readonly order: number; readonly resolve: () => void }[] = [];
  private pumping = false;
  private order = 0;

  constructor(private current = START_MS) {}

  now(): number {
    return this.current;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.sleepers.push({ wake: this.current + Math.max(0, ms), order: this.order++, resolve });
      this.pump();
    });
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    setImmediate(() => {
      this.pumping = false;
      if (this.sleepers.length === 0) return;
      this.sleepers.sort((a, b) => a.wake - b.wake || a.order - b.order);
      const next = this.sleepers.shift()!;
      this.current = Math.max(this.current, next.wake);
      next.resolve();
      if (this.sleepers.length > 0) this.pump();
    });
  }

  advance(ms: number): void {
    this.current += ms;
  }
}

export interface PingWorld extends World {
  readonly deps: PingDeps;
  readonly recorder: RecordingTransport;
}

/** A world whose connection store pages `pageSize` at a time, with the recording transport. */
export function pingWorld(options: {
  settings?: CableSettings;
  script?: Record<string, Behaviour>;
  clock?: Clock;
  pageSize?: number;
} = {}): PingWorld {
  const world = makeWorld({ secret: 'x', ...options.settings });
  const clock = options.clock ?? world.clock;
  const connections = new MemoryConnectionStore(options.pageSize);
  const recorder = new RecordingTransport(clock, options.script);
  const deps: PingDeps = { ...world, connections, clock, transport: recorder, random: () => 0.5 };
  return { ...world, connections, deps, recorder };
}

export function connection(connectionId: string, connectedAt: number, extra: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    connectionId,
    connectedAt,
    expiresAt: Math.floor(connectedAt / 1000) + 3 * 3600,
    subprotocol: 'actioncable-v1-json',
    headers: {},
    query: {},
    ...extra,
  };
}
