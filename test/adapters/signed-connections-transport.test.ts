import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, createServer as createHttpsServer } from 'node:https';
import { AddressInfo, connect, Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { refreshingCredentials, SigningCredentials } from '../../lambda/adapters/apigw/refreshing-credentials';
import { executeApiRegion, SignedConnectionsTransport, SignedConnectionsTransportOptions } from '../../lambda/adapters/apigw/signed-connections-transport';
import { ConnectionGoneError, TransientSendError } from '../../lambda/core/errors';
import { Transport } from '../../lambda/core/ports';
import { ANSWERS, FakeConnectionsApi, readBody, ReceivedRequest, verifySigV4 } from '../support/fake-connections-api';

const CREDENTIALS: SigningCredentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret', sessionToken: 'test-session-token' };

function credentialScope(request: ReceivedRequest): string | undefined {
  return /Credential=[^/]+\/\d{8}\/([^/]+\/[^/]+)\//.exec(String(request.headers.authorization))?.[1];
}

const CONNECTION_ID = 'L0SM9cOFvHcCIhw=';
let api: FakeConnectionsApi;
let endpoint: string;
const transports: SignedConnectionsTransport[] = [];

function transportFor(options: Partial<SignedConnectionsTransportOptions> = {}): SignedConnectionsTransport {
  const created = new SignedConnectionsTransport({ callbackUrl: endpoint, region: 'eu-west-1', credentials: async () => CREDENTIALS, ...options });
  transports.push(created);
  return created;
}

beforeEach(async () => {
  api = new FakeConnectionsApi(CREDENTIALS.secretAccessKey);
  endpoint = await api.start();
});

afterEach(async () => {
  transports.splice(0).forEach((each) => each.destroy());
  await api.stop();
});

describe('send', () => {
  test('send: posts the frame as utf8 bytes to the stage path of the connection', async () => {
    api.connections.set(CONNECTION_ID, 'open');
    const frame = '{"identifier":"{\\"channel\\":\\"Turbo::StreamsChannel\\"}","message":"<p>café ✓ 🚀</p>"}';
    await (transportFor() satisfies Transport).send(CONNECTION_ID, frame);
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]).toMatchObject({ method: 'POST', path: `/prod/@connections/${encodeURIComponent(CONNECTION_ID)}` });
    expect(api.requests[0].body.equals(Buffer.from(frame, 'utf8'))).toBe(true);
    expect(api.requests[0].headers).toMatchObject({ 'content-type': 'application/octet-stream', 'content-length': String(Buffer.byteLength(frame, 'utf8')) });
  });

  test.each([
    ['L0SM9cOFvHcCIhw=', '/prod/@connections/L0SM9cOFvHcCIhw%3D'],
    ['a/b+c=', '/prod/@connections/a%2Fb%2Bc%3D'],
    ["id!'()*", '/prod/@connections/id%21%27%28%29%2A'],
  ])('send: connection id %s is one percent-encoded path segment', async (id, path) => {
    api.connections.set(id, 'open');
    await transportFor().send(id, '{"type":"welcome"}');
    expect(api.requests.map((r) => r.path)).toEqual([path]);
    expect(api.requests[0].signature).toBe('valid');
  });

  test('send: frames to one connection arrive in order', async () => {
    api.connections.set(CONNECTION_ID, 'open');
    const transport = transportFor();
    await transport.send(CONNECTION_ID, '{"type":"welcome"}');
    await transport.send(CONNECTION_ID, '{"type":"ping","message":1}');
    expect(api.requests.map((r) => r.body.toString('utf8'))).toEqual(['{"type":"welcome"}', '{"type":"ping","message":1}']);
  });

  test.each([
    ['gone', ConnectionGoneError],
    ['gone-without-error-type', ConnectionGoneError],
    ['throttled', TransientSendError],
    ['limit-exceeded', TransientSendError],
    ['internal', TransientSendError],
    ['unavailable', TransientSendError],
    ['reset', TransientSendError],
  ] as const)('send: an answer "%s" becomes %p for that connection', async (behaviour, type) => {
    api.connections.set(CONNECTION_ID, behaviour);
    const sent = transportFor().send(CONNECTION_ID, '{"type":"welcome"}');
    await expect(sent).rejects.toBeInstanceOf(type);
    await expect(sent).rejects.toMatchObject({ connectionId: CONNECTION_ID });
  });

  test.each([
    ['forbidden', 'ForbiddenException', 403],
    ['payload-too-large', 'PayloadTooLargeException', 413],
  ] as const)('send: an answer "%s" is a final error named %s with status and body', async (behaviour, name, status) => {
    api.connections.set(CONNECTION_ID, behaviour);
    const sent = transportFor().send(CONNECTION_ID, '{"type":"welcome"}');
    await expect(sent).rejects.toMatchObject({ name, status, connectionId: CONNECTION_ID, body: ANSWERS[behaviour][2] });
    await expect(sent).rejects.not.toBeInstanceOf(ConnectionGoneError);
    await expect(sent).rejects.not.toBeInstanceOf(TransientSendError);
  });

  test('send: a status outside the stage path (404 without error type) is a final error', async () => {
    const transport = transportFor({ callbackUrl: endpoint.replace(/\/prod$/, '/other') });
    await expect(transport.send(CONNECTION_ID, '{}')).rejects.toMatchObject({ name: 'ConnectionsApiError', status: 404 });
  });

  test('send: a request without an answer within timeoutMs is transient', async () => {
    api.connections.set(CONNECTION_ID, 'hang');
    const sent = transportFor({ timeoutMs: 100 }).send(CONNECTION_ID, '{}');
    await expect(sent).rejects.toBeInstanceOf(TransientSendError);
    await expect(sent).rejects.toMatchObject({ cause: expect.objectContaining({ code: 'ETIMEDOUT' }) });
  });

  test('send: a refused connection is transient', async () => {
    const transport = transportFor();
    await api.stop();
    await expect(transport.send(CONNECTION_ID, '{}')).rejects.toBeInstanceOf(TransientSendError);
    api = new FakeConnectionsApi(CREDENTIALS.secretAccessKey);
    await api.start();
  });

  test('send: a failing credentials provider fails the send as it failed', async () => {
    const transport = transportFor({ credentials: () => Promise.reject(new Error('no credentials')) });
    await expect(transport.send(CONNECTION_ID, '{}')).rejects.toThrow('no credentials');
    expect(api.requests).toHaveLength(0);
  });
});

describe('close', () => {
  test('close: deletes the connection at its stage path, signed', async () => {
    api.connections.set(CONNECTION_ID, 'open');
    await transportFor().close(CONNECTION_ID);
    expect(api.requests).toEqual([expect.objectContaining({ method: 'DELETE', path: `/prod/@connections/${encodeURIComponent(CONNECTION_ID)}`, signature: 'valid' })]);
    expect(api.requests[0].body).toHaveLength(0);
    expect(api.connections.has(CONNECTION_ID)).toBe(false);
  });

  test.each(['gone', 'gone-without-error-type'] as const)('close: a %s connection is not an error', async (behaviour) => {
    api.connections.set(CONNECTION_ID, behaviour);
    await expect(transportFor().close(CONNECTION_ID)).resolves.toBeUndefined();
    expect(api.requests).toEqual([expect.objectContaining({ method: 'DELETE' })]);
  });

  test.each(['throttled', 'internal', 'reset'] as const)('close: an answer "%s" is transient', async (behaviour) => {
    api.connections.set(CONNECTION_ID, behaviour);
    await expect(transportFor().close(CONNECTION_ID)).rejects.toBeInstanceOf(TransientSendError);
  });

  test('close: other errors propagate', async () => {
    api.connections.set(CONNECTION_ID, 'forbidden');
    await expect(transportFor().close(CONNECTION_ID)).rejects.toMatchObject({ name: 'ForbiddenException', status: 403 });
  });
});

describe('keep-alive', () => {
  test('concurrency: sequential posts reuse one socket', async () => {
    api.connections.set(CONNECTION_ID, 'open');
    const transport = transportFor();
    for (let i = 0; i < 50; i++) await transport.send(CONNECTION_ID, `{"n":${i}}`);
    expect(api.requests).toHaveLength(50);
    expect(api.socketsOpened).toBe(1);
  });

  test('concurrency: concurrent posts open at most `concurrency` sockets, and reuse them', async () => {
    api.connections.set(CONNECTION_ID, 'open');
    const transport = transportFor({ concurrency: 4 });
    await Promise.all(Array.from({ length: 200 }, (_, i) => transport.send(CONNECTION_ID, `{"n":${i}}`)));
    expect(api.requests).toHaveLength(200);
    expect(api.socketsOpened).toBeLessThanOrEqual(4);
    expect(new Set(api.requests.map((r) => r.socket)).size).toBe(api.socketsOpened);
  });

  test('concurrency: an error answer leaves its socket reusable', async () => {
    api.connections.set(CONNECTION_ID, 'forbidden');
    const transport = transportFor();
    for (let i = 0; i < 5; i++) await expect(transport.send(CONNECTION_ID, '{}')).rejects.toMatchObject({ status: 403 });
    api.connections.set('gone-one', 'gone');
    await expect(transport.send('gone-one', '{}')).rejects.toBeInstanceOf(ConnectionGoneError);
    expect(api.socketsOpened).toBe(1);
  });
});

describe('https', () => {
  test('https: an https callback URL is posted to over TLS, signed', async () => {
    const ssl = join(dirname(require.resolve('dynalite/package.json')), 'ssl');
    const received: { path?: string; signature?: boolean } = {};
    const server = createHttpsServer({ key: readFileSync(join(ssl, 'server-key.pem')), cert: readFileSync(join(ssl, 'server-crt.pem')) }, (req, res) => {
      void readBody(req).then((body) => {
        Object.assign(received, { path: req.url, signature: verifySigV4(req.method ?? '', req.url ?? '', req.headers, body, CREDENTIALS.secretAccessKey) });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const callbackUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}/prod`;
      const transport = transportFor({ callbackUrl, agent: new HttpsAgent({ keepAlive: true, rejectUnauthorized: false }) });
      await transport.send(CONNECTION_ID, '{"type":"welcome"}');
      expect(received).toEqual({ path: `/prod/@connections/${encodeURIComponent(CONNECTION_ID)}`, signature: true });
    } finally {
      transports.splice(0).forEach((each) => each.destroy());
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('signing', () => {
  test('signing: every request carries a valid SigV4 signature for execute-api with the session token', async () => {
    api.connections.set(CONNECTION_ID, 'open');
    const transport = transportFor();
    await transport.send(CONNECTION_ID, '{"type":"welcome"}');
    await transport.close(CONNECTION_ID);
    expect(api.requests.map((r) => r.signature)).toEqual(['valid', 'valid']);
    expect(api.requests.map(credentialScope)).toEqual(['eu-west-1/execute-api', 'eu-west-1/execute-api']);
    expect(api.requests[0].headers).toMatchObject({
      'host': new URL(endpoint).host,
      'x-amz-security-token': CREDENTIALS.sessionToken,
      'x-amz-date': expect.stringMatching(/^\d{8}T\d{6}Z$/),
    });
    expect(String(api.requests[0].headers.authorization)).toMatch(/SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token,/);
  });

  test('signing: the verifier accepts the SDK client\'s own signature and rejects another secret', async () => {
    api.connections.set(CONNECTION_ID, 'open');
    const client = new ApiGatewayManagementApiClient({ endpoint, region: 'eu-west-1', credentials: CREDENTIALS });
    await client.send(new PostToConnectionCommand({ ConnectionId: CONNECTION_ID, Data: Buffer.from('{"type":"welcome"}') }));
    client.destroy();
    await transportFor({ credentials: async () => ({ ...CREDENTIALS, secretAccessKey: 'another-secret' }) }).send(CONNECTION_ID, '{"type":"welcome"}');
    expect(api.requests.map((r) => r.signature)).toEqual(['valid', 'invalid']);
  });

  test('signing: without a session token, none is sent', async () => {
    api.connections.set(CONNECTION_ID, 'open');
    await transportFor({ credentials: async () => ({ accessKeyId: 'AKIDTEST', secretAccessKey: CREDENTIALS.secretAccessKey }) }).send(CONNECTION_ID, '{}');
    expect(api.requests[0].signature).toBe('valid');
    expect(api.requests[0].headers['x-amz-security-token']).toBeUndefined();
  });

  test('signing: credentials are resolved once for many posts', async () => {
    api.connections.set(CONNECTION_ID, 'open');
    const provider = jest.fn(async () => CREDENTIALS);
    const transport = transportFor({ credentials: provider });
    await Promise.all(Array.from({ length: 20 }, () => transport.send(CONNECTION_ID, '{}')));
    expect(provider).toHaveBeenCalledTimes(1);
    expect(api.requests.every((r) => r.signature === 'valid')).toBe(true);
  });
});

describe('region', () => {
  test.each([
    ['https://abc123defg.execute-api.eu-west-1.amazonaws.com/production', 'eu-west-1'],
    ['https://abc123defg.execute-api.cn-north-1.amazonaws.com.cn/prod', 'cn-north-1'],
    ['https://abc123defg.execute-api.us-gov-west-1.amazonaws.com', 'us-gov-west-1'],
    ['http://127.0.0.1:3000/prod', undefined],
    ['https://cable.example.com/prod', undefined],
    ['https://abc123defg.execute-api.eu-west-1.amazonaws.com.example.com/prod', undefined],
  ])('region: callback URL %s gives %s', (url, region) => {
    expect(executeApiRegion(url)).toBe(region);
  });

  test('region: required when the callback URL does not name one', () => {
    expect(() => new SignedConnectionsTransport({ callbackUrl: 'http://127.0.0.1:3000/prod', credentials: async () => CREDENTIALS })).toThrow(/^region must be given/);
  });

  test.each([
    [undefined, 'ap-southeast-2/execute-api'],
    ['us-east-1', 'us-east-1/execute-api'],
  ])('region: given %s, requests to an execute-api host are signed for %s', async (region, scope) => {
    api.connections.set(CONNECTION_ID, 'open');
    // An agent that takes the API's host name to the fake server.
    const agent = new HttpAgent({ keepAlive: true });
    const port = Number(new URL(endpoint).port);
    (agent as unknown as { createConnection: () => Socket }).createConnection = () => connect(port, '127.0.0.1');
    const transport = transportFor({ callbackUrl: 'http://abc123defg.execute-api.ap-southeast-2.amazonaws.com/prod', region, agent });
    await transport.send(CONNECTION_ID, '{}');
    expect(api.requests[0].headers.host).toBe('abc123defg.execute-api.ap-southeast-2.amazonaws.com');
    expect(credentialScope(api.requests[0])).toBe(scope);
    expect(api.requests[0].signature).toBe('valid');
  });

  test.each([
    [{ callbackUrl: 'ftp://example.com/prod' }, /^callbackUrl must be an http\(s\) URL/],
    [{ callbackUrl: 'not a url' }, /^callbackUrl must be an http\(s\) URL/],
    [{ concurrency: 0 }, /^concurrency must be a positive integer, got 0/],
    [{ timeoutMs: 0 }, /^timeoutMs must be positive/],
  ])('options: %p is rejected', (options, message) => {
    expect(() => new SignedConnectionsTransport({ callbackUrl: endpoint, region: 'eu-west-1', ...options })).toThrow(message);
  });
});

describe('refreshingCredentials', () => {
  const expiring = (at: number): SigningCredentials => ({ ...CREDENTIALS, expiration: new Date(at) });

  test('refreshingCredentials: credentials without expiration are resolved once', async () => {
    const provider = jest.fn(async () => CREDENTIALS);
    const credentials = refreshingCredentials(provider);
    await Promise.all([credentials(), credentials()]);
    await credentials();
    expect(provider).toHaveBeenCalledTimes(1);
  });

  test('refreshingCredentials: resolved again once within the margin of their expiry', async () => {
    let now = 0;
    const provider = jest.fn(async () => expiring(now + 60 * 60_000));
    const credentials = refreshingCredentials(provider, () => now, 5 * 60_000);
    await credentials();
    now = 54 * 60_000;
    await credentials();
    expect(provider).toHaveBeenCalledTimes(1);
    now = 56 * 60_000;
    expect((await credentials()).expiration).toEqual(new Date(116 * 60_000));
    expect(provider).toHaveBeenCalledTimes(2);
  });

  test('refreshingCredentials: a failed refresh keeps still-valid credentials, and an expired one fails', async () => {
    let now = 0;
    const provider = jest.fn().mockResolvedValueOnce(expiring(10 * 60_000)).mockRejectedValue(new Error('metadata service down'));
    const credentials = refreshingCredentials(provider, () => now, 5 * 60_000);
    await credentials();
    now = 6 * 60_000;
    expect((await credentials()).expiration).toEqual(new Date(10 * 60_000));
    now = 10 * 60_000;
    await expect(credentials()).rejects.toThrow('metadata service down');
  });
});
