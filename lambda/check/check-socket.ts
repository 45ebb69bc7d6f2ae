import { RawData, WebSocket } from 'ws';

/** A frame the server sent, with when it arrived (`performance.now()` milliseconds). */
export interface ReceivedFrame {
  readonly at: number;
  /** The parsed JSON, or undefined when the text was not JSON. */
  readonly json: unknown;
  readonly text: string;
}

/** Why the handshake did not open a socket. */
export type HandshakeFailure =
  /** The upgrade was answered with an HTTP status instead of 101. */
  | { readonly kind: 'status'; readonly status: number; readonly body: string }
  /** 101, but without `Sec-WebSocket-Protocol: actioncable-v1-json` (or with another one). */
  | { readonly kind: 'subprotocol'; readonly given: string | undefined }
  /** No answer: DNS, refused connection, TLS, timeout. */
  | { readonly kind: 'network'; readonly message: string };

export type OpenResult =
  | { readonly kind: 'open'; readonly socket: CheckSocket; readonly protocol: string }
  | { readonly kind: 'failed'; readonly failure: HandshakeFailure };

export interface OpenOptions {
  readonly subprotocol: string;
  readonly origin?: string;
  readonly timeoutMs: number;
}

/**
 * A client WebSocket for the check: every frame is queued from the moment of the upgrade, so a
 * step can wait for "the next frame like this" without missing one that came early.
 */
export class CheckSocket {
  /** Opens a socket offering one subprotocol; never throws, the failure is the result. */
  static open(url: string, options: OpenOptions): Promise<OpenResult> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (result: OpenResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const ws = new WebSocket(url, [options.subprotocol], {
        ...(options.origin ? { origin: options.origin } : {}),
        handshakeTimeout: options.timeoutMs,
      });
      const socket = new CheckSocket(ws);
      const timer = setTimeout(() => {
        settle({ kind: 'failed', failure: { kind: 'network', message: `no answer to the upgrade within ${options.timeoutMs} ms` } });
        ws.terminate();
      }, options.timeoutMs + 100);
      ws.on('unexpected-response', (_request, response) => {
        let body = '';
        const refused = () => {
          settle({ kind: 'failed', failure: { kind: 'status', status: response.statusCode ?? 0, body: body.slice(0, 500) } });
          ws.terminate();
        };
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (body.length < 500) body += chunk;
        });
        response.on('end', refused);
        response.on('error', refused);
      });
      ws.on('error', (error: Error) => {
        // ws refuses a 101 without the offered subprotocol ("Server sent no subprotocol") or with another.
        if (/subprotocol/i.test(error.message)) {
          const given = /Server sent an invalid subprotocol/i.test(error.message) ? 'another one' : undefined;
          settle({ kind: 'failed', failure: { kind: 'subprotocol', given } });
        } else {
          settle({ kind: 'failed', failure: { kind: 'network', message: error.message } });
        }
      });
      ws.on('open', () => {
        if (ws.protocol !== options.subprotocol) {
          settle({ kind: 'failed', failure: { kind: 'subprotocol', given: ws.protocol || undefined } });
          ws.terminate();
          return;
        }
        settle({ kind: 'open', socket, protocol: ws.protocol });
      });
    });
  }

  private readonly frames: ReceivedFrame[] = [];
  private readonly waiters = new Set<() => void>();
  private closeInfo: { code: number; reason: string } | undefined;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: RawData) => {
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      this.frames.push({ at: performance.now(), json, text });
      this.wake();
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closeInfo = { code, reason: reason.toString('utf8') };
      this.wake();
    });
    ws.on('error', () => this.wake());
  }

  /** How the server closed the socket, once it has. */
  get closed(): { code: number; reason: string } | undefined {
    return this.closeInfo;
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  /**
   * The first queued frame that matches, removed from the queue (earlier frames that do not
   * match stay), or undefined when none came within `timeoutMs` or the socket closed.
   */
  async next(match: (json: unknown) => boolean, timeoutMs: number): Promise<ReceivedFrame | undefined> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex((frame) => match(frame.json));
      if (index >= 0) return this.frames.splice(index, 1)[0];
      const left = deadline - performance.now();
      if (left <= 0 || this.closeInfo) return undefined;
      await this.event(left);
    }
  }

  /** Closes with 1000 and resolves with the close code once the server has answered (or after `timeoutMs`). */
  async close(timeoutMs: number): Promise<{ code: number; reason: string } | undefined> {
    if (!this.closeInfo && this.ws.readyState === WebSocket.OPEN) this.ws.close(1000, 'check done');
    const deadline = performance.now() + timeoutMs;
    while (!this.closeInfo && performance.now() < deadline) await this.event(deadline - performance.now());
    if (!this.closeInfo) this.ws.terminate();
    return this.closeInfo;
  }

  /** Drops the connection at once (a step failed and the rest cannot run). */
  terminate(): void {
    this.ws.terminate();
  }

  /** Resolves at the next frame, close or error, or after `ms`. */
  private event(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waiters.add(wake);
    });
  }

  private wake(): void {
    for (const wake of [...this.waiters]) wake();
  }
}
