import { createHash, createHmac } from 'node:crypto';
import { createServer, IncomingHttpHeaders, IncomingMessage, Server } from 'node:http';
import { AddressInfo, Socket } from 'node:net';

/*
 * A stage's `@connections` API as the transport tests meet it (the SDK client's and the signed
 * one's): API Gateway's answers per connection, every request recorded and its SigV4 checked.
 */

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The Authorization header checked by `verifySigV4` against the fake's secret access key. */
  readonly signature: 'valid' | 'invalid';
  /** Which TCP connection carried it (1, 2, ...). */
  readonly socket: number;
}

/** Connection ids the fake answers for, and how. */
export type Behaviour = 'open' | 'gone' | 'gone-without-error-type' | 'forbidden' | 'payload-too-large' | 'throttled' | 'limit-exceeded' | 'internal' | 'unavailable' | 'reset' | 'hang';

export const ANSWERS: Record<Exclude<Behaviour, 'open' | 'reset' | 'hang'>, [number, string | undefined, string]> = {
  'gone': [410, 'GoneException', '{"message":null}'],
  'gone-without-error-type': [410, undefined, '{"message":"Gone"}'],
  'forbidden': [403, 'ForbiddenException', '{"message":"Forbidden"}'],
  'payload-too-large': [413, 'PayloadTooLargeException', '{"message":"Message too long"}'],
  'throttled': [429, 'ThrottlingException', '{"message":"Rate exceeded"}'],
  'limit-exceeded': [429, 'LimitExceededException', '{"message":"Limit exceeded"}'],
  'internal': [500, 'InternalServerErrorException', '{"message":"Internal server error"}'],
  'unavailable': [503, 'ServiceUnavailableException', '{"message":"Service unavailable"}'],
};

/**
 * A stand-in for a stage's `@connections` API with API Gateway's status codes and error shape
 * (`x-amzn-ErrorType` plus a JSON `message`), which checks every request's SigV4 signature.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html
 */
export class FakeConnectionsApi {
  readonly requests: ReceivedRequest[] = [];
  readonly connections = new Map<string, Behaviour>();
  socketsOpened = 0;
  private readonly sockets = new WeakMap<Socket, number>();
  private readonly server: Server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const path = req.url ?? '';
      const socket = this.sockets.get(req.socket) ?? 0;
      const signature = verifySigV4(req.method ?? '', path, req.headers, body, this.secretAccessKey) ? 'valid' : 'invalid';
      this.requests.push({ method: req.method ?? '', path, headers: req.headers, body, signature, socket });
      const match = /^\/prod\/@connections\/([^/?]+)$/.exec(path);
      const behaviour = match ? this.connections.get(decodeURIComponent(match[1])) ?? 'gone' : undefined;
      if (behaviour === undefined) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      } else if (behaviour === 'reset') {
        req.socket.destroy();
      } else if (behaviour === 'hang') {
        // never answers
      } else if (behaviour !== 'open') {
        const [status, errorType, message] = ANSWERS[behaviour];
        res.writeHead(status, { 'content-type': 'application/json', ...(errorType ? { 'x-amzn-ErrorType': errorType } : {}) }).end(message);
      } else if (req.method === 'POST') {
        res.writeHead(200, { 'content-type': 'application/json' }).end();
      } else if (req.method === 'DELETE') {
        this.connections.delete(decodeURIComponent(match![1]));
        res.writeHead(204).end();
      } else {
        res.writeHead(405).end();
      }
    });
  });

  /** `secretAccessKey`: what every request's signature is checked against. */
  constructor(private readonly secretAccessKey: string) {
    this.server.on('connection', (socket: Socket) => this.sockets.set(socket, ++this.socketsOpened));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/prod`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * SigV4 recomputed from the request as received, written from AWS's specification rather than
 * with the signer under test: canonical request (path segments URI-encoded once more, as for
 * every service but S3), string to sign, derived key, HMAC.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 */
export function verifySigV4(method: string, path: string, headers: IncomingHttpHeaders, body: Buffer, secretAccessKey: string): boolean {
  const auth = /^AWS4-HMAC-SHA256 Credential=[^/]+\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(String(headers.authorization));
  const date = headers['x-amz-date'];
  if (!auth || typeof date !== 'string' || !date.startsWith(auth[1])) return false;
  const [, day, region, service, signedHeaders, signature] = auth;
  if (!signedHeaders.split(';').includes('host') || !signedHeaders.split(';').includes('x-amz-date')) return false;
  const payloadHash = sha256(body);
  if (headers['x-amz-content-sha256'] !== undefined && headers['x-amz-content-sha256'] !== payloadHash) return false;
  const canonicalHeaders = signedHeaders.split(';').map((name) => `${name}:${String(headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonicalPath = path.split('/').map(uriEncode).join('/');
  const canonicalRequest = [method, canonicalPath, '', canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', date, scope, sha256(canonicalRequest)].join('\n');
  let key: Buffer = Buffer.from(`AWS4${secretAccessKey}`, 'utf8');
  for (const part of [day, region, service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return createHmac('sha256', key).update(stringToSign).digest('hex') === signature;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Every byte but A-Z a-z 0-9 - . _ ~ as %XX. */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

