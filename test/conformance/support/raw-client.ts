import { IncomingMessage } from 'node:http';
import WebSocket from 'ws';

/** The subprotocols the stock @rails/actioncable client offers, in its order. */
export const CLIENT_SUBPROTOCOLS = ['actioncable-v1-json', 'actioncable-unsupported'];

export interface Handshake {
  /** 101 when upgraded; otherwise the HTTP status of the refusal. */
  readonly status: number;
  /** The `Sec-WebSocket-Protocol` the server chose; null when it chose none. */
  readonly protocol: string | null;
}

export interface ServerClose {
  readonly code: number;
}

export interface RawClientOptions {
  /** Subprotocols to offer; `[]` offers none. @default CLIENT_SUBPROTOCOLS */
  readonly protocols?: string[];
  readonly origin?: string;
}

/** A server frame as received: parsed when it is JSON text. */
export type ReceivedFrame = Record<string, unknown> | { readonly unparsed: string };

const DEFAULT_WAIT_MS = 5_000;

/**
 * A bare `ws` client that records every frame the server sends, for frame-level comparisons.
 * Unlike a browser, `ws` fails the connection when the server picks no subprotocol although one
 * was offered; the handshake is recorded from the `upgrade` event before that check.
 */
export class RawCableClient {
  static open(url: string, options: RawClientOptions = {}): Promise<RawCableClient> {
    // The constructor wires the socket's events; the client resolves itself once connected or refused.
    return new Promise((resolve) => void new RawCableClient(url, options, resolve));
  }

  readonly frames: ReceivedFrame[] = [];
  /** The same frames as the server wrote them. */
  readonly texts: string[] = [];
  handshake: Handshake = { status: 0, protocol: null };
  /** Set when the server (not this client) closed the connection. */
  serverClose: ServerClose | undefined;
  private readonly socket: WebSocket;
  private closingByClient = false;
  private readonly waiters = new Set<() => void>();

  private constructor(url: string, options: RawClientOptions, ready: (client: RawCableClient) => void) {
    const protocols = options.protocols ?? CLIENT_SUBPROTOCOLS;
    this.socket = new WebSocket(url, protocols, { headers: options.origin ? { Origin: options.origin } : {} });
    let settled = false;
    const settle = (): void => {
      if (!settled) {
        settled = true;
        ready(this);
      }
    };
    this.socket.on('upgrade', (response: IncomingMessage) => {
      this.handshake = { status: response.statusCode ?? 0, protocol: headerValue(response.headers['sec-websocket-protocol']) };
    });
    this.socket.on('unexpected-response', (_request, response: IncomingMessage) => {
      this.handshake = { status: response.statusCode ?? 0, protocol: null };
      response.resume();
      this.socket.terminate();
      settle();
    });
    this.socket.on('open', settle);
    this.socket.on('error', () => settle());
    this.socket.on('message', (data, isBinary) => {
      const text = isBinary ? `<binary ${(data as Buffer).length} bytes>` : data.toString();
      this.texts.push(text);
      this.frames.push(parse(text));
      this.notify();
    });
    this.socket.on('close', (code) => {
      if (!this.closingByClient && this.handshake.status === 101) this.serverClose = { code };
      this.notify();
      settle();
    });
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  get isClosed(): boolean {
    return this.socket.readyState === WebSocket.CLOSED;
  }

  send(command: unknown): void {
    this.socket.send(typeof command === 'string' ? command : JSON.stringify(command));
  }

  sendBinary(bytes: Buffer): void {
    this.socket.send(bytes, { binary: true });
  }

  /** Resolves with the first frame (already received or still to come) that matches. */
  async waitForFrame(predicate: (frame: ReceivedFrame) => boolean, what: string, timeoutMs = DEFAULT_WAIT_MS): Promise<ReceivedFrame> {
    await this.waitUntil(() => this.frames.some(predicate) || this.isClosed, what, timeoutMs);
    const frame = this.frames.find(predicate);
    if (!frame) throw new Error(`connection closed before ${what}; frames: ${JSON.stringify(this.frames)}`);
    return frame;
  }

  /** Resolves once `count` frames match (or throws when the connection closes first). */
  async waitForFrames(predicate: (frame: ReceivedFrame) => boolean, count: number, what: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    await this.waitUntil(() => this.frames.filter(predicate).length >= count || this.isClosed, what, timeoutMs);
    if (this.frames.filter(predicate).length < count) throw new Error(`connection closed before ${what}; frames: ${JSON.stringify(this.frames)}`);
  }

  /** Resolves once the server has closed the connection. */
  async waitForClose(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    await this.waitUntil(() => this.isClosed, 'the server closing the connection', timeoutMs);
  }

  close(): Promise<void> {
    this.closingByClient = true;
    if (this.isClosed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      if (this.socket.readyState === WebSocket.CONNECTING) this.socket.terminate();
      else this.socket.close();
      setTimeout(() => this.socket.terminate(), 1_000).unref();
    });
  }

  private waitUntil(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; frames: ${JSON.stringify(this.frames)}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

export function isPing(frame: ReceivedFrame): boolean {
  return 'type' in frame && frame.type === 'ping';
}

function parse(text: string): ReceivedFrame {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // recorded as text below
  }
  return { unparsed: text };
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}
