import { IncomingMessage, STATUS_CODES } from 'node:http';
import { Duplex } from 'node:stream';
import { RawData, WebSocket, WebSocketServer } from 'ws';
import { ConnectionContext, connectEvent, disconnectEvent, LocalWebSocketEvent, messageEvent, newConnectionId } from './api-gateway-events';
import { ConnectionRegistry, GOING_AWAY } from './connection-registry';
import { Logger } from '../core/ports';
import { MAX_MESSAGE_BYTES } from '../core/protocol';
import { WebSocketResult } from '../handlers/events';

/** The three routes, as Lambda proxy integrations: the handler factories of lambda/handlers/. */
export interface RouteHandlers {
  readonly connect: (event: LocalWebSocketEvent) => Promise<WebSocketResult>;
  readonly message: (event: LocalWebSocketEvent) => Promise<WebSocketResult>;
  readonly disconnect: (event: LocalWebSocketEvent) => Promise<WebSocketResult>;
}

export interface WebSocketEndpointProps {
  /** `/cable`: the only path that upgrades. */
  readonly path: string;
  /** `host:port`, the events' `domainName`. */
  readonly domainName: string;
  readonly handlers: RouteHandlers;
  readonly registry: ConnectionRegistry;
  readonly logger: Logger;
}

const KEY = /^[+/0-9A-Za-z]{22}==$/;
/** Close code and reason reported when the socket ends without a close frame. */
const ABNORMAL = { code: 1006, reason: '' };

/**
 * API Gateway's front door: runs `$connect` before answering the upgrade (refusing it with the
 * handler's status, or echoing its `Sec-WebSocket-Protocol`), turns each frame into a `$default`
 * event and the close into one `$disconnect`. Events of one connection run one at a time, in
 * order (API Gateway does not promise that order; tests need it).
 */
export class WebSocketEndpoint {
  private readonly wss: WebSocketServer;
  private readonly protocols = new WeakMap<IncomingMessage, string | false>();
  private readonly work = new Set<Promise<unknown>>();
  private stopping = false;

  constructor(private readonly props: WebSocketEndpointProps) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      // Over 128 KB, ws closes with 1009 without emitting the message, as API Gateway does.
      maxPayload: MAX_MESSAGE_BYTES,
      perMessageDeflate: false,
      handleProtocols: (_offered, request) => this.protocols.get(request) ?? false,
    });
  }

  /** The HTTP server's `upgrade` listener. */
  readonly handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.track(this.upgrade(request, socket, head).catch((error: unknown) => {
      this.props.logger.error('local.upgrade_failed', { error });
      refuse(socket, 500);
    }));
  };

  /** Stops accepting, closes every socket with 1001 and waits for every `$disconnect`. */
  async stop(graceMs = 2_000): Promise<void> {
    this.stopping = true;
    const sockets = this.props.registry.sockets();
    const closed = sockets.map((socket) => new Promise((resolve) => socket.once('close', resolve)));
    for (const socket of sockets) socket.close(GOING_AWAY.code, GOING_AWAY.reason);
    // A client that never answers the close frame is cut off after the grace period.
    const cutOff = setTimeout(() => sockets.forEach((socket) => socket.terminate()), graceMs);
    await Promise.all(closed);
    clearTimeout(cutOff);
    while (this.work.size > 0) await Promise.all([...this.work]);
    this.wss.close();
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { path, domainName, registry, handlers, logger } = this.props;
    const { pathname } = new URL(request.url ?? '/', 'http://local');
    if (pathname !== path) return refuse(socket, 404, `no WebSocket endpoint at ${pathname}: connect to ${path}`);
    if (!isWebSocketHandshake(request)) return refuse(socket, 400, 'not a WebSocket version 13 handshake');
    if (this.stopping) return refuse(socket, 503);

    socket.on('error', () => undefined); // a client resetting mid-$connect must not crash the server
    const context: ConnectionContext = {
      connectionId: newConnectionId(),
      connectedAt: Date.now(),
      stage: path.slice(1),
      domainName,
      sourceIp: (request.socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
      userAgent: request.headers['user-agent'],
    };
    registry.reserve(context);
    // A failed integration is a 500 to the client, as in API Gateway (the handler has logged it).
    const result = await handlers.connect(connectEvent(context, request)).catch((error: unknown): WebSocketResult => {
      logger.warn('local.connect_error', { connectionId: context.connectionId, error });
      return { statusCode: 500, body: 'Internal server error' };
    });
    if (result.statusCode < 200 || result.statusCode > 299) {
      registry.remove(context.connectionId);
      return refuse(socket, result.statusCode, result.body);
    }

    this.protocols.set(request, subprotocolOf(result) ?? false);
    let opened = false;
    if (!this.stopping) {
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        opened = true;
        this.attach(ws, context);
      });
    } else {
      refuse(socket, 503);
    }
    if (!opened) {
      // `$connect` accepted a client that left (or a server that is stopping) before the
      // handshake completed: what it stored is removed as API Gateway's `$disconnect` would.
      registry.remove(context.connectionId);
      this.track(this.runDisconnect(context, ABNORMAL.code, ABNORMAL.reason));
    }
  }

  private attach(ws: WebSocket, context: ConnectionContext): void {
    const { registry, handlers, logger } = this.props;
    const { connectionId } = context;
    let tail: Promise<void> = Promise.resolve();
    const enqueue = (job: () => Promise<void>) => {
      tail = tail.then(job);
      this.track(tail);
    };

    registry.open(connectionId, ws);
    logger.info('local.open', { connectionId });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      registry.touch(connectionId);
      const event = messageEvent(context, toBuffer(data), isBinary);
      enqueue(() => handlers.message(event).then(() => undefined, (error: unknown) => {
        logger.warn('local.message_error', { connectionId, error });
        // What API Gateway sends the client when the integration fails.
        registry.post(connectionId, JSON.stringify({ message: 'Internal server error', connectionId, requestId: event.requestContext.requestId }));
      }));
    });
    ws.on('ping', () => registry.touch(connectionId));
    ws.on('pong', () => registry.touch(connectionId));
    ws.on('error', (error) => logger.warn('local.socket_error', { connectionId, error }));
    ws.once('close', (clientCode: number, clientReason: Buffer) => {
      const { code, reason } = registry.remove(connectionId) ?? { code: clientCode, reason: clientReason.toString() };
      logger.info('local.close', { connectionId, code, reason });
      enqueue(() => this.runDisconnect(context, code, reason));
    });
  }

  private async runDisconnect(context: ConnectionContext, code: number, reason: string): Promise<void> {
    await this.props.handlers.disconnect(disconnectEvent(context, code, reason)).catch((error: unknown) => {
      this.props.logger.warn('local.disconnect_error', { connectionId: context.connectionId, error });
    });
  }

  private track(promise: Promise<unknown>): void {
    const tracked = promise.finally(() => this.work.delete(tracked));
    this.work.add(tracked);
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

function isWebSocketHandshake(request: IncomingMessage): boolean {
  return request.method === 'GET'
    && request.headers.upgrade?.toLowerCase() === 'websocket'
    && KEY.test(request.headers['sec-websocket-key'] ?? '')
    && request.headers['sec-websocket-version'] === '13';
}

function subprotocolOf(result: WebSocketResult): string | undefined {
  const entry = Object.entries(result.headers ?? {}).find(([name]) => name.toLowerCase() === 'sec-websocket-protocol');
  return entry?.[1];
}

/** Answers the upgrade request with a plain HTTP error, which the client reports as a failed handshake. */
function refuse(socket: Duplex, status: number, body?: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const text = body ?? STATUS_CODES[status] ?? '';
  socket.once('finish', () => socket.destroy());
  socket.end([
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(text)}`,
    '',
    text,
  ].join('\r\n'));
}
