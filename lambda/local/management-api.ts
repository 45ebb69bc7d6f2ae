import { IncomingMessage, ServerResponse } from 'node:http';
import { AsyncInvoker } from './bundled-handlers';
import { ConnectionRegistry } from './connection-registry';
import { answerWithoutBody, readBody } from './request-body';
import { isForeignOrigin } from './same-origin';
import { BROADCAST_PATH } from '../core/broadcast-http';
import { Logger } from '../core/ports';
import { isPresencePath } from '../core/presence-http';
import { MAX_MESSAGE_BYTES } from '../core/protocol';

export interface ManagementApiProps {
  /** `/cable`: the stage, under which `@connections` lives. */
  readonly path: string;
  readonly registry: ConnectionRegistry;
  readonly logger: Logger;
  /** Lambda Invoke emulation for the bundled connect handler (only with `lambdaAssets`). */
  readonly invoke?: AsyncInvoker;
  /** AnyCable's HTTP broadcast API at `/_broadcast` (see broadcast-endpoint.ts). @default - 404 */
  readonly broadcast?: (request: IncomingMessage, response: ServerResponse) => void;
}

/** Lambda's Invoke API path, as `LambdaClient` calls it with an endpoint override. */
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/**
 * API Gateway's Management API (`@connections`) on the server's own port, answering as API
 * Gateway does, so the real `ApiGatewayManagementApiClient` (endpoint: the callback URL) works:
 * `POST` sends the body as one text frame (200; 410 `GoneException` while `$connect` runs or once
 * closed; 413 over 128 KB), `DELETE` closes (204), `GET` describes (200). Signatures are not checked.
 * The same port also answers `POST /_broadcast` and `GET /api/presence/:stream/users` (handed to `props.broadcast`) and, with bundled
 * handlers, Lambda's Invoke API. Requests from web pages of other origins are refused (403): a
 * page the developer visits could otherwise post frames into their cable with a CORS "simple
 * request" (no preflight for a `text/plain` POST), which the SDK's raw-body posts make impossible
 * to refuse by content type.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html
 */
export function managementApi(props: ManagementApiProps): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    handle(props, request, response).catch((error: unknown) => {
      props.logger.error('local.management_failed', { method: request.method, url: request.url, error });
      if (!response.headersSent) reply(response, 500, 'Internal server error', 'InternalServerErrorException');
      else response.destroy();
    });
  };
}

async function handle(props: ManagementApiProps, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const { registry } = props;
  const pathname = (request.url ?? '/').split('?')[0];
  if (pathname === BROADCAST_PATH || isPresencePath(pathname)) {
    if (props.broadcast) return props.broadcast(request, response);
    return reply(response, 404, `${BROADCAST_PATH} is not served here`);
  }
  if (isForeignOrigin(request)) {
    answerWithoutBody(request, response);
    return reply(response, 403, `requests from web pages of other origins (${request.headers.origin}) are refused`, 'ForbiddenException');
  }
  const invoke = INVOKE_PATH.exec(pathname);
  if (invoke && request.method === 'POST') return invokeAsync(props, decodeURIComponent(invoke[1]), request, response);
  if (pathname === props.path) return reply(response, 426, `${props.path} is a WebSocket endpoint: connect with a WebSocket client`);

  const connectionId = connectionIdOf(props.path, pathname);
  if (connectionId === undefined) return reply(response, 404, `no route for ${request.method} ${pathname}`);
  if (connectionId === null) return reply(response, 400, 'invalid connection id', 'BadRequestException');

  switch (request.method) {
    case 'POST': {
      const read = await readBody(request, response, { maxBytes: MAX_MESSAGE_BYTES, tooLarge: `message is over the ${MAX_MESSAGE_BYTES}-byte quota` });
      if (!read.ok) return reply(response, read.status, read.message, read.status === 413 ? 'PayloadTooLargeException' : undefined);
      const outcome = registry.post(connectionId, read.body);
      if (outcome === 'sent') return reply(response, 200);
      if (outcome === 'too_large') return reply(response, 413, `message is over the ${MAX_MESSAGE_BYTES}-byte quota`, 'PayloadTooLargeException');
      return gone(response);
    }
    case 'DELETE':
      return registry.disconnect(connectionId) ? reply(response, 204) : gone(response);
    case 'GET': {
      const read = await readBody(request, response, { maxBytes: MAX_MESSAGE_BYTES });
      if (!read.ok) return reply(response, read.status, read.message);
      const connection = registry.get(connectionId);
      if (!connection) return gone(response);
      const { context, lastActiveAt } = connection;
      // The wire names are camelCase (the SDK's shapes say `ConnectedAt`, `Identity.SourceIp`...).
      return replyJson(response, 200, {
        connectedAt: new Date(context.connectedAt).toISOString(),
        identity: { sourceIp: context.sourceIp, userAgent: context.userAgent },
        lastActiveAt: new Date(lastActiveAt).toISOString(),
      });
    }
    default:
      return reply(response, 405, `${request.method} is not an @connections method (POST, DELETE, GET)`);
  }
}

/** `InvocationType: Event` only, answered 202 before the function runs, as Lambda does. */
async function invokeAsync(props: ManagementApiProps, functionName: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const read = await readBody(request, response, { maxBytes: 256 * 1024, tooLarge: 'payload is over 256 KB' });
  if (!read.ok) return reply(response, read.status, read.message, read.status === 413 ? 'RequestTooLargeException' : undefined);
  if (!props.invoke?.has(functionName)) {
    return reply(response, 404, `Function not found: ${functionName}`, 'ResourceNotFoundException');
  }
  if (request.headers['x-amz-invocation-type'] !== 'Event') {
    return reply(response, 400, 'the local server emulates asynchronous (Event) invocations only', 'InvalidParameterValueException');
  }
  let payload: unknown;
  try {
    payload = JSON.parse(read.body.toString('utf8'));
  } catch {
    return reply(response, 400, 'payload is not JSON', 'InvalidRequestContentException');
  }
  reply(response, 202);
  props.invoke.invoke(functionName, payload);
}

/** The id from `{path}/@connections/{id}` (`@` may come percent-encoded); undefined: another route; null: undecodable. */
function connectionIdOf(path: string, pathname: string): string | null | undefined {
  for (const prefix of [`${path}/@connections/`, `${path}/%40connections/`]) {
    if (!pathname.startsWith(prefix)) continue;
    const encoded = pathname.slice(prefix.length);
    if (encoded.length === 0 || encoded.includes('/')) return undefined;
    try {
      return decodeURIComponent(encoded);
    } catch {
      return null;
    }
  }
  return undefined;
}

function gone(response: ServerResponse): void {
  reply(response, 410, 'Gone', 'GoneException');
}

/** `{"message": ...}` with `x-amzn-ErrorType`, which the SDK maps to its exception classes. */
function reply(response: ServerResponse, status: number, message?: string, errorType?: string): void {
  if (message === undefined) {
    response.writeHead(status).end();
    return;
  }
  replyJson(response, status, { message }, errorType ? { 'x-amzn-ErrorType': errorType } : {});
}

function replyJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers }).end(text);
}
