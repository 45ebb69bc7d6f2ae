import { loadServerlessJs, ServerlessApplication } from './serverless-js';

/** One HTTP request as it reached the app, whichever front (node:http, a Lambda event) carried it. */
export interface RawRpcRequest {
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
  /** Lower-cased names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** `Host`, for the Fetch `Request`'s URL. */
  readonly host?: string;
}

export interface RawRpcResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A call the app received, and its answer once it gave one. */
export interface RecordedRpcCall {
  /** The HTTP method. */
  readonly method: string;
  readonly path: string;
  /** `connect`, `command` or `disconnect` when the path names one. */
  readonly rpcMethod?: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON body; the text when it is not JSON; `undefined` when empty. */
  readonly body: unknown;
  /** `undefined` until answered (and for good under `misbehave('hang')`). */
  readonly status?: number;
  readonly responseBody?: string;
  /** The parsed JSON answer, when it is JSON. */
  readonly response?: unknown;
}

export interface RpcEndpointOptions {
  /**
   * Checked as anycable-rb's `AnyCable::HTTRPC::Server` does: `Authorization` must be exactly `Bearer <secret>`.
   * @default - no check
   */
  readonly rpcSecret?: string;
  /**
   * Where the three methods live: `<mountPath>/connect` and so on.
   * @default '/_anycable'
   */
  readonly mountPath?: string;
  /**
   * What an exception in the app becomes: `http_500` (a crashed app), or `status_error`, a 200 with
   * `{ status: 0, error_msg: 'Server error' }` as the library README's handlers answer.
   * @default 'http_500'
   */
  readonly errors?: 'http_500' | 'status_error';
}

const RPC_METHODS = new Set(['connect', 'command', 'disconnect']);
const HOP_BY_HOP = new Set(['connection', 'content-length', 'expect', 'keep-alive', 'transfer-encoding', 'upgrade']);

/**
 * Answers one request as anycable-rb's HTTP RPC server orders its checks (lib/anycable/httrpc/server.rb):
 * not POST 404, wrong secret 401, unknown method 404, empty body 422, unparsable body 422; then the
 * library's `handler` answers 200 with its result as JSON, and what it throws is a 500.
 */
export async function answerRpc(app: ServerlessApplication, request: RawRpcRequest, options: RpcEndpointOptions = {}): Promise<RawRpcResponse> {
  if (request.method !== 'POST') return text(404, 'Not found');
  if (options.rpcSecret !== undefined && request.headers.authorization !== `Bearer ${options.rpcSecret}`) return text(401, 'Unauthorized');
  if (rpcMethodOf(request.path, options.mountPath) === undefined) return text(404, 'Not found');
  if (request.body.length === 0) return text(422, 'Empty request body');
  try {
    JSON.parse(request.body.toString('utf8'));
  } catch (error) {
    return text(422, `Invalid request body: ${(error as Error).message}`);
  }
  try {
    const result = await loadServerlessJs().handler(toFetchRequest(request), app);
    return json(200, JSON.stringify(result));
  } catch (error) {
    if (options.errors === 'status_error') return json(200, JSON.stringify({ status: 0, error_msg: 'Server error' }));
    return text(500, `Internal Server Error: ${(error as Error).message}`);
  }
}

/** The Fetch `Request` the library's handlers read: the path, the headers and the body bytes. */
export function toFetchRequest(request: RawRpcRequest): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (!HOP_BY_HOP.has(name)) headers.set(name, value);
  }
  return new Request(`http://${request.host ?? 'localhost'}${request.path}`, { method: request.method, headers, body: request.body });
}

export function rpcMethodOf(path: string, mountPath = '/_anycable'): string | undefined {
  const prefix = `${mountPath.replace(/\/+$/, '')}/`;
  if (!path.startsWith(prefix)) return undefined;
  const method = path.slice(prefix.length);
  return RPC_METHODS.has(method) ? method : undefined;
}

/** Starts a record of a received request; `answered` completes it. */
export function recordCall(request: RawRpcRequest, mountPath?: string): RecordedRpcCall {
  const rpcMethod = rpcMethodOf(request.path, mountPath);
  return {
    method: request.method,
    path: request.path,
    ...(rpcMethod ? { rpcMethod } : {}),
    headers: request.headers,
    body: parseBody(request.body.toString('utf8')),
  };
}

export function answered(call: RecordedRpcCall, response: RawRpcResponse): void {
  Object.assign(call, { status: response.statusCode, responseBody: response.body, response: parseBody(response.body) });
}

/** Header names lower-cased, repeated values joined as HTTP joins them. */
export function lowerCaseHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) result[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return result;
}

function parseBody(body: string): unknown {
  if (body === '') return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

export function text(statusCode: number, body: string): RawRpcResponse {
  return { statusCode, headers: { 'content-type': 'text/plain' }, body };
}

export function json(statusCode: number, body: string): RawRpcResponse {
  return { statusCode, headers: { 'content-type': 'application/json' }, body };
}
