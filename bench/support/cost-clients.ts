import { WebSocket } from 'ws';
import { ACTIONCABLE_SUBPROTOCOL } from '../../lambda/core/protocol';

/**
 * What a browser sends with the WebSocket upgrade on a Rails page (Chrome 131; a Rails cookie
 * session of typical size), so the connection row, and what storing it costs, is the size it
 * would be in production. `ws` adds Host, Upgrade, Connection and the Sec-WebSocket-* headers.
 */
export const BROWSER_HEADERS: Readonly<Record<string, string>> = {
  'Origin': 'https://app.example.com',
  'User-Agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Accept-Encoding': 'gzip, deflate, br, zstd',
  'Accept-Language': 'en-US,en;q=0.9',
  'Cache-Control': 'no-cache',
  'Pragma': 'no-cache',
  'Cookie': `_app_session=${'x'.repeat(680)}; cookie_consent=accepted`,
};

export type Frame = Record<string, unknown>;

interface Waiter {
  readonly matches: (frame: Frame) => boolean;
  readonly resolve: (frame: Frame) => void;
}

/**
 * A minimal ActionCable client (`actioncable-v1-json`) that sends exactly the frames the bench asks
 * for, and counts what goes each way; the stock `@rails/actioncable` client would add its own
 * subscribe retries and reconnects to the counts.
 */
export class BenchCableClient {
  /**
   * Opens a connection and resolves once the `welcome` has arrived; `protocol`
   * `actioncable-v1-ext-json` for AnyCable's extended protocol (its welcome carries a `sid`).
   */
  static async connect(url: string, options: { timeoutMs?: number; protocol?: string } = {}): Promise<BenchCableClient> {
    const { timeoutMs = 15_000, protocol = ACTIONCABLE_SUBPROTOCOL } = options;
    const socket = new WebSocket(url, protocol, { headers: { ...BROWSER_HEADERS }, perMessageDeflate: false });
    const client = new BenchCableClient(socket);
    const welcome = client.waitFor((frame) => frame.type === 'welcome', timeoutMs);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
    });
    await welcome;
    return client;
  }

  sentFrames = 0;
  sentBytes = 0;
  receivedFrames = 0;
  receivedBytes = 0;
  /** Frames received, parsed; the bench only keeps the most recent ones. */
  private readonly received: Frame[] = [];
  private waiters: Waiter[] = [];
  private closed: Promise<void>;

  private constructor(private readonly socket: WebSocket) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('message', (data: Buffer, binary: boolean) => {
      this.receivedFrames++;
      this.receivedBytes += data.length;
      if (binary) return;
      let frame: Frame;
      try {
        frame = JSON.parse(data.toString('utf8'));
      } catch {
        return;
      }
      this.received.push(frame);
      if (this.received.length > 100) this.received.shift();
      const ready = this.waiters.filter((waiter) => waiter.matches(frame));
      this.waiters = this.waiters.filter((waiter) => !waiter.matches(frame));
      ready.forEach((waiter) => waiter.resolve(frame));
    });
  }

  send(frame: Frame): void {
    const text = JSON.stringify(frame);
    this.sentFrames++;
    this.sentBytes += Buffer.byteLength(text);
    this.socket.send(text);
  }

  /** `extra`: more fields of the command (the ext protocol's `history`, `presence`). */
  async subscribe(identifier: string, timeoutMs = 15_000, extra: Frame = {}): Promise<void> {
    const answer = (frame: Frame) => frame.identifier === identifier && (frame.type === 'confirm_subscription' || frame.type === 'reject_subscription');
    const confirmed = this.waitFor(answer, timeoutMs, { fresh: true });
    this.send({ command: 'subscribe', identifier, ...extra });
    const frame = await confirmed;
    if (frame.type !== 'confirm_subscription') throw new Error(`subscription rejected: ${identifier}`);
  }

  unsubscribe(identifier: string): void {
    this.send({ command: 'unsubscribe', identifier });
  }

  perform(identifier: string, data: Record<string, unknown>): void {
    this.send({ command: 'message', identifier, data: JSON.stringify(data) });
  }

  /** The first frame that matches among the recent ones (unless `fresh`) or from now on. */
  waitFor(matches: (frame: Frame) => boolean, timeoutMs: number, { fresh = false } = {}): Promise<Frame> {
    const seen = fresh ? undefined : this.received.find(matches);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter.resolve !== done);
        reject(new Error(`no matching frame within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (frame: Frame) => {
        clearTimeout(timer);
        resolve(frame);
      };
      this.waiters.push({ matches, resolve: done });
    });
  }

  /** A clean close (1000); resolves once the socket is closed. */
  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close(1000);
    await this.closed;
  }

  /** Resolves when the server closes the socket (the pinger's 2-hour close). */
  whenClosed(): Promise<void> {
    return this.closed;
  }
}

/** Runs `task` over `items` with at most `concurrency` at a time. */
export async function inBatches<T, R>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
