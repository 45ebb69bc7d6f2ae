import { readdirSync, readFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import {
  decodeCommandResponse,
  decodeConnectResponse,
  decodeDisconnectResponse,
  encodeCommandRequest,
  encodeConnectRequest,
  encodeDisconnectRequest,
  RpcEnv,
  RpcStatus,
} from '../../lambda/core/rpc-protocol';
import {
  bundleServerlessJs,
  chatChannelIdentifier,
  createChatApp,
  generateToken,
  lambdaRpcHandler,
  loadServerlessJs,
  Misbehavior,
  RecordedRpcCall,
  RunningServerlessApp,
  ServerlessAppOptions,
  startServerlessApp,
} from '../support/anycable-app/serverless-app';

const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'anycable-rpc');
const SECRET = 'rpc-secret';
const SID = 'sid-1';
const ANN = JSON.stringify({ user: 'ann' });
const ROOM_1 = chatChannelIdentifier('1');

const running: RunningServerlessApp[] = [];
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function start(options: ServerlessAppOptions = {}): Promise<RunningServerlessApp> {
  const app = await startServerlessApp(options);
  running.push(app);
  return app;
}

interface Answer {
  readonly status: number;
  readonly text: string;
}

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-anycable-meta-sid': SID, 'x-anycable-meta-protov': 'v1', ...headers },
    body,
  });
  return { status: response.status, text: await response.text() };
}

function env(url = 'http://cable.test/cable?user=ann', extra: Partial<RpcEnv> = {}): RpcEnv {
  return { url, headers: { REMOTE_ADDR: '192.0.2.1', cookie: '' }, ...extra };
}

function command(identifier: string, name: 'subscribe' | 'unsubscribe' | 'message', data?: object, extra: Partial<RpcEnv> = {}): string {
  return encodeCommandRequest({
    command: name,
    identifier,
    connectionIdentifiers: ANN,
    ...(data ? { data: JSON.stringify(data) } : {}),
    env: env(undefined, extra),
  });
}

/** A stand-in for the cable server's `POST /_broadcast`, recording what the library's broadcaster sends. */
async function broadcastEndpoint(): Promise<{ url: string; requests: { headers: Record<string, unknown>; body: string }[] }> {
  const requests: { headers: Record<string, unknown>; body: string }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(201).end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/_broadcast`, requests };
}

function functionUrlEvent(rawPath: string, body: string, headers: Record<string, string>, isBase64Encoded = false): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', 'host': 'abc.lambda-url.us-east-1.on.aws', ...headers },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abc',
      domainName: 'abc.lambda-url.us-east-1.on.aws',
      domainPrefix: 'abc',
      http: { method: 'POST', path: rawPath, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'Go-http-client/1.1' },
      requestId: 'request-1',
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 0,
    },
    body: isBase64Encoded ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded,
  };
}

describe('bundleServerlessJs', () => {
  test('bundle: one CommonJS file outside the repository, built once per process', () => {
    const path = bundleServerlessJs();
    expect(path.startsWith(tmpdir())).toBe(true);
    expect(relative(ROOT, path).startsWith('..')).toBe(true);
    expect(bundleServerlessJs()).toBe(path);
    expect(readFileSync(path, 'utf8')).toMatch(/jwtVerify/);
  });

  test('exports: 0.1.0 has the RPC handlers, Application, Channel, broadcaster and identificator, no signer', () => {
    const lib = loadServerlessJs() as unknown as Record<string, unknown>;
    for (const name of ['Application', 'Channel', 'ChannelHandle', 'ConnectionHandle', 'handler', 'broadcaster', 'identificator', 'Status']) {
      expect(lib[name]).toBeDefined();
    }
    expect(lib.signer).toBeUndefined();
  });
});

describe('connect', () => {
  test('?user=ann: SUCCESS, identifiers {"user":"ann"}, a welcome with the sid header, cstate connected_via', async () => {
    const app = await start();
    const answer = await post(`${app.url}/connect`, encodeConnectRequest({ env: env() }));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({
      status: RpcStatus.SUCCESS,
      identifiers: ANN,
      transmissions: [JSON.stringify({ type: 'welcome', sid: SID })],
      error_msg: '',
      env: { cstate: { connected_via: 'query' } },
    });
    expect(decodeConnectResponse(answer.text)).toMatchObject({ status: RpcStatus.SUCCESS, identifiers: ANN });
  });

  test('cookie user=bob: identified from the cookie header', async () => {
    const app = await start();
    const body = encodeConnectRequest({ env: { url: 'http://cable.test/cable', headers: { REMOTE_ADDR: '192.0.2.1', cookie: 'a=1; user=bob' } } });
    const response = decodeConnectResponse((await post(`${app.url}/connect`, body)).text);
    expect(response).toMatchObject({ status: RpcStatus.SUCCESS, identifiers: JSON.stringify({ user: 'bob' }), env: { cstate: { connected_via: 'cookie' } } });
  });

  test.each(['http://cable.test/cable?user=reject', 'http://cable.test/cable'])('%s: FAILURE with a disconnect unauthorized transmission', async (url) => {
    const app = await start();
    const answer = await post(`${app.url}/connect`, encodeConnectRequest({ env: env(url) }));
    expect(JSON.parse(answer.text)).toEqual({
      status: RpcStatus.FAILURE,
      identifiers: '',
      transmissions: [JSON.stringify({ type: 'disconnect', reason: 'unauthorized' })],
      error_msg: 'Auth failed',
      env: {},
    });
  });

  test('no sid header: the library welcomes with "sid":null', async () => {
    const app = await start();
    const response = await fetch(`${app.url}/connect`, { method: 'POST', body: encodeConnectRequest({ env: env() }) });
    expect(decodeConnectResponse(await response.text()).transmissions).toEqual([JSON.stringify({ type: 'welcome', sid: null })]);
  });

  test('?user=boom: the app throws, the endpoint answers 500', async () => {
    const app = await start();
    const answer = await post(`${app.url}/connect`, encodeConnectRequest({ env: env('http://cable.test/cable?user=boom') }));
    expect(answer).toEqual({ status: 500, text: expect.stringMatching(/boom/) });
  });

  test('errors status_error: a throw is a 200 with status 0 and "Server error", as the README handlers answer', async () => {
    const app = await start({ errors: 'status_error' });
    const answer = await post(`${app.url}/connect`, encodeConnectRequest({ env: env('http://cable.test/cable?user=boom') }));
    expect(answer.status).toBe(200);
    expect(decodeConnectResponse(answer.text)).toMatchObject({ status: RpcStatus.ERROR, errorMsg: 'Server error' });
  });
});

describe('command', () => {
  test('subscribe room 1: SUCCESS, confirm_subscription, streams ["room:1"]', async () => {
    const app = await start();
    const answer = await post(`${app.url}/command`, command(ROOM_1, 'subscribe'));
    expect(JSON.parse(answer.text)).toEqual({
      status: RpcStatus.SUCCESS,
      disconnect: false,
      stop_streams: false,
      transmissions: [JSON.stringify({ identifier: ROOM_1, type: 'confirm_subscription' })],
      streams: ['room:1'],
      stopped_streams: [],
      env: {},
      error_msg: '',
    });
    expect(decodeCommandResponse(answer.text)).toMatchObject({ status: RpcStatus.SUCCESS, streams: ['room:1'] });
  });

  test.each([chatChannelIdentifier('secret'), chatChannelIdentifier()])('subscribe %s: FAILURE with reject_subscription, no streams', async (identifier) => {
    const app = await start();
    const response = decodeCommandResponse((await post(`${app.url}/command`, command(identifier, 'subscribe'))).text);
    expect(response).toMatchObject({
      status: RpcStatus.FAILURE,
      streams: [],
      transmissions: [JSON.stringify({ identifier, type: 'reject_subscription' })],
    });
  });

  test('speak: broadcasts {user, body} to room:1 through the library broadcaster, acks the sender only', async () => {
    const endpoint = await broadcastEndpoint();
    const app = await start({ broadcastUrl: endpoint.url, broadcastKey: 'broadcast-key' });
    const response = decodeCommandResponse((await post(`${app.url}/command`, command(ROOM_1, 'message', { action: 'speak', body: 'hi' }))).text);
    expect(response).toMatchObject({
      status: RpcStatus.SUCCESS,
      transmissions: [JSON.stringify({ identifier: ROOM_1, message: { ack: 'hi' } })],
      streams: [],
    });
    expect(endpoint.requests).toEqual([{
      headers: expect.objectContaining({ 'authorization': 'Bearer broadcast-key', 'content-type': 'application/json' }),
      body: JSON.stringify({ stream: 'room:1', data: JSON.stringify({ user: 'ann', body: 'hi' }) }),
    }]);
  });

  test('leave: stopped_streams ["room:1"]', async () => {
    const app = await start();
    const response = decodeCommandResponse((await post(`${app.url}/command`, command(ROOM_1, 'message', { action: 'leave' }))).text);
    expect(response).toMatchObject({ status: RpcStatus.SUCCESS, stoppedStreams: ['room:1'], stopStreams: false, transmissions: [] });
  });

  test('whoami: the identifiers decoded from connection_identifiers', async () => {
    const app = await start();
    const response = decodeCommandResponse((await post(`${app.url}/command`, command(ROOM_1, 'message', { action: 'whoami' }))).text);
    expect(response.transmissions).toEqual([JSON.stringify({ identifier: ROOM_1, message: { identifiers: { user: 'ann' } } })]);
  });

  test('fail: the action throws, the endpoint answers 500', async () => {
    const app = await start();
    expect((await post(`${app.url}/command`, command(ROOM_1, 'message', { action: 'fail' }))).status).toBe(500);
  });

  test('unsubscribe: SUCCESS and nothing else (stop_streams false: the cable server stops the streams itself)', async () => {
    const app = await start();
    const response = decodeCommandResponse((await post(`${app.url}/command`, command(ROOM_1, 'unsubscribe'))).text);
    expect(response).toMatchObject({ status: RpcStatus.SUCCESS, stopStreams: false, streams: [], stoppedStreams: [], transmissions: [] });
  });

  test('cstate: the request\'s cstate comes back whole in env.cstate', async () => {
    const app = await start();
    const body = command(ROOM_1, 'message', { action: 'whoami' }, { cstate: { connected_via: 'query' } });
    expect(decodeCommandResponse((await post(`${app.url}/command`, body)).text).env).toEqual({ cstate: { connected_via: 'query' } });
  });

  test('istate: 0.1.0 keys channel state by identifier, JSON-encoded, in commands too', async () => {
    const app = await start();
    const first = decodeCommandResponse((await post(`${app.url}/command`, command(ROOM_1, 'message', { action: 'count' }))).text);
    expect(first.env).toEqual({ istate: { [ROOM_1]: JSON.stringify({ count: 1 }) } });
    // Fed back as it answered, the state is read...
    const again = decodeCommandResponse((await post(`${app.url}/command`, command(ROOM_1, 'message', { action: 'count' }, first.env))).text);
    expect(again.transmissions).toEqual([JSON.stringify({ identifier: ROOM_1, message: { count: 2 } })]);
    // ...but the channel's own flat map, as anycable-go sends it in a command, is not.
    const flat = decodeCommandResponse((await post(`${app.url}/command`, command(ROOM_1, 'message', { action: 'count' }, { istate: { count: '1' } }))).text);
    expect(flat.transmissions).toEqual([JSON.stringify({ identifier: ROOM_1, message: { count: 1 } })]);
  });
});

describe('disconnect', () => {
  test('subscriptions and istate: SUCCESS', async () => {
    const app = await start();
    const body = encodeDisconnectRequest({
      identifiers: ANN,
      subscriptions: [ROOM_1],
      env: env(undefined, { istate: { [ROOM_1]: JSON.stringify({ count: 1 }) } }),
    });
    const answer = await post(`${app.url}/disconnect`, body);
    expect(JSON.parse(answer.text)).toEqual({ status: RpcStatus.SUCCESS, error_msg: '' });
    expect(decodeDisconnectResponse(answer.text).status).toBe(RpcStatus.SUCCESS);
  });
});

describe('HTTP endpoint', () => {
  test('url: http://127.0.0.1:<port> and the mount path', async () => {
    expect((await start()).url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/_anycable$/);
    expect((await start({ mountPath: '/rpc/' })).url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/rpc$/);
  });

  test.each([
    ['none', {}],
    ['wrong', { authorization: 'Bearer nope' }],
    ['not Bearer', { authorization: SECRET }],
  ])('rpcSecret: %s Authorization is 401 Unauthorized', async (_name, headers) => {
    const app = await start({ rpcSecret: SECRET });
    expect(await post(`${app.url}/connect`, encodeConnectRequest({ env: env() }), headers)).toEqual({ status: 401, text: 'Unauthorized' });
  });

  test('rpcSecret: Bearer <secret> is answered', async () => {
    const app = await start({ rpcSecret: SECRET });
    const answer = await post(`${app.url}/connect`, encodeConnectRequest({ env: env() }), { authorization: `Bearer ${SECRET}` });
    expect(decodeConnectResponse(answer.text).status).toBe(RpcStatus.SUCCESS);
  });

  test('routing: GET, an unknown method and a path outside the mount are 404, an empty body 422', async () => {
    const app = await start();
    expect((await fetch(`${app.url}/connect`)).status).toBe(404);
    expect((await post(`${app.url}/subscribe`, '{}')).status).toBe(404);
    expect((await post(app.url.replace('/_anycable', '/connect'), '{}')).status).toBe(404);
    expect(await post(`${app.url}/connect`, '')).toEqual({ status: 422, text: 'Empty request body' });
  });

  test('calls: every request with its lower-cased headers, parsed body and answer', async () => {
    const app = await start({ rpcSecret: SECRET });
    const body = encodeConnectRequest({ env: env() });
    await post(`${app.url}/connect`, body, { Authorization: `Bearer ${SECRET}` });
    expect(app.calls).toEqual<RecordedRpcCall[]>([{
      method: 'POST',
      path: '/_anycable/connect',
      rpcMethod: 'connect',
      headers: expect.objectContaining({ 'authorization': `Bearer ${SECRET}`, 'x-anycable-meta-sid': SID, 'x-anycable-meta-protov': 'v1' }),
      body: JSON.parse(body),
      status: 200,
      responseBody: expect.any(String),
      response: expect.objectContaining({ status: RpcStatus.SUCCESS, identifiers: ANN }),
    }]);
  });
});

describe('misbehave', () => {
  test.each<[Misbehavior, Answer]>([
    ['http_500', { status: 500, text: 'Internal Server Error' }],
    ['malformed_json', { status: 200, text: '{"status":1,' }],
    ['wrong_types', { status: 200, text: '{"status":"SUCCESS"}' }],
  ])('%s: answers every call so until normal', async (mode, expected) => {
    const app = await start();
    app.misbehave(mode);
    expect(await post(`${app.url}/connect`, encodeConnectRequest({ env: env() }))).toEqual(expected);
    expect(await post(`${app.url}/command`, command(ROOM_1, 'subscribe'))).toEqual(expected);
    app.misbehave('normal');
    expect(decodeConnectResponse((await post(`${app.url}/connect`, encodeConnectRequest({ env: env() }))).text).status).toBe(RpcStatus.SUCCESS);
  });

  test('hang: the call is received and never answered; close() drops it', async () => {
    const app = await start();
    app.misbehave('hang');
    const pending = post(`${app.url}/connect`, encodeConnectRequest({ env: env() }));
    await app.waitForCalls(1);
    await app.close();
    await expect(pending).rejects.toThrow();
    expect(app.calls).toHaveLength(1);
    expect(app.calls[0]).toMatchObject({ rpcMethod: 'connect', body: { env: expect.any(Object) } });
    expect(app.calls[0].status).toBeUndefined();
  });
});

describe('lambdaRpcHandler', () => {
  test('payload 2.0: the same answer as the HTTP endpoint for the same connect', async () => {
    const app = await start();
    const body = encodeConnectRequest({ env: env() });
    const http = await post(`${app.url}/connect`, body);
    const handler = lambdaRpcHandler(createChatApp());
    const result = await handler(functionUrlEvent('/_anycable/connect', body, { 'x-anycable-meta-sid': SID }));
    expect(result).toEqual({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: http.text, isBase64Encoded: false });
  });

  test('isBase64Encoded: the body is decoded before the app reads it', async () => {
    const handler = lambdaRpcHandler(createChatApp());
    const result = await handler(functionUrlEvent('/_anycable/command', command(ROOM_1, 'subscribe'), { 'x-anycable-meta-sid': SID }, true));
    expect(decodeCommandResponse(result.body ?? '')).toMatchObject({ status: RpcStatus.SUCCESS, streams: ['room:1'] });
  });

  test('rpcSecret, mountPath and calls: checked, routed and recorded as over HTTP', async () => {
    const calls: RecordedRpcCall[] = [];
    const handler = lambdaRpcHandler(createChatApp(), { rpcSecret: SECRET, mountPath: '', calls });
    const body = encodeConnectRequest({ env: env() });
    expect(await handler(functionUrlEvent('/connect', body, {}))).toMatchObject({ statusCode: 401, body: 'Unauthorized' });
    expect(await handler(functionUrlEvent('/connect', body, { Authorization: `Bearer ${SECRET}` }))).toMatchObject({ statusCode: 200 });
    expect(calls.map((call) => [call.rpcMethod, call.status])).toEqual([['connect', 401], ['connect', 200]]);
  });
});

describe('generateToken', () => {
  test('identificator: HS256, identifiers JSON in ext, verified by the library', async () => {
    const token = await generateToken('jwt-secret', { user: 'ann' }, 60);
    const [header, payload] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
    expect(header).toEqual({ alg: 'HS256' });
    expect(payload).toEqual({ ext: ANN, iat: expect.any(Number), exp: payload.iat + 60 });
    await expect(loadServerlessJs().identificator('jwt-secret', '1h').verifyAndFetch(token)).resolves.toEqual({ user: 'ann' });
  });

  test('ttl: negative is already expired', async () => {
    const token = await generateToken('jwt-secret', { user: 'ann' }, -60);
    await expect(loadServerlessJs().identificator('jwt-secret', '1h').verifyAndFetch(token)).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
  });
});

describe('fixtures', () => {
  const files = readdirSync(FIXTURES).filter((file) => file.endsWith('.json'));

  test('files: the replayed exchanges are all there', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
  });

  test.each(files)('%s: source with a commit, method, request and response', (file) => {
    const fixture = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as Record<string, unknown>;
    expect(fixture).toEqual(expect.objectContaining({
      source: expect.stringMatching(/@[0-9a-f]{40} /),
      method: expect.stringMatching(/^(connect|command|disconnect)$/),
      request: expect.objectContaining({ env: expect.objectContaining({ url: expect.any(String) }) }),
      response: expect.any(Object),
    }));
    expect(file.startsWith(fixture.method as string)).toBe(true);
    const body = JSON.stringify(fixture.response);
    const decode = { connect: decodeConnectResponse, command: decodeCommandResponse, disconnect: decodeDisconnectResponse }[fixture.method as 'connect'];
    expect(() => decode(body)).not.toThrow();
  });
});
