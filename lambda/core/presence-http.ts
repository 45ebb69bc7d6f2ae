import type { BroadcastHttpDeps, BroadcastHttpRequest, BroadcastHttpResponse } from './broadcast-http';
import { jsonReply, refuseUnauthorized } from './http-reply';
import { PresenceRecord } from './presence';

/**
 * anycable-go's presence API (anycable/anycable api/server.go `PresenceHandler`, docs/api.md
 * "GET /presence/:stream/users"), served beside `POST /_broadcast` with the broadcast key.
 * anycable-go has no other presence route (api/server.go registers `/publish` and `/presence/*`).
 */
export const PRESENCE_API_PREFIX = '/api/presence/';

/** `{"type":"info","total","records"}` must fit a Lambda Function URL response (6 MB); `total` still counts all. */
export const MAX_PRESENCE_BODY_BYTES = 6 * 1024 * 1024 - 1024;

export type PresenceHttpDeps = Pick<BroadcastHttpDeps, 'config' | 'publicBroadcasts' | 'presence' | 'clock' | 'logger'>;

/** Whether the request is for the presence API (anycable-go routes `<api_path>/presence/*` to it). */
export function isPresencePath(path: string): boolean {
  return path.startsWith(PRESENCE_API_PREFIX);
}

/**
 * `GET /api/presence/:stream/users`: the stream's presence set, one Query of its partition.
 * Checked in anycable-go's order: a method other than GET is 422, a missing or wrong
 * `Authorization: Bearer <broadcast key>` 401, a path not `/api/presence/<stream>/users` 404, no
 * presence store 501; then 200 with `{"type":"info","total":N,"records":[{"info","id"}]}`,
 * `records` left out when empty (common.go `PresenceInfo`, `omitempty`), ordered by id here
 * (anycable-go's memory broker walks a map). `:stream` is one percent-encoded path segment
 * (`chat%2F1` is `chat/1`, as docs/api.md's example has it).
 *
 * Departures: refusals carry a JSON `{"message"}` (anycable-go's are empty); a store failure is
 * 500 (anycable-go answers 400 when its broker fails: that status would tell the caller its
 * request was wrong); the key is the broadcast key (anycable-go's API has its own, `--api_secret`,
 * derived from the secret with "api-cable").
 */
export async function handlePresenceHttp(deps: PresenceHttpDeps, request: BroadcastHttpRequest): Promise<BroadcastHttpResponse> {
  if (request.method !== 'GET') return jsonReply(422, { message: `${request.method} is not allowed: read presence with GET ${PRESENCE_API_PREFIX}<stream>/users` });
  const unauthorized = refuseUnauthorized(deps, request, 'presence_api.unauthorized');
  if (unauthorized) return unauthorized;
  const stream = streamOf(request.path);
  if (stream === undefined) return jsonReply(404, { message: `no route for GET ${request.path}: read presence with GET ${PRESENCE_API_PREFIX}<stream>/users` });
  if (!deps.presence) return jsonReply(501, { message: 'presence is not available here' });
  let records: PresenceRecord[];
  try {
    records = await deps.presence.info(stream, deps.clock.now());
  } catch (error) {
    deps.logger.error('presence_api.failed', { stream: stream.slice(0, 100), error });
    return jsonReply(500, { message: 'the presence set could not be read; see the logs' });
  }
  return { status: 200, body: presenceInfoBody(records), headers: { 'Content-Type': 'application/json' } };
}

/** The stream of `/api/presence/<one encoded segment>/users`, decoded; undefined for any other path. */
function streamOf(path: string): string | undefined {
  const segments = path.slice(PRESENCE_API_PREFIX.length).split('/');
  if (segments.length !== 2 || segments[1] !== 'users' || segments[0] === '') return undefined;
  try {
    return decodeURIComponent(segments[0]);
  } catch {
    return undefined;
  }
}

/**
 * The 200's body, in Go's field order (`type`, `total`, `records`; each record `info` then `id`,
 * `info` left out when the join carried none). Records are ordered by id and stop before the body
 * would pass `maxBytes`; `total` counts every id.
 */
export function presenceInfoBody(records: readonly PresenceRecord[], maxBytes = MAX_PRESENCE_BODY_BYTES): string {
  const sorted = [...records].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const head = `{"type":"info","total":${sorted.length}`;
  const parts: string[] = [];
  // The head, `,"records":[` and `]}` less one comma (14 - 1), then each record and its comma: the exact length.
  let size = Buffer.byteLength(head) + 13;
  for (const record of sorted) {
    const part = record.info !== undefined ? `{"info":${record.info},"id":${JSON.stringify(record.id)}}` : `{"id":${JSON.stringify(record.id)}}`;
    size += Buffer.byteLength(part) + 1;
    if (size > maxBytes) break;
    parts.push(part);
  }
  return parts.length === 0 ? `${head}}` : `${head},"records":[${parts.join(',')}]}`;
}
