import { createHash, timingSafeEqual } from 'node:crypto';
import { broadcastFrame, fitsMessageQuota } from './broadcast-frame';
import { Broadcast } from './ports';
import { MAX_MESSAGE_BYTES } from './protocol';

/**
 * The body of AnyCable's HTTP broadcast API (`POST /_broadcast`), read as anycable-go reads it
 * (anycable/anycable v1.6.x; docs/anycable-compatibility.md section 2 has the details):
 * - `common/common.go` `PubSubMessageFromJSON` tries, in order, one publication
 *   `{"stream","data","meta"?}` (`StreamMessage`), an array of them, then a remote command
 *   `{"command","payload"}` (`RemoteCommandMessage`);
 * - `data` is a Go `string`, so an object or number there fails the parse;
 * - `StreamMessageMetadata`: `exclude_socket` (string), `transient` (bool), `broadcast_type`
 *   (string); a wrong type for one of them fails the whole message, unknown keys are ignored.
 *
 * Deliberately stricter, because anycable-go answers 201 to a body it cannot use and only logs
 * it (`broadcast/http.go` `HTTPBroadcaster.Handler`), which leaves the Rails side thinking it
 * broadcast: every element of a batch must be valid (not just the first), `data` must hold valid
 * JSON (anycable-go then sends the raw string as the message instead), a batch must not be
 * empty, and an unknown command is refused rather than ignored.
 */
export type BroadcastRequest =
  | { readonly kind: 'broadcasts'; readonly broadcasts: readonly Broadcast[] }
  | { readonly kind: 'command'; readonly command: RemoteCommand }
  | { readonly kind: 'invalid'; readonly status: 400 | 413; readonly message: string };

/**
 * `{"command":"disconnect","payload":{"identifier","reconnect"}}` (`RemoteDisconnectMessage`),
 * which `ActionCable.server.remote_connections.where(...).disconnect` sends through anycable-rails.
 * `identifier` is the connection's identifiers JSON, matched exactly.
 */
export interface RemoteCommand {
  readonly command: 'disconnect';
  readonly identifier: string;
  readonly reconnect: boolean;
}

export function parseBroadcastRequest(body: string): BroadcastRequest {
  if (body.trim() === '') return invalid('the body is empty: send {"stream":"...","data":"<JSON>"} or an array of them');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return invalid(`the body is not JSON (${(error as Error).message})`);
  }
  if (Array.isArray(value)) return parseBatch(value);
  if (!isObject(value)) return invalid(`the body must be a JSON object {"stream","data","meta"} or an array of them, got ${typeName(value)}`);
  // As anycable-go: a publication if it has a stream, else a command.
  if (!('stream' in value) && 'command' in value) return parseCommand(value);
  const parsed = parsePublication(value);
  return 'problem' in parsed ? invalid(parsed.problem, parsed.status) : { kind: 'broadcasts', broadcasts: [parsed] };
}

function parseBatch(values: unknown[]): BroadcastRequest {
  if (values.length === 0) return invalid('the body is an empty array: send at least one {"stream":"...","data":"<JSON>"}');
  const broadcasts: Broadcast[] = [];
  for (const [index, value] of values.entries()) {
    const parsed = isObject(value) ? parsePublication(value) : problem(`must be an object {"stream","data","meta"}, got ${typeName(value)}`);
    // All or nothing: a batch is one Rails executor run's broadcasts, and half of them is worse than none.
    if ('problem' in parsed) return invalid(`[${index}]: ${parsed.problem}`, parsed.status);
    broadcasts.push(parsed);
  }
  return { kind: 'broadcasts', broadcasts };
}

interface Problem {
  readonly problem: string;
  readonly status: 400 | 413;
}

/** A Broadcast, or what is wrong with it. */
function parsePublication(value: Record<string, unknown>): Broadcast | Problem {
  const { stream, data, meta } = value;
  if (typeof stream !== 'string' || stream === '') return problem(`"stream" must be a non-empty string, got ${typeName(stream)}`);
  if (typeof data !== 'string') {
    return problem(`"data" must be a string holding the message JSON-encoded (as ActionCable.server.broadcast sends it), got ${typeName(data)}`);
  }
  try {
    JSON.parse(data);
  } catch (error) {
    return problem(`"data" must hold valid JSON, the message JSON-encoded (${(error as Error).message})`);
  }
  // The smallest frame it can become; a subscriber's identifier only adds to it.
  if (!fitsMessageQuota(broadcastFrame('', data))) {
    return problem(`the message is too large: its frame would be over the ${MAX_MESSAGE_BYTES}-byte message quota of API Gateway WebSockets`, 413);
  }
  const metaProblem = checkMeta(meta);
  if (metaProblem) return problem(metaProblem);
  const exclude = isObject(meta) ? meta.exclude_socket : undefined;
  const transient = isObject(meta) && meta.transient === true;
  return { stream, data, ...(typeof exclude === 'string' && exclude !== '' ? { excludeConnectionId: exclude } : {}), ...(transient ? { transient } : {}) };
}

/**
 * Types of the keys anycable-go knows. `exclude_socket` is honored (a `sid`: a plain client's
 * connection id, an ext client's session id); `transient` keeps the message out of the stream's history;
 * `broadcast_type` (anycable-go's presence internals) and unknown keys are ignored.
 */
function checkMeta(meta: unknown): string | undefined {
  if (meta === undefined || meta === null) return undefined;
  if (!isObject(meta)) return `"meta" must be an object, got ${typeName(meta)}`;
  for (const [key, type] of [['exclude_socket', 'string'], ['transient', 'boolean'], ['broadcast_type', 'string']] as const) {
    const value = meta[key];
    if (value !== undefined && value !== null && typeof value !== type) return `"meta.${key}" must be a ${type}, got ${typeName(value)}`;
  }
  return undefined;
}

function parseCommand(value: Record<string, unknown>): BroadcastRequest {
  const { command, payload } = value;
  if (command !== 'disconnect') {
    return invalid(`unknown command ${JSON.stringify(command)}: the only remote command is "disconnect"`);
  }
  if (!isObject(payload) || typeof payload.identifier !== 'string') {
    return invalid('"payload" of "disconnect" must be an object with a string "identifier" and an optional boolean "reconnect"');
  }
  if (payload.reconnect !== undefined && payload.reconnect !== null && typeof payload.reconnect !== 'boolean') {
    return invalid(`"payload.reconnect" must be a boolean, got ${typeName(payload.reconnect)}`);
  }
  return { kind: 'command', command: { command: 'disconnect', identifier: payload.identifier, reconnect: payload.reconnect === true } };
}

export type BroadcastAuthorization = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * anycable-go's check (`broadcast/http.go` `HTTPBroadcaster.Handler`): the header must be exactly
 * `Bearer <key>`, case-sensitive, one space. Unlike anycable-go, which lets every broadcast
 * through when no key is set, no key means nothing is authorized: an open endpoint on the
 * internet would let anyone push HTML into every page. The comparison takes the same time
 * wherever the strings differ (digests of equal length, then `timingSafeEqual`).
 */
export function authorizeBroadcast(authorization: string | undefined, key: string | undefined): BroadcastAuthorization {
  if (key === undefined || key === '') {
    return { ok: false, reason: 'no broadcast key is configured, so every broadcast is refused: set the broadcast key or the secret it derives from' };
  }
  if (authorization === undefined || authorization === '') {
    return { ok: false, reason: 'missing "Authorization: Bearer <broadcast key>" header' };
  }
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(authorization), digest(`Bearer ${key}`))
    ? { ok: true }
    : { ok: false, reason: 'wrong broadcast key (expected "Authorization: Bearer <broadcast key>")' };
}

function invalid(message: string, status: 400 | 413 = 400): BroadcastRequest {
  return { kind: 'invalid', status, message };
}

function problem(text: string, status: 400 | 413 = 400): Problem {
  return { problem: text, status };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return value === undefined ? 'nothing' : typeof value;
}
