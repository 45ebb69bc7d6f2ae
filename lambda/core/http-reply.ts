import type { BroadcastHttpRequest, BroadcastHttpResponse } from './broadcast-http';
import { authorizeBroadcast } from './broadcast-request';
import { CableConfig } from './config';
import { Logger } from './ports';

/** A JSON answer of the broadcast endpoint (`POST /_broadcast`, the presence API). */
export function jsonReply(status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): BroadcastHttpResponse {
  return { status, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } };
}

/** A request header by name in any case. */
export function headerValue(headers: BroadcastHttpRequest['headers'], name: string): string | undefined {
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

/**
 * The 401 for a request without `Authorization: Bearer <broadcast key>`, logged as `event`; undefined
 * when the key is right or the endpoint is public (anycable-go's public mode).
 */
export function refuseUnauthorized(
  deps: { readonly config: Pick<CableConfig, 'broadcastKey'>; readonly publicBroadcasts?: boolean; readonly logger: Logger },
  request: BroadcastHttpRequest,
  event: string,
): BroadcastHttpResponse | undefined {
  if (deps.publicBroadcasts) return undefined;
  const auth = authorizeBroadcast(headerValue(request.headers, 'authorization'), deps.config.broadcastKey);
  if (auth.ok) return undefined;
  deps.logger.warn(event, { reason: auth.reason });
  return jsonReply(401, { message: auth.reason }, { 'WWW-Authenticate': 'Bearer realm="cdk-cable broadcast"' });
}
