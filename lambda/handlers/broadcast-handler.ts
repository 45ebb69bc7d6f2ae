import { guarded, HandlerOptions } from './guard';
import { LambdaContext, withLogContext } from './log-context';
import { CABLE_METRIC_NAMES as M } from '../../src/contract/metric-names';
import { emitMetrics } from '../adapters/emf-metrics';
import { DirectBroadcastEvent, DirectDisconnectEvent } from '../client/broadcast';
import { deliverBroadcast } from '../core/broadcast';
import { BroadcastHttpDeps, BroadcastHttpResponse, handleBroadcastHttp } from '../core/broadcast-http';
import { parseBroadcastRequest } from '../core/broadcast-request';
import { remoteDisconnect, RemoteDisconnectResult } from '../core/remote-disconnect';

/** A Lambda Function URL request (payload format 2.0), the fields read here. */
export interface FunctionUrlEvent {
  readonly version: '2.0';
  readonly rawPath: string;
  readonly headers?: Record<string, string | undefined>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly requestContext: { readonly http: { readonly method: string }; readonly requestId?: string };
}

export interface FunctionUrlResult {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * The broadcast function: `POST /_broadcast` and `GET /api/presence/:stream/users` through its
 * Function URL (AnyCable's HTTP API, authorized by the bearer key), or a direct invocation from code the stack granted
 * `grantBroadcast` (authorized by IAM; `cdk-cable/runtime/broadcast` sends it).
 */
export function makeBroadcastHandler(deps: () => Promise<BroadcastHttpDeps>, options: HandlerOptions = {}) {
  return async (
    event: FunctionUrlEvent | DirectBroadcastEvent | DirectDisconnectEvent,
    context?: LambdaContext,
  ): Promise<FunctionUrlResult | DirectBroadcastTotals | RemoteDisconnectResult> => {
    let resolved: BroadcastHttpDeps | undefined;
    return guarded('broadcast', undefined, () => resolved?.logger, options, async () => {
      resolved = withLogContext(await deps(), { requestId: context?.awsRequestId });
      if ('kind' in event && event.kind === 'cable.broadcast') return deliverDirect(resolved, event, options.apiId);
      if ('kind' in event && event.kind === 'cable.disconnect') {
        if (typeof event.identifier !== 'string' || event.identifier === '') throw new Error('broadcast: cable.disconnect needs an identifier (identifiers JSON)');
        return remoteDisconnect(resolved, { command: 'disconnect', identifier: event.identifier, reconnect: event.reconnect === true });
      }
      if (!('rawPath' in event)) throw new Error('broadcast: unknown event (expected a Function URL request or a cable.broadcast invocation)');
      const response: BroadcastHttpResponse = await handleBroadcastHttp(resolved, {
        method: event.requestContext.http.method,
        path: event.rawPath,
        headers: event.headers ?? {},
        body: event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : event.body ?? '',
      });
      // A presence read (presence-http.ts) has no counts in its body: nothing is emitted for it.
      if (response.status === 201 || response.status === 500) countBroadcasts(resolved, response.body, options.apiId);
      return { statusCode: response.status, headers: { ...response.headers }, body: response.body };
    });
  };
}

export interface DirectBroadcastTotals {
  delivered: number;
  gone: number;
  failed: number;
  shards: number;
}

/**
 * In order; validated as the HTTP API validates bodies (data must be JSON, frames within
 * 128 KB); a failure to deliver one stream fails the invocation, so the caller sees it.
 */
async function deliverDirect(deps: BroadcastHttpDeps, event: DirectBroadcastEvent, apiId: string | undefined): Promise<DirectBroadcastTotals> {
  const parsed = parseBroadcastRequest(JSON.stringify(event.broadcasts ?? null));
  if (parsed.kind !== 'broadcasts') throw new Error(`broadcast: invalid cable.broadcast event: ${parsed.kind === 'invalid' ? parsed.message : 'commands are not accepted here'}`);
  const totals: DirectBroadcastTotals = { delivered: 0, gone: 0, failed: 0, shards: 0 };
  for (const { stream, data, transient } of parsed.broadcasts) {
    const result = await deliverBroadcast(deps, { stream, data, ...(transient ? { transient } : {}) });
    if (result.mode === 'inline') {
      totals.delivered += result.delivered;
      totals.gone += result.gone;
      totals.failed += result.failed;
    } else {
      totals.shards += result.shards;
      if (result.failedShards > 0) throw new Error(`broadcast to ${stream}: ${result.failedShards} of ${result.shards} shards could not be dispatched`);
    }
  }
  emitMetrics(deps.logger, apiId, {
    [M.broadcasts]: parsed.broadcasts.length,
    [M.delivered]: totals.delivered,
    [M.goneConnections]: totals.gone,
    [M.fanOutFailures]: totals.failed,
    [M.shards]: totals.shards,
  });
  return totals;
}

/** The counts `handleBroadcastHttp` reports in its JSON body, as metrics. */
function countBroadcasts(deps: BroadcastHttpDeps, body: string, apiId: string | undefined): void {
  const totals = JSON.parse(body) as Partial<Record<'broadcasts' | 'delivered' | 'gone' | 'failed' | 'shards', number>>;
  emitMetrics(deps.logger, apiId, {
    [M.broadcasts]: totals.broadcasts ?? 0,
    [M.delivered]: totals.delivered ?? 0,
    [M.goneConnections]: totals.gone ?? 0,
    [M.fanOutFailures]: totals.failed ?? 0,
    [M.shards]: totals.shards ?? 0,
  });
}
