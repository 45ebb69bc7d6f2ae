import { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from './management-api';
import { BroadcastHttpDeps, BroadcastHttpRequest, BroadcastHttpResponse, handleBroadcastHttp } from '../core/broadcast-http';
import { Logger } from '../core/ports';

export type BroadcastService = (request: BroadcastHttpRequest) => Promise<BroadcastHttpResponse>;

export function inProcessBroadcasts(deps: BroadcastHttpDeps): BroadcastService {
  return (request) => handleBroadcastHttp(deps, request);
}

/** A Lambda Function URL takes request bodies up to 6 MB; the local server refuses what AWS would. */
export const MAX_BROADCAST_BODY_BYTES = 6 * 1024 * 1024;

/**
 * `POST /_broadcast` on the local server's port: Node's request in, the same core as the AWS
 * handler (`handleBroadcastHttp`), Node's response out. Requests in flight are tracked so that
 * the server's `close()` lets them finish before it releases the stores.
 */
export class BroadcastEndpoint {
  private readonly pending = new Set<Promise<void>>();
  private stopping = false;

  /** `serve`: the core in-process (`inProcessBroadcasts`), or the bundled broadcast function. */
  constructor(private readonly serveRequest: BroadcastService, private readonly logger: Logger) {}

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

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request, MAX_BROADCAST_BODY_BYTES);
    if (this.stopping) return send(response, 503, JSON.stringify({ message: 'the server is stopping' }));
    if (body === undefined) {
      return send(response, 413, JSON.stringify({ message: `the body is over ${MAX_BROADCAST_BODY_BYTES} bytes, the request limit of a Lambda Function URL` }));
    }
    const result = await this.serveRequest(toRequest(request, body.toString('utf8')));
    send(response, result.status, result.body, result.headers);
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
