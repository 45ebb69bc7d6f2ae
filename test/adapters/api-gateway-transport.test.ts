import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { ApiGatewayTransport } from '../../lambda/adapters/apigw/api-gateway-transport';
import { ConnectionGoneError } from '../../lambda/core/errors';
import { Transport } from '../../lambda/core/ports';

interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly body: Buffer;
  readonly contentType?: string;
}

/** Connection ids the fake answers for, and how. */
type Behaviour = 'open' | 'gone' | 'gone-without-error-type' | 'forbidden';

/**
 * A stand-in for a stage's `@connections` API with API Gateway's status codes and error shape
 * (`x-amzn-ErrorType` plus a JSON `message`).
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html
 */
class FakeConnectionsApi {
  readonly requests: ReceivedRequest[] = [];
  readonly connections = new Map<string, Behaviour>();
  private readonly server: Server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const path = req.url ?? '';
      this.requests.push({ method: req.method ?? '', path, body, contentType: req.headers['content-type'] });
      const match = /^\/prod\/@connections\/([^/?]+)$/.exec(path);
      const behaviour = match ? this.connections.get(decodeURIComponent(match[1])) ?? 'gone' : undefined;
      if (behaviour === undefined) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      } else if (behaviour === 'gone') {
        res.writeHead(410, { 'content-type': 'application/json', 'x-amzn-ErrorType': 'GoneException' }).end('{"message":null}');
      } else if (behaviour === 'gone-without-error-type') {
        res.writeHead(410, { 'content-type': 'application/json' }).end('{"message":"Gone"}');
      } else if (behaviour === 'forbidden') {
        res.writeHead(403, { 'content-type': 'application/json', 'x-amzn-ErrorType': 'ForbiddenException' }).end('{"message":"Forbidden"}');
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

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/prod`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const CONNECTION_ID = 'L0SM9cOFvHcCIhw=';
let api: FakeConnectionsApi;
let client: ApiGatewayManagementApiClient;
let transport: ApiGatewayTransport;

beforeEach(async () => {
  api = new FakeConnectionsApi();
  const endpoint = await api.start();
  client = new ApiGatewayManagementApiClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  transport = new ApiGatewayTransport(client) satisfies Transport;
});

afterEach(async () => {
  client.destroy();
  await api.stop();
});

describe('send', () => {
  test('send: posts the frame as utf8 bytes to the stage path of the connection', async () => {
    api.connections.set(CONNECTION_ID, 'open');
    const frame = '{"identifier":"{\\"channel\\":\\"Turbo::StreamsChannel\\"}","message":"<p>café ✓ 🚀</p>"}';
    await transport.send(CONNECTION_ID, frame);
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]).toMatchObject({ method: 'POST', path: `/prod/@connections/${encodeURIComponent(CONNECTION_ID)}` });
    expect(api.requests[0].body.equals(Buffer.from(frame, 'utf8'))).toBe(true);
  });

  test('send: frames to one connection arrive in order', async () => {
    api.connections.set(CONNECTION_ID, 'open');
    await transport.send(CONNECTION_ID, '{"type":"welcome"}');
    await transport.send(CONNECTION_ID, '{"type":"ping","message":1}');
    expect(api.requests.map((r) => r.body.toString('utf8'))).toEqual(['{"type":"welcome"}', '{"type":"ping","message":1}']);
  });

  test('send: a 410 GoneException becomes ConnectionGoneError for that connection', async () => {
    api.connections.set(CONNECTION_ID, 'gone');
    const sent = transport.send(CONNECTION_ID, '{"type":"welcome"}');
    await expect(sent).rejects.toBeInstanceOf(ConnectionGoneError);
    await expect(sent).rejects.toMatchObject({ connectionId: CONNECTION_ID });
  });

  test('send: a 410 without an error type is still ConnectionGoneError', async () => {
    api.connections.set(CONNECTION_ID, 'gone-without-error-type');
    await expect(transport.send(CONNECTION_ID, '{"type":"welcome"}')).rejects.toBeInstanceOf(ConnectionGoneError);
  });

  test('send: other errors propagate as the SDK raised them', async () => {
    api.connections.set(CONNECTION_ID, 'forbidden');
    const sent = transport.send(CONNECTION_ID, '{"type":"welcome"}');
    await expect(sent).rejects.toMatchObject({ name: 'ForbiddenException', $metadata: { httpStatusCode: 403 } });
    await expect(sent).rejects.not.toBeInstanceOf(ConnectionGoneError);
  });
});

describe('close', () => {
  test('close: deletes the connection at its stage path', async () => {
    api.connections.set(CONNECTION_ID, 'open');
    await transport.close(CONNECTION_ID);
    expect(api.requests).toEqual([expect.objectContaining({ method: 'DELETE', path: `/prod/@connections/${encodeURIComponent(CONNECTION_ID)}` })]);
    expect(api.connections.has(CONNECTION_ID)).toBe(false);
  });

  test('close: a gone connection is not an error', async () => {
    api.connections.set(CONNECTION_ID, 'gone');
    await expect(transport.close(CONNECTION_ID)).resolves.toBeUndefined();
    expect(api.requests).toEqual([expect.objectContaining({ method: 'DELETE' })]);
  });

  test('close: other errors propagate', async () => {
    api.connections.set(CONNECTION_ID, 'forbidden');
    await expect(transport.close(CONNECTION_ID)).rejects.toMatchObject({ name: 'ForbiddenException' });
  });
});
