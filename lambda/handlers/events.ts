import { InboundFrame } from '../core/message';
import { ConnectRequest } from '../core/request';

/** The fields of API Gateway's WebSocket proxy event that the handlers read. */
export interface WebSocketEvent {
  readonly requestContext: {
    readonly connectionId: string;
    readonly routeKey: string;
    readonly eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
    readonly stage: string;
    readonly domainName: string;
    readonly apiId?: string;
    readonly requestId?: string;
    readonly disconnectStatusCode?: number;
    readonly disconnectReason?: string;
    readonly identity?: { readonly sourceIp?: string };
  };
  readonly headers?: Record<string, string | undefined> | null;
  readonly multiValueHeaders?: Record<string, (string | undefined)[] | undefined> | null;
  readonly queryStringParameters?: Record<string, string | undefined> | null;
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
}

/** What a Lambda proxy integration answers; `$connect` can set `Sec-WebSocket-Protocol` here. */
export interface WebSocketResult {
  readonly statusCode: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export function toConnectRequest(event: WebSocketEvent): ConnectRequest {
  const { connectionId, domainName, stage } = event.requestContext;
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    const defined = (values ?? []).filter((v): v is string => v !== undefined);
    if (defined.length > 0) headers[name.toLowerCase()] = defined.join(', ');
  }
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined && headers[name.toLowerCase()] === undefined) headers[name.toLowerCase()] = value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
    if (value !== undefined) query[name] = value;
  }
  const search = new URLSearchParams(query).toString();
  // The API's own host: `X-Forwarded-Host` is anyone's to send, and the core honours it only on
  // a request that proved it came through the distribution (core/origin-verification.ts).
  const host = headers.host ?? domainName;
  const remoteAddress = event.requestContext.identity?.sourceIp;
  return { connectionId, headers, query, url: `wss://${host}/${stage}${search ? `?${search}` : ''}`, ...(remoteAddress ? { remoteAddress } : {}) };
}

export function toInboundFrame(event: WebSocketEvent): InboundFrame {
  return {
    connectionId: event.requestContext.connectionId,
    body: event.body ?? '',
    binary: event.isBase64Encoded === true,
  };
}
