import type { WebSocket } from 'ws';
import { ConnectionContext } from './api-gateway-events';
import { LocalConnections, PostOutcome } from './local-transport';
import { MAX_MESSAGE_BYTES } from '../core/protocol';

/** API Gateway's close code and reason for idle, over-age and shut-down connections. */
export const GOING_AWAY = { code: 1001, reason: 'Going away' } as const;
/** What `DELETE @connections/{id}` closes with. */
export const DELETED = { code: 1000, reason: '' } as const;

export interface ConnectionLimits {
  /** Closes a connection after this long without a frame either way. */
  readonly idleTimeoutMs: number;
  /** Closes every connection this long after it opened, however active. */
  readonly maxConnectionMs: number;
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
}

/**
 * The local server's connections, from `$connect` to close, with API Gateway's `@connections`
 * semantics (410 until the handshake completes and after close, 413 over 128 KB) and its two
 * timeouts. Both the HTTP `@connections` endpoint and `LocalTransport` post through here.
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

  /** `$connect` refused it or its socket closed: posts answer 410 from now on. */
  remove(connectionId: string): void {
    const entry = this.entries.get(connectionId);
    if (!entry) return;
    entry.timers.forEach((timer) => clearTimeout(timer));
    this.entries.delete(connectionId);
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
