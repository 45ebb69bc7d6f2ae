import { deliverBroadcast, DeliverBroadcastDeps, DeliverBroadcastResult } from './broadcast';
import { parseBroadcastRequest, RemoteCommand } from './broadcast-request';
import { CableConfig } from './config';
import { jsonReply, refuseUnauthorized } from './http-reply';
import { Broadcast } from './ports';
import { handlePresenceHttp, isPresencePath } from './presence-http';
import { remoteDisconnect } from './remote-disconnect';

/** anycable-go's path, where anycable-rails' `http_broadcast_url` points by default. */
export const BROADCAST_PATH = '/_broadcast';

/** An HTTP request as any front end sees it (Lambda Function URL event, Node's IncomingMessage). */
export interface BroadcastHttpRequest {
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
  /** Names in any case; a repeated header joined with ", ". */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** Decoded text (a front end undoes base64 first). */
  readonly body: string;
}

export interface BroadcastHttpResponse {
  readonly status: number;
  /** JSON: `{"message"}` for a refusal, counts for an accepted broadcast. */
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface BroadcastHttpDeps extends DeliverBroadcastDeps {
  readonly config: Pick<CableConfig, 'delivery' | 'broadcastKey'> & Partial<Pick<CableConfig, 'rpc'>>;
  /**
   * anycable-go's public mode, which clears the broadcast key (`cli/options.go`, "Configure public
   * mode"): every request is authorized, with or without a key. The local server's `--public`.
   * @default false
   */
  readonly publicBroadcasts?: boolean;
}

/**
 * `POST /_broadcast`, AnyCable's HTTP broadcast API, so anycable-rails' HTTP broadcaster works
 * unchanged: 201 once every broadcast is delivered (streams within one shard) or its shards
 * dispatched (larger streams); 401 and nothing sent without the right `Bearer` key; 400 with a
 * message for a body that cannot be delivered (anycable-go answers 201 and only logs, see
 * broadcast-request.ts); 413 for a message no client could be sent; 201 with counts for the remote
 * `disconnect` command (remote-disconnect.ts; 0 connections when none matches); 500 when delivery
 * itself broke (a failed store read or shard dispatch), after the other broadcasts of a batch
 * were still delivered. A subscriber that could not be reached is counted in the body, not
 * turned into an error status: the broadcast happened, and a retry by the sender would send
 * duplicates to everyone else. `GET /api/presence/:stream/users` is answered by presence-http.ts.
 */
export async function handleBroadcastHttp(deps: BroadcastHttpDeps, request: BroadcastHttpRequest): Promise<BroadcastHttpResponse> {
  // anycable-go's presence API, on the same endpoint and key (presence-http.ts).
  if (isPresencePath(request.path)) return handlePresenceHttp(deps, request);
  if (request.path !== BROADCAST_PATH) return jsonReply(404, { message: `no route for ${request.method} ${request.path}` });
  if (request.method !== 'POST') {
    return jsonReply(405, { message: `${request.method} is not allowed: broadcast with POST ${BROADCAST_PATH}` }, { Allow: 'POST' });
  }
  const unauthorized = refuseUnauthorized(deps, request, 'broadcast.unauthorized');
  if (unauthorized) return unauthorized;
  const parsed = parseBroadcastRequest(request.body);
  switch (parsed.kind) {
    case 'invalid':
      deps.logger.warn('broadcast.invalid', { status: parsed.status, message: parsed.message, bytes: Buffer.byteLength(request.body) });
      return jsonReply(parsed.status, { message: parsed.message });
    case 'command':
      return runCommand(deps, parsed.command);
    case 'broadcasts':
      return deliverAll(deps, parsed.broadcasts);
  }
}

async function runCommand(deps: BroadcastHttpDeps, command: RemoteCommand): Promise<BroadcastHttpResponse> {
  try {
    return jsonReply(201, { command: command.command, ...await remoteDisconnect(deps, command) });
  } catch (error) {
    deps.logger.error('remote_disconnect.failed_lookup', { error });
    return jsonReply(500, { message: 'the connections to disconnect could not be looked up; see the logs' });
  }
}

/** In order, one after another: a batch keeps its order for every stream delivered inline. */
async function deliverAll(deps: BroadcastHttpDeps, broadcasts: readonly Broadcast[]): Promise<BroadcastHttpResponse> {
  const totals = {
    broadcasts: broadcasts.length, subscribers: 0, delivered: 0, gone: 0, failed: 0, excluded: 0, shards: 0, failedShards: 0, errors: 0,
  };
  for (const broadcast of broadcasts) {
    let result: DeliverBroadcastResult;
    try {
      result = await deliverBroadcast(deps, broadcast);
    } catch (error) {
      // One stream's store failure must not cost the other streams of the batch their delivery.
      totals.errors++;
      deps.logger.error('broadcast.failed', { stream: broadcast.stream, error });
      continue;
    }
    totals.subscribers += result.subscribers;
    totals.shards += result.shards;
    if (result.mode === 'inline') {
      totals.delivered += result.delivered;
      totals.gone += result.gone;
      totals.failed += result.failed;
      totals.excluded += result.excluded;
    } else {
      totals.failedShards += result.failedShards;
    }
  }
  if (totals.errors > 0 || totals.failedShards > 0) {
    const message = `${totals.errors} of ${totals.broadcasts} broadcasts failed and ${totals.failedShards} shards could not be dispatched; see the logs`;
    return jsonReply(500, { message, ...totals });
  }
  return jsonReply(201, totals);
}
