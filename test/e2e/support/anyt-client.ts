import { RawData, WebSocket } from 'ws';

/** anyt's `WAIT_WHEN_EXPECTING_EVENT` and `WAIT_WHEN_NOT_EXPECTING_EVENT` (lib/anyt/client.rb). */
export const ANYT_WAIT_MS = 5_000;
export const ANYT_QUIET_MS = 500;

/** anyt's client: reads frames one at a time, in order, `ignore: %w[ping welcome]`. */
export class AnytClient {
  private readonly queue: Array<Record<string, unknown>> = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData) => {
      const frame = JSON.parse(data.toString()) as Record<string, unknown>;
      if (frame.type !== 'ping' && frame.type !== 'welcome') this.queue.push(frame);
    });
  }

  /** The next frame; fails as anyt's `receive` does after its 5 s (or `timeoutMs`). */
  async receive(timeoutMs = ANYT_WAIT_MS): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (Date.now() > deadline) throw new Error('Anyt::Client::TimeoutError');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.queue.shift()!;
  }

  /** The first queued or coming frame that satisfies `match`; the frames before it are dropped. */
  async next(match: (frame: Record<string, unknown>) => boolean, timeoutMs = ANYT_WAIT_MS): Promise<Record<string, unknown>> {
    for (;;) {
      const frame = await this.receive(timeoutMs);
      if (match(frame)) return frame;
    }
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** anyt's `client.close`: the socket goes without a frame (the server gets `$disconnect`). */
  close(): void {
    this.ws.close();
  }
}

/** Opens an anyt client offering `protocol`; the socket is pushed to `sockets` for the caller's clean-up. */
export async function anytClient(url: string, sockets: WebSocket[], protocol = 'actioncable-v1-ext-json'): Promise<AnytClient> {
  const ws = new WebSocket(url, [protocol]);
  sockets.push(ws);
  const client = new AnytClient(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return client;
}
