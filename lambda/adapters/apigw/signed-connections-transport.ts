import { Agent as HttpAgent, ClientRequest, IncomingMessage, request as httpRequest, RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from './node-sha256';
import { CredentialsProvider, refreshingCredentials } from './refreshing-credentials';
import { CableConfigError, ConnectionGoneError, TransientSendError } from '../../core/errors';
import { Transport } from '../../core/ports';

export interface SignedConnectionsTransportOptions {
  /** The stage's callback URL: `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`. */
  readonly callbackUrl: string;
  /**
   * The region requests are signed for.
   * @default - the region in the callback URL's host (`{api-id}.execute-api.{region}.amazonaws.com`)
   */
  readonly region?: string;
  /**
   * Where credentials come from; resolved once, and again shortly before they expire.
   * @default - the SDK's default chain (`defaultProvider()` of @aws-sdk/credential-provider-node): in Lambda, the function's role from its environment
   */
  readonly credentials?: CredentialsProvider;
  /**
   * The most requests in flight at once: sockets kept alive to the endpoint.
   * @default 50
   */
  readonly concurrency?: number;
  /**
   * Milliseconds a socket may stay silent before the request fails as transient (`ETIMEDOUT`).
   * @default 10000
   */
  readonly timeoutMs?: number;
  /**
   * The agent requests go through (tests: one that trusts a self-signed certificate).
   * @default - a keep-alive agent (https or http, as the callback URL) with `concurrency` sockets
   */
  readonly agent?: HttpAgent;
}

/**
 * Posts frames to `@connections` with one signed HTTP request each and nothing else: no SDK
 * client, middleware stack or retries (fan-out retries with its own policy), a fraction of the
 * CPU per post (bench/transport.ts), which is what bounds a fan-out or ping function's rate.
 *
 * @example
 * const transport = new SignedConnectionsTransport({ callbackUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/cable', concurrency: 64 });
 * await transport.send(connectionId, '{"type":"ping","message":1700000000}');
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html
 */
export class SignedConnectionsTransport implements Transport {
  private readonly url: URL;
  private readonly basePath: string;
  private readonly agent: HttpAgent;
  private readonly signer: SignatureV4;
  private readonly timeoutMs: number;
  private readonly request: (options: RequestOptions) => ClientRequest;

  constructor(options: SignedConnectionsTransportOptions) {
    this.url = parseCallbackUrl(options.callbackUrl);
    const region = options.region ?? executeApiRegion(options.callbackUrl);
    if (!region) {
      throw new CableConfigError(`region must be given when the callback URL's host is not {api-id}.execute-api.{region}.amazonaws.com, got "${this.url.host}"`);
    }
    const concurrency = options.concurrency ?? 50;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new CableConfigError(`concurrency must be a positive integer, got ${concurrency}`);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    if (!(this.timeoutMs > 0)) throw new CableConfigError(`timeoutMs must be positive, got ${this.timeoutMs}`);

    const https = this.url.protocol === 'https:';
    this.basePath = this.url.pathname.replace(/\/+$/, '');
    this.agent = options.agent ?? new (https ? HttpsAgent : HttpAgent)({ keepAlive: true, maxSockets: concurrency });
    this.request = https ? httpsRequest : httpRequest;
    this.signer = new SignatureV4({
      service: 'execute-api',
      region,
      credentials: refreshingCredentials(options.credentials ?? defaultProvider()),
      sha256: NodeSha256,
    });
  }

  async send(connectionId: string, data: string): Promise<void> {
    const { status, body, errorType } = await this.call('POST', connectionId, Buffer.from(data, 'utf8'));
    if (status >= 200 && status < 300) return;
    if (status === 410) throw new ConnectionGoneError(connectionId);
    throw failure(connectionId, status, errorType, body);
  }

  async close(connectionId: string): Promise<void> {
    const { status, body, errorType } = await this.call('DELETE', connectionId);
    // 410: the goal (no open socket) is already reached.
    if ((status >= 200 && status < 300) || status === 410) return;
    throw failure(connectionId, status, errorType, body);
  }

  /** Closes the sockets kept alive (the agent's, also one given in the options). */
  destroy(): void {
    this.agent.destroy();
  }

  private async call(method: 'POST' | 'DELETE', connectionId: string, body?: Buffer): Promise<Answer> {
    const headers: Record<string, string> = { host: this.url.host };
    if (body) {
      // As the SDK sends PostToConnection's Data blob.
      headers['content-type'] = 'application/octet-stream';
      headers['content-length'] = String(body.length);
    }
    const signed = await this.signer.sign({
      method,
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      port: this.url.port ? Number(this.url.port) : undefined,
      path: `${this.basePath}/@connections/${encodePathSegment(connectionId)}`,
      query: {},
      headers,
      body,
    });
    try {
      return await this.exchange(signed.method, signed.path, signed.headers, body);
    } catch (error) {
      if (isNetworkError(error)) throw new TransientSendError(connectionId, error);
      throw error;
    }
  }

  private exchange(method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const request = this.request({
        protocol: this.url.protocol,
        hostname: this.url.hostname,
        port: this.url.port || undefined,
        method,
        path,
        headers,
        agent: this.agent,
      });
      request.setTimeout(this.timeoutMs, () => request.destroy(Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      request.once('error', reject);
      request.once('response', (response: IncomingMessage) => {
        const status = response.statusCode ?? 0;
        response.once('error', reject);
        if (status >= 200 && status < 300) {
          // Read to the end, so the socket goes back to the agent for the next request.
          response.once('end', () => resolve({ status }));
          response.resume();
          return;
        }
        const errorType = headerValue(response.headers['x-amzn-errortype']);
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if (size < MAX_ERROR_BODY) chunks.push(chunk);
          size += chunk.length;
        });
        response.once('end', () => resolve({ status, errorType, body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY) }));
      });
      request.end(body);
    });
  }
}

/** An answer other than 2xx or 410: named after API Gateway's error type, as the SDK names its exceptions. */
export class ConnectionsApiError extends Error {
  constructor(readonly connectionId: string, readonly status: number, errorType: string | undefined, readonly body: string) {
    super(`@connections answered ${status}${errorType ? ` ${errorType}` : ''} for ${connectionId}${body ? `: ${body}` : ''}`);
    this.name = errorType ?? 'ConnectionsApiError';
  }
}

/** The region in a callback URL's host (`{api-id}.execute-api.{region}.amazonaws.com[.cn]`); undefined for any other URL. */
export function executeApiRegion(callbackUrl: string): string | undefined {
  return /^https?:\/\/[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?(?:[:/]|$)/i.exec(callbackUrl)?.[1];
}

interface Answer {
  readonly status: number;
  readonly errorType?: string;
  readonly body?: string;
}

const MAX_ERROR_BODY = 1024;

function parseCallbackUrl(callbackUrl: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(callbackUrl);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash) {
    throw new CableConfigError(`callbackUrl must be an http(s) URL without query or fragment, such as https://{api-id}.execute-api.{region}.amazonaws.com/{stage}, got "${callbackUrl}"`);
  }
  return url;
}

/** As the SDK encodes a path label: encodeURIComponent, and !'()* too. */
function encodePathSegment(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  // API Gateway may append detail after a colon (`ThrottlingException:http://...`), as the SDK strips it.
  return first ? first.split(':')[0] : undefined;
}

/** Throttling (429) and server errors (5xx) may pass on a retry; anything else is final for this connection. */
function failure(connectionId: string, status: number, errorType: string | undefined, body: string | undefined): Error {
  const error = new ConnectionsApiError(connectionId, status, errorType, body ?? '');
  if (status === 429 || status >= 500) return new TransientSendError(connectionId, error);
  return error;
}

/**
 * The network failures ApiGatewayTransport retries (the request got no answer). By code and
 * message, not instanceof: node's own errors may come from another realm (jest's, a bundle's).
 */
function isNetworkError(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return /ECONNRESET|ETIMEDOUT|EPIPE|ECONNREFUSED|socket hang up/i.test(`${String(code ?? '')} ${String(message ?? '')}`);
}
