/**
 * AnyCable RPC over HTTP: the messages cdk-cable exchanges with the app (`anycable-rails`'
 * `/_anycable`, `@anycable/serverless-js` handlers) when a channel is the app's own.
 *
 * Wire format, as anycable-go speaks it (rpc/http.go, protocol/protocol.go, protos/rpc.pb.go at
 * anycable v1.6.16) and anycable-rb answers it (lib/anycable/httrpc/server.rb):
 * - `POST <rpc url>/connect`, `/command`, `/disconnect`, `Content-Type: application/json`,
 *   `Authorization: Bearer <http rpc secret>`, and the metadata headers `x-anycable-meta-sid`
 *   (the session id, which `anycable-rails` puts in the welcome's `sid`) and `x-anycable-meta-protov`.
 * - Bodies are the protobuf messages of rpc.proto as JSON with the proto field names
 *   (`error_msg`, `connection_identifiers`, `stop_streams`), Go's `omitempty`: absent means empty.
 * - `status` is an integer: 0 ERROR, 1 SUCCESS, 2 FAILURE.
 * - A 200 carries the response; 401 means a wrong secret; 400 and 422 a request the app could not
 *   read; anything else is an error.
 * @see https://docs.anycable.io/anycable-go/rpc
 * @see https://github.com/anycable/anycable/blob/master/protos/rpc.proto
 */

export const RpcStatus = { ERROR: 0, SUCCESS: 1, FAILURE: 2 } as const;
export type RpcStatusCode = typeof RpcStatus[keyof typeof RpcStatus];

export type RpcMethod = 'connect' | 'command' | 'disconnect';

/** `protov` metadata anycable-go sends (rpc/rpc.go `ProtoVersions`). */
export const RPC_PROTO_VERSION = 'v1';

/** rpc.proto `Env`: what the app sees of the WebSocket request and the state it asked to keep. */
export interface RpcEnv {
  readonly url: string;
  /** Only the proxied headers (default `cookie`), lower-cased, plus `REMOTE_ADDR`. */
  readonly headers: Readonly<Record<string, string>>;
  /** Connection state (`cstate`): what the app stored with `state_attr_accessor` and the like. */
  readonly cstate?: Readonly<Record<string, string>>;
  /**
   * Channel state (`istate`): in a command, the channel's own map; in a disconnect, each
   * channel's map JSON-encoded under its identifier (protocol.go `buildDisconnectEnv`).
   */
  readonly istate?: Readonly<Record<string, string>>;
}

export interface RpcConnectRequest {
  readonly env: RpcEnv;
}

export interface RpcCommandRequest {
  readonly command: 'subscribe' | 'unsubscribe' | 'message';
  /** The channel identifier JSON, as the client sent it. */
  readonly identifier: string;
  /** What the connect call (or the JWT's `ext`) returned as identifiers. */
  readonly connectionIdentifiers: string;
  /** For `message`: the data JSON the client sent. */
  readonly data?: string;
  readonly env: RpcEnv;
}

export interface RpcDisconnectRequest {
  readonly identifiers: string;
  /** The identifiers of the channels the connection was subscribed to. */
  readonly subscriptions: readonly string[];
  readonly env: RpcEnv;
}

/** State changes in a response: a key with an empty value is deleted (common.go `MergeConnectionState`). */
export interface RpcStateChanges {
  readonly cstate?: Readonly<Record<string, string>>;
  readonly istate?: Readonly<Record<string, string>>;
}

export interface RpcConnectResponse {
  readonly status: RpcStatusCode;
  readonly identifiers: string;
  /** Frames for the client, each already JSON (usually the welcome, or a `disconnect`). */
  readonly transmissions: string[];
  readonly errorMsg: string;
  readonly env: RpcStateChanges;
}

export interface RpcCommandResponse {
  readonly status: RpcStatusCode;
  /** Close the connection after the transmissions. */
  readonly disconnect: boolean;
  /** Stop every stream of this channel (applied before `streams`). */
  readonly stopStreams: boolean;
  readonly streams: string[];
  readonly stoppedStreams: string[];
  readonly transmissions: string[];
  readonly errorMsg: string;
  readonly env: RpcStateChanges;
  /** A presence join or leave the app asks for (anycable-rb `presence_join`/`presence_leave`); absent: none. */
  readonly presence?: RpcPresence;
}

/**
 * rpc.proto `PresenceResponse` (`type` 1, `id` 2, `info` 3, `ttl` 4). `info` is JSON text, or
 * plain text anycable-go then passes on as a string (protocol.go `ParseCommandResponse`); `ttl`
 * is not read, as anycable-go does not read it.
 */
export interface RpcPresence {
  /** `join` or `leave`; anything else is logged and ignored (node.go `handlePresenceReply`). */
  readonly type: string;
  readonly id: string;
  /** Empty: none. */
  readonly info: string;
}

export interface RpcDisconnectResponse {
  readonly status: RpcStatusCode;
  readonly errorMsg: string;
}

/**
 * Why a call gave no usable answer. `unavailable` (nothing reached the app: refused, reset,
 * throttled) is the only reason a call is retried, as anycable-go retries only `Unavailable`
 * (rpc/rpc.go `retry`): after a timeout or an answer the app may have acted already.
 */
export type RpcFailureReason = 'timeout' | 'unavailable' | 'unauthorized' | 'bad_request' | 'http_error' | 'function_error' | 'malformed_response';

/** A call that gave no usable answer; core flows turn it into a defined outcome. */
export class RpcCallError extends Error {
  constructor(readonly reason: RpcFailureReason, message: string, readonly status?: number) {
    super(message);
    this.name = 'RpcCallError';
  }
}

/** Moves a request body to the app and its answer back; adapters: HTTP, Lambda invoke. */
export interface RpcTransport {
  /**
   * POSTs `body` to the app's `<method>` endpoint with the session id as `x-anycable-meta-sid`
   * and returns the body of a 200. Throws `RpcCallError` for anything else.
   */
  call(method: RpcMethod, body: string, sid: string): Promise<string>;
}

export function encodeConnectRequest(request: RpcConnectRequest): string {
  return JSON.stringify({ env: encodeEnv(request.env) });
}

export function encodeCommandRequest(request: RpcCommandRequest): string {
  return JSON.stringify({
    command: request.command,
    identifier: request.identifier,
    connection_identifiers: request.connectionIdentifiers,
    ...(request.data !== undefined && request.data !== '' ? { data: request.data } : {}),
    env: encodeEnv(request.env),
  });
}

export function encodeDisconnectRequest(request: RpcDisconnectRequest): string {
  return JSON.stringify({
    identifiers: request.identifiers,
    subscriptions: [...request.subscriptions],
    env: encodeEnv(request.env),
  });
}

function encodeEnv(env: RpcEnv): Record<string, unknown> {
  return {
    url: env.url,
    headers: { ...env.headers },
    ...(env.cstate && Object.keys(env.cstate).length > 0 ? { cstate: { ...env.cstate } } : {}),
    ...(env.istate && Object.keys(env.istate).length > 0 ? { istate: { ...env.istate } } : {}),
  };
}

export function decodeConnectResponse(body: string): RpcConnectResponse {
  const value = parseObject(body, 'connect');
  return {
    status: statusOf(value, 'connect'),
    identifiers: optionalString(value, 'identifiers', 'connect'),
    transmissions: stringList(value, 'transmissions', 'connect'),
    errorMsg: optionalString(value, 'error_msg', 'connect'),
    env: stateChanges(value, 'connect'),
  };
}

export function decodeCommandResponse(body: string): RpcCommandResponse {
  const value = parseObject(body, 'command');
  return {
    status: statusOf(value, 'command'),
    disconnect: optionalBoolean(value, 'disconnect', 'command'),
    stopStreams: optionalBoolean(value, 'stop_streams', 'command'),
    streams: stringList(value, 'streams', 'command'),
    stoppedStreams: stringList(value, 'stopped_streams', 'command'),
    transmissions: stringList(value, 'transmissions', 'command'),
    errorMsg: optionalString(value, 'error_msg', 'command'),
    env: stateChanges(value, 'command'),
    ...presenceOf(value),
  };
}

export function decodeDisconnectResponse(body: string): RpcDisconnectResponse {
  const value = parseObject(body, 'disconnect');
  return { status: statusOf(value, 'disconnect'), errorMsg: optionalString(value, 'error_msg', 'disconnect') };
}

function malformed(method: RpcMethod, detail: string): RpcCallError {
  return new RpcCallError('malformed_response', `${method} response ${detail}`);
}

function parseObject(body: string, method: RpcMethod): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw malformed(method, `is not JSON: ${JSON.stringify(body.slice(0, 80))}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed(method, 'is not a JSON object');
  return value as Record<string, unknown>;
}

/** An absent status is 0 (ERROR), as Go's zero value is: a response must say it succeeded. */
function statusOf(value: Record<string, unknown>, method: RpcMethod): RpcStatusCode {
  const raw = value.status ?? RpcStatus.ERROR;
  if (raw !== RpcStatus.ERROR && raw !== RpcStatus.SUCCESS && raw !== RpcStatus.FAILURE) {
    throw malformed(method, `has status ${JSON.stringify(raw)}, expected 0, 1 or 2`);
  }
  return raw;
}

function optionalString(value: Record<string, unknown>, key: string, method: RpcMethod): string {
  const raw = value[key];
  if (raw === undefined || raw === null) return '';
  if (typeof raw !== 'string') throw malformed(method, `has a non-string ${key}`);
  return raw;
}

function optionalBoolean(value: Record<string, unknown>, key: string, method: RpcMethod): boolean {
  const raw = value[key];
  if (raw === undefined || raw === null) return false;
  if (typeof raw !== 'boolean') throw malformed(method, `has a non-boolean ${key}`);
  return raw;
}

function stringList(value: Record<string, unknown>, key: string, method: RpcMethod): string[] {
  const raw = value[key];
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw) || raw.some((item) => typeof item !== 'string')) throw malformed(method, `has a ${key} that is not a list of strings`);
  return raw as string[];
}

function stringMap(raw: unknown, key: string, method: RpcMethod): Record<string, string> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw) || Object.values(raw).some((item) => typeof item !== 'string')) {
    throw malformed(method, `has an env.${key} that is not a map of strings`);
  }
  return raw as Record<string, string>;
}

function presenceOf(value: Record<string, unknown>): { presence?: RpcPresence } {
  const raw = value.presence;
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw malformed('command', 'has a presence that is not an object');
  const record = raw as Record<string, unknown>;
  const field = (key: string) => {
    const text = record[key];
    if (text === undefined || text === null) return '';
    if (typeof text !== 'string') throw malformed('command', `has a non-string presence.${key}`);
    return text;
  };
  return { presence: { type: field('type'), id: field('id'), info: field('info') } };
}

function stateChanges(value: Record<string, unknown>, method: RpcMethod): RpcStateChanges {
  const env = value.env;
  if (env === undefined || env === null) return {};
  if (typeof env !== 'object' || Array.isArray(env)) throw malformed(method, 'has an env that is not an object');
  const record = env as Record<string, unknown>;
  const cstate = stringMap(record.cstate, 'cstate', method);
  const istate = stringMap(record.istate, 'istate', method);
  return { ...(cstate ? { cstate } : {}), ...(istate ? { istate } : {}) };
}
