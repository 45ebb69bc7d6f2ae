// jose 4 arrives with @anycable/serverless-js (a devDependency); until .projenrc.ts lists it, the rule cannot see it.
// eslint-disable-next-line import/no-extraneous-dependencies
import * as jose from 'jose';
import { makeRpcWorld, RPC_FAILURE_REASONS, rpcError, RpcAnswer, RpcWorld } from './rpc-support';
import { CONNECTION_ID, expectValidFrames, LogEntry, SECRET, START_MS } from './support';
import { CableSettings } from '../../lambda/core/config';
import { connect, ConnectResult } from '../../lambda/core/connect';
import { ConnectionRecord, DeliveryRequest } from '../../lambda/core/ports';
import { ConnectRequest } from '../../lambda/core/request';

const URL = 'wss://cable.example.com/prod?room=1';
/** What the app is told: anycable-go's http(s) form of the upgrade URL. */
const APP_URL = 'https://cable.example.com/prod?room=1';
const REMOTE_ADDRESS = '198.51.100.7';
const COOKIE = 'user_id=42;_session=abc;theme=dark';
const IDENTIFIERS = JSON.stringify({ current_user: 'Z2lkOi8vYXBwL1VzZXIvNDI' });
const DEADLINE = START_MS + 10_000;
const NOW_SECONDS = Math.floor(START_MS / 1000);

const ACCEPT: ConnectResult = { kind: 'accept', subprotocol: 'actioncable-v1-json' };
const REFUSE_500 = { kind: 'refuse', status: 500, reason: expect.any(String) };

/** Frames as the app (anycable-rails) writes them: passed on verbatim, so compared as strings. */
const APP_WELCOME = `{"type":"welcome","sid":"${CONNECTION_ID}"}`;
const APP_UNAUTHORIZED = '{"type":"disconnect","reason":"unauthorized","reconnect":false}';
const APP_NOTICE = '{"type":"notice","message":"please log in"}';
/** Frames cdk-cable writes itself, in the exact text anycable-go writes (identity/identity.go, node/node.go). */
const JWT_WELCOME = `{"type":"welcome","sid":"${CONNECTION_ID}"}`;
const ANONYMOUS_WELCOME = '{"type":"welcome"}';
const UNAUTHORIZED = '{"type":"disconnect","reason":"unauthorized","reconnect":false}';
const TOKEN_EXPIRED = '{"type":"disconnect","reason":"token_expired","reconnect":false}';

function request(overrides: Partial<ConnectRequest> = {}): ConnectRequest {
  return {
    connectionId: CONNECTION_ID,
    headers: {
      'sec-websocket-protocol': 'actioncable-v1-json',
      'cookie': COOKIE,
      'origin': 'https://app.example.com',
      'user-agent': 'Mozilla/5.0',
      'x-api-token': 'tok-1',
    },
    query: {},
    url: URL,
    remoteAddress: REMOTE_ADDRESS,
    ...overrides,
  };
}

/** A token as anycable-rails' `AnyCable::JWT.encode` makes one: identifiers in `ext`. */
function token(claims: jose.JWTPayload, secret = SECRET): Promise<string> {
  return new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
}

function validToken(): Promise<string> {
  return token({ ext: IDENTIFIERS, exp: NOW_SECONDS + 3600 });
}

interface Outcome {
  readonly world: RpcWorld;
  readonly result: ConnectResult;
}

async function connectWith(
  { settings = { secret: SECRET }, withRpc = true, answers = [], req = request() }:
  { settings?: CableSettings; withRpc?: boolean; answers?: RpcAnswer[]; req?: ConnectRequest },
): Promise<Outcome> {
  const world = makeRpcWorld(settings);
  world.peer.answer(...answers);
  const { rpc, ...deps } = world;
  const result = await connect(withRpc ? { ...deps, rpc } : deps, req);
  for (const delivery of world.delivery.requests) expectValidFrames(delivery.frames);
  expect(world.peer.pending).toBe(0);
  return { world, result };
}

function stored(world: RpcWorld): ConnectionRecord | undefined {
  return world.connections.records.get(CONNECTION_ID);
}

/** Let in to be told why, then closed; nothing recorded. */
function expectRejected(world: RpcWorld, result: ConnectResult, frames: string[]): void {
  expect(result).toEqual(ACCEPT);
  expect(world.connections.records.size).toBe(0);
  expect(world.delivery.requests).toEqual<DeliveryRequest[]>([{ connectionId: CONNECTION_ID, frames, deadline: DEADLINE, close: true }]);
}

function expectRefused(world: RpcWorld, result: ConnectResult): void {
  expect(result).toEqual(REFUSE_500);
  expect(world.connections.records.size).toBe(0);
  expect(world.delivery.requests).toEqual([]);
}

describe('RPC connect', () => {
  test('rpc: SUCCESS stores identifiers, cstate, remoteAddress and no channels, and delivers the app\'s frames verbatim', async () => {
    const answer = {
      status: 1,
      identifiers: IDENTIFIERS,
      transmissions: [APP_WELCOME, APP_NOTICE],
      env: { cstate: { token: '"abc"', locale: 'en' } },
    };
    const { world, result } = await connectWith({ answers: [answer] });

    expect(result).toEqual(ACCEPT);
    expect(stored(world)).toEqual(expect.objectContaining({
      connectionId: CONNECTION_ID,
      identifiers: IDENTIFIERS,
      cstate: { token: '"abc"', locale: 'en' },
      remoteAddress: REMOTE_ADDRESS,
      url: URL,
      channels: {},
    }));
    expect(world.delivery.requests).toHaveLength(1);
    const [delivery] = world.delivery.requests;
    expect(delivery).toEqual({ connectionId: CONNECTION_ID, frames: [APP_WELCOME, APP_NOTICE], deadline: DEADLINE });
    expect(delivery.close).toBeFalsy();
  });

  test('rpc: SUCCESS drops cstate keys whose value is empty (an empty value deletes)', async () => {
    const answer = { status: 1, identifiers: IDENTIFIERS, transmissions: [APP_WELCOME], env: { cstate: { token: '"abc"', gone: '' } } };
    const { world } = await connectWith({ answers: [answer] });
    expect(stored(world)?.cstate).toEqual({ token: '"abc"' });
  });

  test('rpc: SUCCESS without env stores an empty cstate', async () => {
    const { world } = await connectWith({ answers: [{ status: 1, identifiers: IDENTIFIERS, transmissions: [APP_WELCOME] }] });
    expect(stored(world)).toEqual(expect.objectContaining({ identifiers: IDENTIFIERS, cstate: {}, channels: {} }));
  });

  test.each<{ name: string; settings?: CableSettings; req?: Partial<ConnectRequest>; env: unknown }>([
    {
      name: 'rpc: the connect body has env.url and, by default, only the cookie header plus REMOTE_ADDR',
      env: { url: APP_URL, headers: { cookie: COOKIE, REMOTE_ADDR: REMOTE_ADDRESS } },
    },
    {
      name: 'rpc: without a remote address there is no REMOTE_ADDR',
      req: { remoteAddress: undefined },
      env: { url: APP_URL, headers: { cookie: COOKIE } },
    },
    {
      name: 'rpc: without a cookie the headers hold REMOTE_ADDR only',
      req: { headers: { 'sec-websocket-protocol': 'actioncable-v1-json', 'origin': 'https://app.example.com' } },
      env: { url: APP_URL, headers: { REMOTE_ADDR: REMOTE_ADDRESS } },
    },
    {
      name: 'rpc: without a url env.url is empty',
      req: { url: undefined, remoteAddress: undefined },
      env: { url: '', headers: { cookie: COOKIE } },
    },
    {
      name: 'rpcHeaders: the listed headers are passed, lower-cased, and no others',
      settings: { secret: SECRET, rpcHeaders: ['Cookie', 'X-Api-Token', 'X-Absent'] },
      env: { url: APP_URL, headers: { 'cookie': COOKIE, 'x-api-token': 'tok-1', 'REMOTE_ADDR': REMOTE_ADDRESS } },
    },
    {
      name: 'rpcCookies: only the listed cookies are passed, each followed by ";"',
      settings: { secret: SECRET, rpcCookies: ['user_id', 'theme'] },
      env: { url: APP_URL, headers: { cookie: 'user_id=42;theme=dark;', REMOTE_ADDR: REMOTE_ADDRESS } },
    },
    {
      name: 'rpcCookies: a cookie after "; " keeps its leading space and is not matched, as parseCookies does',
      settings: { secret: SECRET, rpcCookies: ['user_id', 'theme'] },
      req: { headers: { 'sec-websocket-protocol': 'actioncable-v1-json', 'cookie': 'user_id=42; theme=dark' } },
      env: { url: APP_URL, headers: { cookie: 'user_id=42;', REMOTE_ADDR: REMOTE_ADDRESS } },
    },
    {
      name: 'rpcCookies: a cookie whose value holds "=" is not matched, as parseCookies does',
      settings: { secret: SECRET, rpcCookies: ['user_id', 'blob'] },
      req: { headers: { 'sec-websocket-protocol': 'actioncable-v1-json', 'cookie': 'blob=YQ==;user_id=42' } },
      env: { url: APP_URL, headers: { cookie: 'user_id=42;', REMOTE_ADDR: REMOTE_ADDRESS } },
    },
    {
      name: 'rpcCookies: when no listed cookie is present the cookie header is left out',
      settings: { secret: SECRET, rpcCookies: ['remember_token'] },
      env: { url: APP_URL, headers: { REMOTE_ADDR: REMOTE_ADDRESS } },
    },
  ])('$name', async ({ settings, req, env }) => {
    const answer = { status: 1, identifiers: IDENTIFIERS, transmissions: [APP_WELCOME] };
    const { world, result } = await connectWith({ settings, answers: [answer], req: request(req) });

    expect(result).toEqual(ACCEPT);
    expect(world.peer.calls).toEqual([{ method: 'connect', sid: CONNECTION_ID, body: { env } }]);
  });

  test.each<{ name: string; transmissions: string[]; frames: string[] }>([
    {
      name: 'rpc: FAILURE with a disconnect lets the client in, delivers exactly the app\'s frames and closes',
      transmissions: [APP_UNAUTHORIZED],
      frames: [APP_UNAUTHORIZED],
    },
    {
      name: 'rpc: FAILURE with a disconnect among other frames delivers them all in order, adding nothing',
      transmissions: [APP_NOTICE, APP_UNAUTHORIZED],
      frames: [APP_NOTICE, APP_UNAUTHORIZED],
    },
    {
      name: 'rpc: FAILURE without a disconnect appends unauthorized without reconnect',
      transmissions: [APP_NOTICE],
      frames: [APP_NOTICE, UNAUTHORIZED],
    },
    {
      name: 'rpc: FAILURE without transmissions sends unauthorized without reconnect',
      transmissions: [],
      frames: [UNAUTHORIZED],
    },
  ])('$name', async ({ transmissions, frames }) => {
    const { world, result } = await connectWith({ answers: [{ status: 2, transmissions, error_msg: 'no user' }] });
    expect(world.peer.calls).toHaveLength(1);
    expectRejected(world, result, frames);
  });

  test.each<{ name: string; answer: RpcAnswer }>([
    { name: 'rpc: ERROR (status 0) refuses 500', answer: { status: 0, error_msg: 'boom' } },
    { name: 'rpc: an answer without status (anycable-rb\'s ERROR) refuses 500', answer: { error_msg: 'boom' } },
    { name: 'rpc: an answer that is not JSON refuses 500', answer: '<html>502 Bad Gateway</html>' },
    { name: 'rpc: an answer with a string status refuses 500', answer: { status: 'SUCCESS', identifiers: IDENTIFIERS } },
    ...RPC_FAILURE_REASONS.map((reason) => ({ name: `rpc: a call failing with ${reason} refuses 500`, answer: rpcError(reason) })),
  ])('$name', async ({ answer }) => {
    const { world, result } = await connectWith({ answers: [answer] });
    expect(world.peer.calls).toHaveLength(1);
    expectRefused(world, result);
    expect(world.logger.at('error')).toHaveLength(1);
  });
});

describe('JWT identification at connect', () => {
  test('jwt: a valid ?jid= identifies without any RPC call, with the welcome carrying the sid', async () => {
    const { world, result } = await connectWith({ req: request({ query: { jid: await validToken() } }) });

    expect(result).toEqual(ACCEPT);
    expect(world.peer.calls).toEqual([]);
    expect(stored(world)).toEqual(expect.objectContaining({ identifiers: IDENTIFIERS, cstate: {}, channels: {}, remoteAddress: REMOTE_ADDRESS }));
    expect(world.delivery.requests).toEqual([{ connectionId: CONNECTION_ID, frames: [JWT_WELCOME], deadline: DEADLINE }]);
  });

  test('jwt: a valid token in the x-jid header identifies without any RPC call', async () => {
    const req = request();
    const { world, result } = await connectWith({ req: { ...req, headers: { ...req.headers, 'x-jid': await validToken() } } });
    expect(result).toEqual(ACCEPT);
    expect(world.peer.calls).toEqual([]);
    expect(stored(world)?.identifiers).toBe(IDENTIFIERS);
  });

  test('jwt: a valid token offered as an anycable-token. subprotocol identifies without any RPC call', async () => {
    const req = request();
    const headers = { ...req.headers, 'sec-websocket-protocol': `actioncable-v1-json, anycable-token.${await validToken()}` };
    const { world, result } = await connectWith({ req: { ...req, headers } });
    expect(result).toEqual(ACCEPT);
    expect(world.peer.calls).toEqual([]);
    expect(stored(world)?.identifiers).toBe(IDENTIFIERS);
  });

  test('jwt: a valid token without RPC configured identifies too', async () => {
    const { world, result } = await connectWith({ withRpc: false, req: request({ query: { jid: await validToken() } }) });
    expect(result).toEqual(ACCEPT);
    expect(stored(world)?.identifiers).toBe(IDENTIFIERS);
    expect(world.delivery.requests.map((d) => d.frames)).toEqual([[JWT_WELCOME]]);
  });

  test('jwtParam: the token is read from the configured query parameter', async () => {
    const { world, result } = await connectWith({
      settings: { secret: SECRET, jwtParam: 'token' },
      req: request({ query: { token: await validToken() } }),
    });
    expect(result).toEqual(ACCEPT);
    expect(world.peer.calls).toEqual([]);
    expect(stored(world)?.identifiers).toBe(IDENTIFIERS);
  });

  test('jwtSecret: a token signed with jwtSecret (not secret) identifies', async () => {
    const jid = await token({ ext: IDENTIFIERS, exp: NOW_SECONDS + 60 }, 'the-jwt-secret');
    const { world, result } = await connectWith({ settings: { secret: SECRET, jwtSecret: 'the-jwt-secret' }, req: request({ query: { jid } }) });
    expect(result).toEqual(ACCEPT);
    expect(stored(world)?.identifiers).toBe(IDENTIFIERS);
  });

  test.each<{ name: string; claims: jose.JWTPayload; secret?: string; frame: string }>([
    { name: 'jwt: an expired token is let in, told token_expired and closed, without any RPC call', claims: { ext: IDENTIFIERS, exp: NOW_SECONDS - 1 }, frame: TOKEN_EXPIRED },
    { name: 'jwt: a token expiring this very second is expired', claims: { ext: IDENTIFIERS, exp: NOW_SECONDS }, frame: TOKEN_EXPIRED },
    { name: 'jwt: a token signed with another secret is unauthorized, without any RPC call', claims: { ext: IDENTIFIERS, exp: NOW_SECONDS + 3600 }, secret: 'another-secret', frame: UNAUTHORIZED },
    { name: 'jwt: a forged expired token is unauthorized, not token_expired', claims: { ext: IDENTIFIERS, exp: NOW_SECONDS - 1 }, secret: 'another-secret', frame: UNAUTHORIZED },
    { name: 'jwt: a token not valid yet (nbf) is unauthorized', claims: { ext: IDENTIFIERS, nbf: NOW_SECONDS + 60 }, frame: UNAUTHORIZED },
  ])('$name', async ({ claims, secret, frame }) => {
    const { world, result } = await connectWith({ req: request({ query: { jid: await token(claims, secret) } }) });
    expect(world.peer.calls).toEqual([]);
    expectRejected(world, result, [frame]);
  });

  test('jwt: a token that is not a JWT is unauthorized, without any RPC call', async () => {
    const { world, result } = await connectWith({ req: request({ query: { jid: 'not-a-jwt' } }) });
    expect(world.peer.calls).toEqual([]);
    expectRejected(world, result, [UNAUTHORIZED]);
  });

  test('jwt: a valid token without ext refuses 500, without any RPC call', async () => {
    const { world, result } = await connectWith({ req: request({ query: { jid: await token({ exp: NOW_SECONDS + 60 }) } }) });
    expect(world.peer.calls).toEqual([]);
    expectRefused(world, result);
  });

  test('jwt: no token with RPC configured falls through to RPC connect', async () => {
    const answer = { status: 1, identifiers: IDENTIFIERS, transmissions: [APP_WELCOME] };
    const { world, result } = await connectWith({ answers: [answer] });
    expect(result).toEqual(ACCEPT);
    expect(world.peer.calls.map((call) => call.method)).toEqual(['connect']);
    expect(stored(world)?.identifiers).toBe(IDENTIFIERS);
    expect(world.delivery.requests.map((d) => d.frames)).toEqual([[APP_WELCOME]]);
  });

  test('enforceJwt: no token is unauthorized without any RPC call', async () => {
    const { world, result } = await connectWith({ settings: { secret: SECRET, enforceJwt: true } });
    expect(world.peer.calls).toEqual([]);
    expectRejected(world, result, [UNAUTHORIZED]);
  });

  test('enforceJwt: a valid token still identifies', async () => {
    const req = request({ query: { jid: await validToken() } });
    const { world, result } = await connectWith({ settings: { secret: SECRET, enforceJwt: true }, req });
    expect(result).toEqual(ACCEPT);
    expect(stored(world)?.identifiers).toBe(IDENTIFIERS);
  });

  test('jwt: without any secret a jid is not a JWT to check: RPC connect decides', async () => {
    const answer = { status: 1, identifiers: IDENTIFIERS, transmissions: [APP_WELCOME] };
    const { world, result } = await connectWith({ settings: {}, answers: [answer], req: request({ query: { jid: await validToken() } }) });
    expect(result).toEqual(ACCEPT);
    expect(world.peer.calls.map((call) => call.method)).toEqual(['connect']);
  });

  test('anonymous: without any secret and without RPC the client gets the plain welcome, as before', async () => {
    const { world, result } = await connectWith({ settings: {}, withRpc: false });
    expect(result).toEqual(ACCEPT);
    expect(world.peer.calls).toEqual([]);
    const row = stored(world);
    expect(row).toEqual(expect.objectContaining({ cstate: {}, channels: {} }));
    expect(row).not.toHaveProperty('identifiers');
    expect(world.delivery.requests).toEqual([{ connectionId: CONNECTION_ID, frames: [ANONYMOUS_WELCOME], deadline: DEADLINE }]);
  });

  test('anonymous: with a secret, no token and no RPC the client gets the plain welcome', async () => {
    const { world, result } = await connectWith({ withRpc: false });
    expect(result).toEqual(ACCEPT);
    expect(world.delivery.requests.map((d) => d.frames)).toEqual([[ANONYMOUS_WELCOME]]);
  });
});

/**
 * What an operator sees of each identification that did not succeed: the log entry (docs/rpc.md
 * names `connect.rpc_failed` with its reason) and, for a refused handshake, the 500's body
 * (connect-handler.ts answers with the reason).
 */
describe('identification outcomes in the logs and the 500 body', () => {
  const CONNECTION = { connectionId: CONNECTION_ID };

  test.each<{ name: string; settings?: CableSettings; answers?: RpcAnswer[]; jid?: () => Promise<string>; log: LogEntry; refused?: string }>([
    {
      name: 'jwt: a forged token logs connect.jwt_rejected with the reason',
      jid: () => token({ ext: IDENTIFIERS, exp: NOW_SECONDS + 60 }, 'another-secret'),
      log: { level: 'info', event: 'connect.jwt_rejected', fields: { ...CONNECTION, reason: 'unauthorized', detail: expect.any(String) } },
    },
    {
      name: 'jwt: an expired token logs connect.jwt_rejected with token_expired',
      jid: () => token({ ext: IDENTIFIERS, exp: NOW_SECONDS - 1 }),
      log: { level: 'info', event: 'connect.jwt_rejected', fields: { ...CONNECTION, reason: 'token_expired', detail: expect.any(String) } },
    },
    {
      name: 'jwt: a token without identifiers logs connect.jwt_error and is refused with jwt_error',
      jid: () => token({ exp: NOW_SECONDS + 60 }),
      log: { level: 'error', event: 'connect.jwt_error', fields: { ...CONNECTION, message: expect.stringContaining('identifiers') } },
      refused: 'jwt_error',
    },
    {
      name: 'rpc: a timeout logs connect.rpc_failed with the reason and is refused with rpc_timeout',
      answers: [rpcError('timeout')],
      log: { level: 'error', event: 'connect.rpc_failed', fields: { ...CONNECTION, reason: 'timeout', status: undefined, message: 'scripted timeout' } },
      refused: 'rpc_timeout',
    },
    {
      name: 'rpc: an HTTP error logs connect.rpc_failed with the status and is refused with rpc_http_error',
      answers: [rpcError('http_error')],
      log: { level: 'error', event: 'connect.rpc_failed', fields: { ...CONNECTION, reason: 'http_error', status: 503, message: 'scripted http_error' } },
      refused: 'rpc_http_error',
    },
    {
      name: 'rpc: FAILURE logs connect.rpc_rejected with the app\'s error_msg',
      answers: [{ status: 2, transmissions: [], error_msg: 'no user' }],
      log: { level: 'info', event: 'connect.rpc_rejected', fields: { ...CONNECTION, errorMsg: 'no user' } },
    },
    {
      name: 'rpc: FAILURE with an empty error_msg logs connect.rpc_rejected without one',
      answers: [{ status: 2, transmissions: [], error_msg: '' }],
      log: { level: 'info', event: 'connect.rpc_rejected', fields: CONNECTION },
    },
    {
      name: 'rpc: ERROR logs connect.rpc_error with the app\'s error_msg and is refused with rpc_error',
      answers: [{ status: 0, error_msg: 'boom' }],
      log: { level: 'error', event: 'connect.rpc_error', fields: { ...CONNECTION, errorMsg: 'boom' } },
      refused: 'rpc_error',
    },
  ])('$name', async ({ settings, answers, jid, log, refused }) => {
    const req = jid ? request({ query: { jid: await jid() } }) : request();
    const { world, result } = await connectWith({ settings, answers, req });
    expect(world.logger.entries).toEqual([log]);
    expect(result).toEqual(refused === undefined ? ACCEPT : { kind: 'refuse', status: 500, reason: refused });
  });
});
