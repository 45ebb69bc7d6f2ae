import { makeRpcWorld } from './rpc-support';
import { CONNECTION_ID, SECRET } from './support';
import { CableSettings, resolveConfig } from '../../lambda/core/config';
import { forwardedUrl } from '../../lambda/core/origin-verification';
import { makeConnectHandler } from '../../lambda/handlers/connect-handler';
import { WebSocketEvent, WebSocketResult } from '../../lambda/handlers/events';

/*
 * Origin verification through the `$connect` handler (API Gateway's event in, status out): a
 * request that lacks the secret header a fronting distribution adds is refused, and only one that
 * carries it may name the host viewers used (`X-Forwarded-Host`) in the app's `env.url`.
 */

const ORIGIN_SECRET = 'origin-secret-from-secrets-manager';
const API_HOST = 'abc123.execute-api.us-east-1.amazonaws.com';
const VERIFIED: CableSettings = { secret: SECRET, originSecret: ORIGIN_SECRET };
const ACCEPTED: WebSocketResult = { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'actioncable-v1-json' } };
const REFUSED: WebSocketResult = { statusCode: 403, body: 'not_from_distribution' };
const WELCOME = { status: 1, identifiers: '{"user":"ann"}', transmissions: ['{"type":"welcome"}'] };

function connectEvent(headers: Record<string, string>): WebSocketEvent {
  return {
    requestContext: { connectionId: CONNECTION_ID, routeKey: '$connect', eventType: 'CONNECT', stage: 'cable', domainName: API_HOST },
    headers: { 'Host': API_HOST, 'Sec-WebSocket-Protocol': 'actioncable-v1-json', 'Cookie': 'user_id=42', ...headers },
    queryStringParameters: { room: '1' },
  };
}

/** `$connect` with the app's RPC answering a welcome; what it answered and the `env` the app saw. */
async function connectThroughHandler(settings: CableSettings, headers: Record<string, string>, rpcHeaders?: string[]) {
  const world = makeRpcWorld({ ...settings, ...(rpcHeaders ? { rpcHeaders } : {}) });
  world.peer.answer(WELCOME);
  const result = await makeConnectHandler(async () => world)(connectEvent(headers));
  const env = (world.peer.calls[0]?.body as { env?: { url: string; headers: Record<string, string> } } | undefined)?.env;
  return { world, result, env, stored: world.connections.records.get(CONNECTION_ID) };
}

describe('origin verification', () => {
  test.each<{ name: string; headers: Record<string, string> }>([
    { name: 'originSecret: a direct request without the header is refused with 403', headers: {} },
    { name: 'originSecret: a wrong value is refused with 403', headers: { 'X-Origin-Verify': 'guessed' } },
    { name: 'originSecret: the secret in another header is refused with 403', headers: { 'X-Other': ORIGIN_SECRET } },
    { name: 'originSecret: a value that only starts with the secret is refused with 403', headers: { 'X-Origin-Verify': `${ORIGIN_SECRET}x` } },
  ])('$name', async ({ headers }) => {
    const { world, result } = await connectThroughHandler(VERIFIED, headers);
    expect(result).toEqual(REFUSED);
    expect(world.peer.calls).toEqual([]);
    expect(world.connections.records.size).toBe(0);
    expect(world.delivery.requests).toEqual([]);
    expect(world.logger.entries).toContainEqual(expect.objectContaining({ event: 'connect.refused', fields: expect.objectContaining({ reason: 'not_from_distribution' }) }));
  });

  test('originSecret: the right value (any header-name case) is accepted, and the app is asked', async () => {
    const { result, stored } = await connectThroughHandler(VERIFIED, { 'x-origin-verify': ORIGIN_SECRET });
    expect(result).toEqual(ACCEPTED);
    expect(stored).toMatchObject({ identifiers: '{"user":"ann"}' });
  });

  test('originHeader: a configured name replaces X-Origin-Verify', async () => {
    const settings = { ...VERIFIED, originHeader: 'X-Cable-Proof' };
    expect((await connectThroughHandler(settings, { 'X-Origin-Verify': ORIGIN_SECRET })).result).toEqual(REFUSED);
    expect((await connectThroughHandler(settings, { 'X-Cable-Proof': ORIGIN_SECRET })).result).toEqual(ACCEPTED);
  });

  test('X-Forwarded-Host: honoured in the RPC connect env.url on a request that carried the secret', async () => {
    const { env, stored } = await connectThroughHandler(VERIFIED, { 'X-Origin-Verify': ORIGIN_SECRET, 'X-Forwarded-Host': 'app.example.com' });
    expect(env?.url).toBe('https://app.example.com/cable?room=1');
    expect(stored?.url).toBe('wss://app.example.com/cable?room=1');
  });

  test('X-Forwarded-Host: ignored without origin verification; env.url names the API\'s own host', async () => {
    const { result, env, stored } = await connectThroughHandler({ secret: SECRET }, { 'X-Forwarded-Host': 'evil.example' });
    expect(result).toEqual(ACCEPTED);
    expect(env?.url).toBe(`https://${API_HOST}/cable?room=1`);
    expect(stored?.url).toBe(`wss://${API_HOST}/cable?room=1`);
  });

  test('X-Forwarded-Host: a value that is not a host[:port] is ignored even with the secret', async () => {
    const { env } = await connectThroughHandler(VERIFIED, { 'X-Origin-Verify': ORIGIN_SECRET, 'X-Forwarded-Host': 'evil.example/path?x=' });
    expect(env?.url).toBe(`https://${API_HOST}/cable?room=1`);
  });

  test('originSecret: the secret header never reaches the app nor the row, even when rpcHeaders names it', async () => {
    const { env, stored } = await connectThroughHandler(VERIFIED, { 'X-Origin-Verify': ORIGIN_SECRET }, ['cookie', 'x-origin-verify']);
    expect(env?.headers).toEqual({ cookie: 'user_id=42' });
    expect(JSON.stringify(stored)).not.toContain(ORIGIN_SECRET);
  });

  test('unconfigured: a request without any origin header is accepted, as before', async () => {
    const { result, stored } = await connectThroughHandler({ secret: SECRET }, {});
    expect(result).toEqual(ACCEPTED);
    expect(stored).toBeDefined();
  });

  test('originHeader: refused without originSecret, and when it is not a header name', () => {
    expect(() => resolveConfig({ secret: SECRET, originHeader: 'X-Origin-Verify' })).toThrow('originHeader ("X-Origin-Verify") needs originSecret, the value the header must carry');
    expect(() => resolveConfig({ ...VERIFIED, originHeader: 'X Origin' })).toThrow('originHeader must be an HTTP header name, got "X Origin"');
  });
});

describe('forwardedUrl: the host viewers used, from X-Forwarded-Host', () => {
  const URL = 'wss://abc123.execute-api.eu-west-1.amazonaws.com/prod?room=1';
  test.each<{ name: string; url?: string | null; forwarded?: string; expected: string | undefined }>([
    { name: 'a host replaces the API\'s', forwarded: 'app.example.com', expected: 'wss://app.example.com/prod?room=1' },
    { name: 'a host with a port keeps the port', forwarded: 'app.example.com:8443', expected: 'wss://app.example.com:8443/prod?room=1' },
    { name: 'a list: the first entry (the client-facing proxy\'s), spaces around it dropped', forwarded: ' app.example.com , cdn.internal', expected: 'wss://app.example.com/prod?room=1' },
    { name: 'a ws:// URL (the local server) keeps its scheme', url: 'ws://localhost:3334/cable', forwarded: 'app.example.com', expected: 'ws://app.example.com/cable' },
    { name: 'a value ending in a host but holding more is ignored', forwarded: 'evil.example/@app.example.com', expected: URL },
    { name: 'a port of letters is ignored', forwarded: 'app.example.com:http', expected: URL },
    { name: 'no header: the URL as it was', expected: URL },
    { name: 'no URL: none', url: null, forwarded: 'app.example.com', expected: undefined },
  ])('$name', ({ url = URL, forwarded, expected }) => {
    const headers: Record<string, string> = forwarded === undefined ? {} : { 'x-forwarded-host': forwarded };
    expect(forwardedUrl(url ?? undefined, headers)).toBe(expected);
  });
});
