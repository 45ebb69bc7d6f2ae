import type { WebSocket } from 'ws';
import { ConnectionContext } from './api-gateway-events';
import { LocalConnections, PostOutcome } from './local-transport';
import { MAX_MESSAGE_BYTES } from '../core/protocol';

/** API Gateway's close code and reason for idle, over-age and shut-down connections. */
export const GOING_AWAY = { code: 1001, reason: 'Going away' } as const;
/** What `DELETE @connections/{id}` closes with. */
export const DELETED = { code: 1000, reason: '' } as const;
/**
 * What a connection that stops reading is cut off with, reported to `$disconnect`. API Gateway
 * documents no send buffer nor how it drops a slow reader, so 1008 (policy violation, RFC 6455
 * 7.4.1): a limit of this server was exceeded. The client itself sees 1006: its socket is
 * destroyed, as anycable-go's is when a session's send queue is full ("Write failed", 1006).
 */
export const SLOW_READER = { code: 1008, reason: 'Slow reader: too many bytes waiting to be sent' } as const;
/**
 * Bytes waiting to be sent to one connection (ws `bufferedAmount`, beyond what the kernel holds)
 * over which it is cut off: 16 MB, 128 messages at the 128 KB quota. anycable-go cuts a client
 * off once 256 frames wait for it (`sendCh`, node/session.go).
 */
export const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

export interface ConnectionLimits {
  /** Closes a connection after this long without a frame either way. */
  readonly idleTimeoutMs: number;
  /** Closes every connection this long after it opened, however active. */
  readonly maxConnectionMs: number;
  /** Cuts off a connection with this many bytes waiting to be sent (`SLOW_READER`). @default MAX_BUFFERED_BYTES */
  readonly maxBufferedBytes?: number;
}

export interface CloseStatus {
  readonly code: number;
  readonly reason: string;
}

export interface LiveConnection {
  readonly context: ConnectionContext;
  /** `connecting` while `$connect` runs and until the handshake completes. */
  readonly state: 'connecting' | 'open';
  /** Epoch milliseconds of the last frame either way. */
  readonly lastActiveAt: number;
}

interface Entry {
  context: ConnectionContext;
  state: 'connecting' | 'open';
  lastActiveAt: number;
  socket?: WebSocket;
  timers: NodeJS.Timeout[];
  /** Set when this server cut the socket off: what `$disconnect` reports rather than 1006. */
  cutOff?: CloseStatus;
}

/**
 * The local server's connections, from `$connect` to close, with API Gateway's `@connections`
 * semantics (410 until the handshake completes and after close, 413 over 128 KB), its two
 * timeouts, and a cap on what may wait for a client that does not read (`MAX_BUFFERED_BYTES`). Both the HTTP `@connections` endpoint and `LocalTransport` post through here.
 */
export class ConnectionRegistry implements LocalConnections {
  private readonly entries = new Map<string, Entry>();
  private isStopped = false;

  constructor(private readonly limits: ConnectionLimits) {}

  /** `$connect` is running for this id: posts answer 410 until `open`. */
  reserve(context: ConnectionContext): void {
    this.entries.set(context.connectionId, { context, state: 'connecting', lastActiveAt: context.connectedAt, timers: [] });
  }

  /** The handshake completed: posts reach the socket and the timeouts start. */
  open(connectionId: string, socket: WebSocket): void {
    const entry = this.entries.get(connectionId);
    if (!entry) return;
    entry.state = 'open';
    entry.socket = socket;
    entry.lastActiveAt = Date.now();
    const goAway = () => socket.close(GOING_AWAY.code, GOING_AWAY.reason);
    entry.timers.push(setTimeout(goAway, this.limits.idleTimeoutMs), setTimeout(goAway, this.limits.maxConnectionMs));
  }

  /**
   * `$connect` refused it or its socket closed: posts answer 410 from now on. Returns the close
   * status when this server cut the socket off (`SLOW_READER`).
   */
  remove(connectionId: string): CloseStatus | undefined {
    const entry = this.entries.get(connectionId);
    if (!entry) return undefined;
    entry.timers.forEach((timer) => clearTimeout(timer));
    this.entries.delete(connectionId);
    return entry.cutOff;
  }

  /** A frame went either way: the idle timeout starts over. */
  touch(connectionId: string): void {
    const entry = this.entries.get(connectionId);
    if (!entry) return;
    entry.lastActiveAt = Date.now();
    entry.timers[0]?.refresh();
  }

  /** Open connections only: `undefined` is API Gateway's 410. */
  get(connectionId: string): LiveConnection | undefined {
    return this.openEntry(connectionId);
  }

  get stopped(): boolean {
    return this.isStopped;
  }

  post(connectionId: string, data: string | Buffer): PostOutcome {
    if (Buffer.byteLength(data) > MAX_MESSAGE_BYTES) return 'too_large';
    const entry = this.openEntry(connectionId);
    if (!entry?.socket) return 'gone';
    entry.socket.send(data, { binary: false });
    if (entry.socket.bufferedAmount > (this.limits.maxBufferedBytes ?? MAX_BUFFERED_BYTES)) {
      // A close frame would wait behind what the client does not read: the socket is destroyed.
      entry.cutOff = SLOW_READER;
      entry.socket.terminate();
      return 'gone';
    }
    this.touch(connectionId);
    return 'sent';
  }

  disconnect(connectionId: string): boolean {
    const entry = this.openEntry(connectionId);
    if (!entry?.socket) return false;
    entry.socket.close(DELETED.code, DELETED.reason);
    return true;
  }

  /** Every socket whose handshake completed and that has not closed yet. */
  sockets(): WebSocket[] {
    return [...this.entries.values()].flatMap((entry) => (entry.socket ? [entry.socket] : []));
  }

  /** The server is going away: every connection answers 410 from now on. */
  stop(): void {
    this.isStopped = true;
  }

  private openEntry(connectionId: string): Entry | undefined {
    const entry = this.entries.get(connectionId);
    const open = !this.isStopped && entry?.state === 'open' && entry.socket !== undefined && entry.socket.readyState === entry.socket.OPEN;
    return open ? entry : undefined;
  }
}
