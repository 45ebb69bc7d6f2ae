import { randomBytes, randomUUID } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { WebSocketEvent } from '../handlers/events';

/**
 * API Gateway WebSocket proxy events, built the way API Gateway builds them for a Lambda proxy
 * integration, so the handlers under lambda/handlers/ run unchanged.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html
 */
export interface LocalRequestContext {
  readonly connectionId: string;
  readonly routeKey: '$connect' | '$default' | '$disconnect';
  readonly eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
  readonly stage: string;
  readonly domainName: string;
  readonly apiId: string;
  readonly requestId: string;
  readonly extendedRequestId: string;
  readonly requestTime: string;
  readonly requestTimeEpoch: number;
  readonly connectedAt: number;
  readonly messageDirection: 'IN';
  readonly identity: { readonly sourceIp: string; readonly userAgent?: string };
  readonly messageId?: string;
  readonly disconnectStatusCode?: number;
  readonly disconnectReason?: string;
}

export type LocalWebSocketEvent = WebSocketEvent & {
  readonly requestContext: LocalRequestContext;
  readonly multiValueQueryStringParameters?: Record<string, string[]>;
};

/** What stays the same for every event of one connection. */
export interface ConnectionContext {
  readonly connectionId: string;
  /** Epoch milliseconds. */
  readonly connectedAt: number;
  readonly stage: string;
  /** `host:port`: with the stage, the callback URL (`http://{domainName}/{stage}`). */
  readonly domainName: string;
  readonly sourceIp: string;
  readonly userAgent?: string;
}

export const LOCAL_API_ID = 'local';

/** API Gateway's ids look like `JC1dgf9yoAMCK-g=`: 11 random bytes, URL-safe base64, padded; never a `#`. */
export function newConnectionId(): string {
  return `${randomBytes(11).toString('base64url')}=`;
}

export function connectEvent(context: ConnectionContext, request: IncomingMessage): LocalWebSocketEvent {
  const { headers, multiValueHeaders } = requestHeaders(request, context);
  const query = requestQuery(request.url ?? '/');
  return {
    headers,
    multiValueHeaders,
    ...query,
    requestContext: requestContext(context, '$connect', 'CONNECT'),
    isBase64Encoded: false,
  };
}

/** Text frames arrive as they are; binary frames base64-encoded, flagged `isBase64Encoded`. */
export function messageEvent(context: ConnectionContext, data: Buffer, binary: boolean): LocalWebSocketEvent {
  return {
    requestContext: { ...requestContext(context, '$default', 'MESSAGE'), messageId: randomBytes(12).toString('base64url') },
    body: binary ? data.toString('base64') : data.toString('utf8'),
    isBase64Encoded: binary,
  };
}

export function disconnectEvent(context: ConnectionContext, statusCode: number, reason: string): LocalWebSocketEvent {
  const headers = { 'Host': context.domainName, 'X-Forwarded-For': context.sourceIp };
  return {
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    requestContext: {
      ...requestContext(context, '$disconnect', 'DISCONNECT'),
      disconnectStatusCode: statusCode,
      disconnectReason: reason,
    },
    isBase64Encoded: false,
  };
}

function requestContext(
  context: ConnectionContext,
  routeKey: LocalRequestContext['routeKey'],
  eventType: LocalRequestContext['eventType'],
): LocalRequestContext {
  const now = Date.now();
  return {
    connectionId: context.connectionId,
    routeKey,
    eventType,
    stage: context.stage,
    domainName: context.domainName,
    apiId: LOCAL_API_ID,
    requestId: randomUUID(),
    extendedRequestId: randomBytes(12).toString('base64url'),
    requestTime: clfTime(now),
    requestTimeEpoch: now,
    connectedAt: context.connectedAt,
    messageDirection: 'IN',
    identity: { sourceIp: context.sourceIp, userAgent: context.userAgent },
  };
}

/** Original header casing (from `rawHeaders`); the single-value map keeps the last value, as API Gateway does. */
function requestHeaders(request: IncomingMessage, context: ConnectionContext) {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const add = (name: string, value: string) => {
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  };
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) add(request.rawHeaders[i], request.rawHeaders[i + 1]);
  const present = new Set(Object.keys(headers).map((name) => name.toLowerCase()));
  const forwarded: Record<string, string> = {
    'X-Forwarded-For': context.sourceIp,
    'X-Forwarded-Port': String(request.socket.localPort ?? ''),
    'X-Forwarded-Proto': 'http',
  };
  for (const [name, value] of Object.entries(forwarded)) if (!present.has(name.toLowerCase())) add(name, value);
  return { headers, multiValueHeaders };
}

/** API Gateway omits both query fields when there is no query string. */
function requestQuery(url: string): Pick<LocalWebSocketEvent, 'queryStringParameters' | 'multiValueQueryStringParameters'> {
  const params = new URL(url, 'http://local').searchParams;
  if ([...params.keys()].length === 0) return {};
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of params) {
    single[name] = value;
    (multi[name] ??= []).push(value);
  }
  return { queryStringParameters: single, multiValueQueryStringParameters: multi };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `09/Feb/2024:10:00:00 +0000`, API Gateway's `requestTime`. */
function clfTime(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}
