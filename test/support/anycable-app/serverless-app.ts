import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ChatAppOptions, createChatApp } from './chat-app';
import { answered, answerRpc, json, lowerCaseHeaders, RawRpcRequest, RawRpcResponse, recordCall, RecordedRpcCall, RpcEndpointOptions, text } from './rpc-endpoint';
import { loadServerlessJs, ServerlessApplication, ServerlessIdentifiers } from './serverless-js';

export { bundleServerlessJs, loadServerlessJs } from './serverless-js';
export type { ServerlessApplication, ServerlessJs } from './serverless-js';
export { chatChannelIdentifier, createChatApp } from './chat-app';
export type { ChatAppOptions, ChatIdentifiers } from './chat-app';
export { toFetchRequest } from './rpc-endpoint';
export type { RawRpcRequest, RawRpcResponse, RecordedRpcCall, RpcEndpointOptions } from './rpc-endpoint';

/**
 * How the app answers from now on: `hang` never answers, `http_500` is a 500, `malformed_json` a 200
 * with a truncated body, `wrong_types` a 200 whose `status` is a string; `normal` answers again.
 */
export type Misbehavior = 'normal' | 'hang' | 'http_500' | 'malformed_json' | 'wrong_types';

export interface ServerlessAppOptions extends ChatAppOptions, RpcEndpointOptions {}

export interface RunningServerlessApp {
  /** `http://127.0.0.1:<port><mountPath>`: the RPC URL, without a trailing slash. */
  readonly url: string;
  /** Every request received, oldest first. */
  readonly calls: RecordedRpcCall[];
  misbehave(mode: Misbehavior): void;
  /** Resolves once `count` requests have been received (answered or not). */
  waitForCalls(count: number): Promise<RecordedRpcCall[]>;
  /** Closes the server and every connection, hung ones included; again is a no-op. */
  close(): Promise<void>;
}

const MISBEHAVIORS: Record<Exclude<Misbehavior, 'normal' | 'hang'>, RawRpcResponse> = {
  http_500: text(500, 'Internal Server Error'),
  malformed_json: json(200, '{"status":1,'),
  wrong_types: json(200, '{"status":"SUCCESS"}'),
};

/**
 * The chat app (see `createChatApp`) behind a node:http server on 127.0.0.1, as anycable-go's HTTP
 * RPC would reach a deployed `@anycable/serverless-js` app.
 */
export async function startServerlessApp(options: ServerlessAppOptions = {}): Promise<RunningServerlessApp> {
  const app = createChatApp(options);
  const calls: RecordedRpcCall[] = [];
  const waiters: (() => void)[] = [];
  let mode: Misbehavior = 'normal';

  const server = createServer((req, res) => {
    serve(req, res).catch(() => res.destroy());
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request = await readRequest(req);
    const call = recordCall(request, options.mountPath);
    calls.push(call);
    waiters.splice(0).forEach((wake) => wake());
    if (mode === 'hang') return;
    const response = mode === 'normal' ? await answerRpc(app, request, options) : MISBEHAVIORS[mode];
    answered(call, response);
    res.writeHead(response.statusCode, response.headers).end(response.body);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}${(options.mountPath ?? '/_anycable').replace(/\/+$/, '')}`,
    calls,
    misbehave: (next) => {
      mode = next;
    },
    waitForCalls: async (count) => {
      while (calls.length < count) await new Promise<void>((wake) => waiters.push(wake));
      return calls;
    },
    close: async () => {
      if (!server.listening) return;
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

async function readRequest(req: IncomingMessage): Promise<RawRpcRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers = lowerCaseHeaders(req.headers);
  return { method: req.method ?? 'GET', path: url.pathname, headers, body: Buffer.concat(chunks), host: headers.host };
}

export interface LambdaRpcHandlerOptions extends RpcEndpointOptions {
  /**
   * Where to record the calls the handler receives.
   * @default - no record
   */
  readonly calls?: RecordedRpcCall[];
}

export type LambdaRpcHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * The same app behind an AWS Lambda handler, fed API Gateway HTTP API payload 2.0 events as Lamby or a
 * Function URL delivers them, answering through the very code the HTTP server uses.
 */
export function lambdaRpcHandler(app: ServerlessApplication, options: LambdaRpcHandlerOptions = {}): LambdaRpcHandler {
  return async (event) => {
    const headers = lowerCaseHeaders(event.headers ?? {});
    const request: RawRpcRequest = {
      method: event.requestContext.http.method,
      path: event.rawPath,
      headers,
      body: event.body === undefined ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8'),
      host: headers.host ?? event.requestContext.domainName,
    };
    const call = recordCall(request, options.mountPath);
    options.calls?.push(call);
    const response = await answerRpc(app, request, options);
    answered(call, response);
    return { statusCode: response.statusCode, headers: { ...response.headers }, body: response.body, isBase64Encoded: false };
  };
}

/**
 * A JWT as AnyCable's own generator makes it (the library's `identificator`): HS256, the identifiers
 * JSON-encoded in `ext`, `iat`, and `exp` `ttlSeconds` from now (negative: already expired).
 * The number is turned into an absolute `exp` here because jose reads a number as a NumericDate.
 */
export async function generateToken(secret: string, identifiers: ServerlessIdentifiers, ttlSeconds: number): Promise<string> {
  const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
  return loadServerlessJs().identificator(secret, exp).generateToken(identifiers);
}
