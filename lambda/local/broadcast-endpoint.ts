import { IncomingMessage, ServerResponse } from 'node:http';
import { answerWithoutBody, BodyLimits, readBody } from './request-body';
import { YieldingSubscriptionStore } from './yielding-subscription-store';
import { BroadcastHttpDeps, BroadcastHttpRequest, BroadcastHttpResponse, handleBroadcastHttp } from '../core/broadcast-http';
import { authorizeBroadcast } from '../core/broadcast-request';
import { Logger } from '../core/ports';

export type BroadcastService = (request: BroadcastHttpRequest) => Promise<BroadcastHttpResponse>;

/** The core in-process, its subscription reads pausing now and then so a batch lets other requests in. */
export function inProcessBroadcasts(deps: BroadcastHttpDeps): BroadcastService {
  const paced = { ...deps, subscriptions: new YieldingSubscriptionStore(deps.subscriptions) };
  return (request) => handleBroadcastHttp(paced, request);
}

/** A Lambda Function URL takes request bodies up to 6 MB; the local server refuses what AWS would. */
export const MAX_BROADCAST_BODY_BYTES = 6 * 1024 * 1024;

/** Who may broadcast: what the core checks, checked here too before the body is read. */
export interface BroadcastAccess {
  readonly broadcastKey?: string;
  readonly publicBroadcasts: boolean;
}

/**
 * `POST /_broadcast` and `GET /api/presence/:stream/users` (presence-http.ts) on the local server's port: Node's request in, the same core as the AWS
 * handler (`handleBroadcastHttp`), Node's response out. Requests in flight are tracked so that
 * the server's `close()` lets them finish before it releases the stores.
 */
export class BroadcastEndpoint {
  private readonly pending = new Set<Promise<void>>();
  private stopping = false;

  /**
   * `serveRequest`: the core in-process (`inProcessBroadcasts`), or the bundled broadcast function.
   * `access`: the key both of them check (the bundle's environment carries the same settings).
   */
  constructor(
    private readonly serveRequest: BroadcastService,
    private readonly logger: Logger,
    private readonly access: BroadcastAccess,
    private readonly limits: BodyLimits = { maxBytes: MAX_BROADCAST_BODY_BYTES },
  ) {}

  readonly handle = (request: IncomingMessage, response: ServerResponse): void => {
    const task = this.serve(request, response)
      .catch((error: unknown) => {
        this.logger.error('local.broadcast_failed', { error });
        if (!response.headersSent) send(response, 500, JSON.stringify({ message: 'Internal server error' }));
        else response.destroy();
      })
      .finally(() => this.pending.delete(task));
    this.pending.add(task);
  };

  /** Refuses new broadcasts (503), then resolves once those in flight have been answered. */
  async stop(): Promise<void> {
    this.stopping = true;
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /**
   * What needs only the headers is decided before a byte of the body is read, as anycable-go's
   * broadcast handler does (method, then key, then `io.ReadAll`): without the key, 401 (and no
   * `100 Continue`); a declared size over 6 MB, 413. The body is then read within the limits of
   * request-body.ts (413 once a chunked body passes 6 MB, 408 after 10 s).
   */
  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (this.stopping) return this.refuse(request, response, 503, 'the server is stopping');
    if (request.method !== 'POST' || !this.authorized(request)) {
      // The service answers 405 or 401 (and a presence read, GET /api/presence/:stream/users) from the headers alone: it never reads the empty body.
      answerWithoutBody(request, response);
      const result = await this.serveRequest(toRequest(request, ''));
      return send(response, result.status, result.body, result.headers);
    }
    const read = await readBody(request, response, {
      tooLarge: `the body is over ${this.limits.maxBytes} bytes, the request limit of a Lambda Function URL`, ...this.limits,
    });
    if (!read.ok) return send(response, read.status, JSON.stringify({ message: read.message }));
    if (this.stopping) return send(response, 503, JSON.stringify({ message: 'the server is stopping' }));
    const result = await this.serveRequest(toRequest(request, read.body.toString('utf8')));
    send(response, result.status, result.body, result.headers);
  }

  private authorized(request: IncomingMessage): boolean {
    return this.access.publicBroadcasts || authorizeBroadcast(request.headers.authorization, this.access.broadcastKey).ok;
  }

  private refuse(request: IncomingMessage, response: ServerResponse, status: number, message: string): void {
    answerWithoutBody(request, response);
    send(response, status, JSON.stringify({ message }));
  }
}

function toRequest(request: IncomingMessage, body: string): BroadcastHttpRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { method: request.method ?? 'GET', path: (request.url ?? '/').split('?')[0], headers, body };
}

function send(response: ServerResponse, status: number, body: string, headers: Readonly<Record<string, string>> = { 'Content-Type': 'application/json' }): void {
  response.writeHead(status, { ...headers, 'Content-Length': Buffer.byteLength(body) }).end(body);
}
