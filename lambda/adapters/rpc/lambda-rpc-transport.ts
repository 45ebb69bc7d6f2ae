import { randomUUID } from 'node:crypto';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { answer, errorText, retryPolicy, RetryPolicy, withRetries } from './http-rpc-transport';
import { RPC_PROTO_VERSION, RpcCallError, RpcMethod, RpcTransport } from '../../core/rpc-protocol';

export interface LambdaRpcTransportOptions {
  /** Give it `maxAttempts: 1`: this transport retries throttles itself, within `timeoutMs`. */
  readonly client: LambdaClient;
  /** Name, ARN or alias ARN of the app's function. */
  readonly functionName: string;
  /**
   * Where the app serves RPC; the method is appended (`/_anycable/connect`).
   * @default '/_anycable' (anycable-rails' `http_rpc_mount_path`)
   */
  readonly path?: string;
  /**
   * The `Host` the app sees; it must pass the app's host checks (Rails' `config.hosts`).
   * @default 'localhost'
   */
  readonly host?: string;
  /**
   * Sent as `Authorization: Bearer <secret>` (anycable-rails' `http_rpc_secret`).
   * @default - no Authorization header
   */
  readonly secret?: string;
  /**
   * Bound on the whole call, retries included, as anycable-go bounds a command's retries by
   * `rpc_command_timeout` (default 3000, like its `http_rpc_timeout` for one request). The
   * construct passes its own, 8000 unless set (`CableRpc.fromFunction`, for a cold start).
   * @default 3000 (DEFAULT_RPC.timeoutMs)
   */
  readonly timeoutMs?: number;
  /**
   * Invocations when nothing reached the function (throttled, Lambda 5xx, network); every other failure is final.
   * @default 3
   */
  readonly maxAttempts?: number;
  /**
   * Delay before retry n (from 0) is `retryBaseDelayMs * 2^n`.
   * @default 100
   */
  readonly retryBaseDelayMs?: number;
}

/**
 * Calls an app that runs on Lambda (Rails with Lamby, a Node app behind a Function URL) by
 * invoking it synchronously with the HTTP request API Gateway would have sent (payload format
 * 2.0), so its own routing serves the RPC path and it needs no public endpoint.
 * @example
 * const rpc = new LambdaRpcTransport({ client: new LambdaClient({ maxAttempts: 1 }), functionName: 'rails-app', secret });
 * const body = await rpc.call('connect', encodeConnectRequest(request), sid);
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 */
export class LambdaRpcTransport implements RpcTransport {
  private readonly path: string;
  private readonly host: string;
  private readonly policy: RetryPolicy;

  constructor(private readonly options: LambdaRpcTransportOptions) {
    if (!options.functionName) throw new Error(`functionName must name the app's function, got ${JSON.stringify(options.functionName)}`);
    const path = options.path ?? '/_anycable';
    if (!path.startsWith('/') || /[?#\s]/.test(path)) throw new Error(`path must be an absolute path without query or spaces, got ${JSON.stringify(path)}`);
    this.path = path.replace(/\/+$/, '');
    this.host = options.host ?? 'localhost';
    if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(this.host)) throw new Error(`host must be a host name with an optional port, got ${JSON.stringify(this.host)}`);
    this.policy = retryPolicy(options);
  }

  call(method: RpcMethod, body: string, sid: string): Promise<string> {
    const label = `rpc ${method} via ${this.options.functionName}`;
    return withRetries(this.policy, label, async (signal) => {
      const event = httpEvent({ path: `${this.path}/${method}`, host: this.host, secret: this.options.secret, sid, body });
      let output;
      try {
        output = await this.options.client.send(new InvokeCommand({
          FunctionName: this.options.functionName,
          InvocationType: 'RequestResponse',
          Payload: Buffer.from(JSON.stringify(event), 'utf8'),
        }), { abortSignal: signal });
      } catch (error) {
        if (signal.aborted) throw error;
        throw invokeFailure(label, error);
      }
      const payload = Buffer.from(output.Payload ?? new Uint8Array()).toString('utf8');
      if (output.FunctionError) throw functionError(label, output.FunctionError, payload);
      const response = httpResponse(label, payload);
      return answer(label, response.statusCode, response.body);
    });
  }
}

interface EventInput {
  readonly path: string;
  readonly host: string;
  readonly secret?: string;
  readonly sid: string;
  readonly body: string;
}

/**
 * An `APIGatewayProxyEventV2` as an HTTP API or a Function URL delivers it: lower-case headers,
 * the `x-forwarded-*` set (so an app that forces SSL sees HTTPS), no cookies, a text body.
 */
function httpEvent(input: EventInput): APIGatewayProxyEventV2 {
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: input.path,
    rawQueryString: '',
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(input.body, 'utf8')),
      'host': input.host,
      ...(input.secret ? { authorization: `Bearer ${input.secret}` } : {}),
      'x-anycable-meta-sid': input.sid,
      'x-anycable-meta-protov': RPC_PROTO_VERSION,
      'user-agent': 'cdk-cable',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
    },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'cdk-cable',
      domainName: input.host,
      domainPrefix: input.host.split('.')[0],
      http: { method: 'POST', path: input.path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'cdk-cable' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: requestTime(now),
      timeEpoch: now.getTime(),
    },
    body: input.body,
    isBase64Encoded: false,
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `12/Mar/2020:19:03:58 +0000`, the format of `requestContext.time`. */
function requestTime(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/**
 * Reads the function's result as API Gateway reads a format 2.0 response: an object with
 * `statusCode` is the response (`body` base64-decoded if `isBase64Encoded`); any other JSON is
 * a 200 whose body is that JSON (a JSON string: the string itself).
 */
function httpResponse(label: string, payload: string): { statusCode: number; body: string } {
  let result: unknown;
  try {
    result = JSON.parse(payload);
  } catch {
    throw new RpcCallError('malformed_response', `${label}: the function returned no JSON: ${JSON.stringify(payload.slice(0, 80))}`);
  }
  if (result === null) throw new RpcCallError('malformed_response', `${label}: the function returned null`);
  if (typeof result === 'string') return { statusCode: 200, body: result };
  if (typeof result !== 'object' || Array.isArray(result) || !('statusCode' in result)) return { statusCode: 200, body: payload };
  const { statusCode, body, isBase64Encoded } = result as { statusCode: unknown; body?: unknown; isBase64Encoded?: unknown };
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode)) {
    throw new RpcCallError('malformed_response', `${label}: the function returned statusCode ${JSON.stringify(statusCode)}`);
  }
  if (body !== undefined && body !== null && typeof body !== 'string') {
    throw new RpcCallError('malformed_response', `${label}: the function returned a non-string body`);
  }
  const text = body ?? '';
  return { statusCode, body: isBase64Encoded === true ? Buffer.from(text, 'base64').toString('utf8') : text };
}

/** `FunctionError` (`Unhandled`, `Handled`): the payload is `{ errorMessage, errorType }`. */
function functionError(label: string, kind: string, payload: string): RpcCallError {
  let detail = payload.slice(0, 200);
  try {
    const error = JSON.parse(payload) as { errorMessage?: unknown; errorType?: unknown };
    if (typeof error.errorMessage === 'string') detail = typeof error.errorType === 'string' ? `${error.errorType}: ${error.errorMessage}` : error.errorMessage;
  } catch {
    // not JSON: keep the raw excerpt
  }
  return new RpcCallError('function_error', `${label}: the function failed (${kind}): ${detail}`);
}

const UNAVAILABLE_NAMES = new Set(['TooManyRequestsException', 'ServiceException', 'EC2ThrottledException', 'ResourceNotReadyException']);
const NETWORK_FAILURE = /ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EPIPE|ETIMEDOUT|socket hang up/i;

/**
 * Throttling (429), Lambda's own 5xx and network failures mean the function did not run, so they
 * are `unavailable` and retried; anything else the Invoke API refuses (ResourceNotFoundException,
 * AccessDeniedException, RequestTooLargeException...) is a `function_error` that names it.
 * By name or status rather than instanceof, which fails when a bundle holds two SDK copies.
 */
function invokeFailure(label: string, error: unknown): RpcCallError {
  const candidate = error as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | undefined;
  const name = typeof candidate?.name === 'string' ? candidate.name : 'Error';
  const status = candidate?.$metadata?.httpStatusCode;
  const unavailable = UNAVAILABLE_NAMES.has(name)
    || (typeof status === 'number' ? status === 429 || status >= 500 : NETWORK_FAILURE.test(errorText(error)));
  return new RpcCallError(unavailable ? 'unavailable' : 'function_error', `${label}: ${name}: ${errorText(error)}`);
}
