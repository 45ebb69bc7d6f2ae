import { DEFAULT_RPC } from '../../../src/contract/defaults';
import { RPC_PROTO_VERSION, RpcCallError, RpcMethod, RpcTransport } from '../../core/rpc-protocol';

export interface HttpRpcTransportOptions {
  /** The app's RPC endpoint, `http:` or `https:`; the method name is appended (`<url>/connect`). */
  readonly url: string;
  /**
   * Sent as `Authorization: Bearer <secret>` (anycable-rails' `http_rpc_secret`).
   * @default - no Authorization header
   */
  readonly secret?: string;
  /**
   * Bound on the whole call, retries included, as anycable-go bounds a command's retries by
   * `rpc_command_timeout` (default 3000, like its `http_rpc_timeout` for one request).
   * @default 3000
   */
  readonly timeoutMs?: number;
  /**
   * Attempts when nothing reached the app (refused, reset); every other failure is final.
   * @default 3
   */
  readonly maxAttempts?: number;
  /**
   * Delay before retry n (from 0) is `retryBaseDelayMs * 2^n` (anycable-go's `retryUnavailableInterval`).
   * @default 100
   */
  readonly retryBaseDelayMs?: number;
  /** @default - the global `fetch` */
  readonly fetch?: typeof fetch;
}

/**
 * Calls the app over HTTP as anycable-go's HTTP RPC does (rpc/http.go `performRequest` at v1.6.16):
 * `POST <url>/<method>` with the secret and the `sid`/`protov` metadata as headers.
 * @example
 * const rpc = new HttpRpcTransport({ url: 'https://app.example.com/_anycable', secret });
 * const body = await rpc.call('connect', encodeConnectRequest(request), sid);
 * @see https://docs.anycable.io/anycable-go/rpc
 */
export class HttpRpcTransport implements RpcTransport {
  private readonly url: URL;
  private readonly policy: RetryPolicy;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: HttpRpcTransportOptions) {
    this.url = parseRpcUrl(options.url);
    this.policy = retryPolicy(options);
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  call(method: RpcMethod, body: string, sid: string): Promise<string> {
    const url = joinPath(this.url, method);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      ...(this.options.secret ? { authorization: `Bearer ${this.options.secret}` } : {}),
      'x-anycable-meta-sid': sid,
      'x-anycable-meta-protov': RPC_PROTO_VERSION,
    };
    const label = `rpc ${method} to ${url}`;
    return withRetries(this.policy, label, async (signal) => {
      let response: Response;
      try {
        response = await this.fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal });
      } catch (error) {
        if (signal.aborted) throw error;
        throw fetchFailure(label, error);
      }
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        if (signal.aborted) throw error;
        // For an error status, the status is the news; its body is only detail.
        if (response.status !== 200) return answer(label, response.status, '');
        throw new RpcCallError('malformed_response', `${label}: reading the body failed: ${errorText(error)}`);
      }
      return answer(label, response.status, text);
    });
  }
}

/** Timeout, attempts and back-off of one call; shared with the Lambda transport. */
export interface RetryPolicy {
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly retryBaseDelayMs: number;
}

export function retryPolicy(options: Partial<RetryPolicy>): RetryPolicy {
  const policy = {
    timeoutMs: options.timeoutMs ?? DEFAULT_RPC.timeoutMs,
    maxAttempts: options.maxAttempts ?? DEFAULT_RPC.maxAttempts,
    retryBaseDelayMs: options.retryBaseDelayMs ?? 100,
  };
  if (!(policy.timeoutMs > 0) || !Number.isFinite(policy.timeoutMs)) throw new Error(`timeoutMs must be a positive number of milliseconds, got ${policy.timeoutMs}`);
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) throw new Error(`maxAttempts must be an integer of at least 1, got ${policy.maxAttempts}`);
  if (!(policy.retryBaseDelayMs >= 0)) throw new Error(`retryBaseDelayMs must be zero or more milliseconds, got ${policy.retryBaseDelayMs}`);
  return policy;
}

/**
 * Runs `attempt` until it succeeds or fails with anything but `unavailable`, as anycable-go's
 * `Controller.retry` (rpc/rpc.go at v1.6.16) retries only `Unavailable`, `2^n * 100` ms apart,
 * inside one command timeout. Each attempt gets a signal that fires at the call's deadline;
 * whatever an attempt throws once it fired becomes `timeout`. A retry whose delay would reach
 * the deadline is not started: the last `unavailable` is thrown instead.
 */
export async function withRetries<T>(policy: RetryPolicy, label: string, attempt: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = Date.now() + policy.timeoutMs;
  for (let n = 0; ; n++) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(0, deadline - Date.now()));
    try {
      return await attempt(controller.signal);
    } catch (error) {
      if (controller.signal.aborted) throw new RpcCallError('timeout', `${label}: no answer within ${policy.timeoutMs} ms (attempt ${n + 1})`);
      if (!(error instanceof RpcCallError) || error.reason !== 'unavailable') throw error;
      const delay = policy.retryBaseDelayMs * 2 ** n;
      if (n + 1 >= policy.maxAttempts || Date.now() + delay >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * The body of a 200; otherwise the failure anycable-go maps the status to (rpc/http.go):
 * 401 `Unauthenticated`, 400 and 422 `InvalidArgument` with the body, anything else (3xx too:
 * redirects are not followed) `Unknown`.
 */
export function answer(label: string, status: number, body: string): string {
  if (status === 200) return body;
  if (status === 401) throw new RpcCallError('unauthorized', `${label}: the app answered 401; check the RPC secret`, status);
  const excerpt = body.length > 200 ? `${body.slice(0, 200)}…` : body;
  const detail = excerpt ? `: ${excerpt}` : '';
  if (status === 400 || status === 422) throw new RpcCallError('bad_request', `${label}: the app answered ${status}${detail}`, status);
  throw new RpcCallError('http_error', `${label}: the app answered ${status}${detail}`, status);
}

/** `message`, led by `code` when it does not say it; duck-typed, as errors from other realms fail instanceof. */
export function errorText(error: unknown): string {
  const { message, code } = (typeof error === 'object' && error !== null ? error : {}) as { message?: unknown; code?: unknown };
  if (typeof message !== 'string') return String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code} ${message}` : message;
}

function parseRpcUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`rpc url must be an absolute http: or https: URL, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`rpc url must use http: or https:, got ${JSON.stringify(value)}`);
  }
  // fetch refuses such URLs; the secret goes in the `secret` option instead.
  if (url.username || url.password) throw new Error(`rpc url must not contain credentials, got ${JSON.stringify(url.origin + url.pathname)}; use the secret option`);
  return url;
}

/**
 * Go's `url.JoinPath` (anycable-go's `baseURL.JoinPath(path)`): the base path without empty
 * segments or a trailing slash, then `/<method>`; the query string stays.
 */
function joinPath(base: URL, method: RpcMethod): string {
  const url = new URL(base);
  url.pathname = [...url.pathname.split('/').filter((segment) => segment !== ''), method].map((segment) => `/${segment}`).join('');
  url.hash = '';
  return url.toString();
}

/**
 * fetch rejects with `TypeError('fetch failed', { cause })` when no response arrived: refused,
 * reset, DNS, socket closed. anycable-go calls those `Unavailable` and retries them, except TLS
 * failures, which it reports as `Unauthenticated` (rpc/http.go). Anything else (an invalid header
 * value, say) is a fault and is rethrown as it is. By name, not instanceof: undici's TypeError
 * comes from Node's own realm, which is not the caller's under jest.
 */
function fetchFailure(label: string, error: unknown): unknown {
  const { name, message, cause } = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; message?: unknown; cause?: unknown };
  if (name !== 'TypeError' || message !== 'fetch failed') return error;
  const detail = cause === undefined ? message : errorText(cause);
  if (isTlsFailure(cause)) return new RpcCallError('unauthorized', `${label}: TLS failed: ${detail}`);
  return new RpcCallError('unavailable', `${label}: ${detail}`);
}

function isTlsFailure(cause: unknown): boolean {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /TLS|SSL|CERT|SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code);
}
