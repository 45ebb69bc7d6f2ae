import { RAILS_BROADCAST_KEY, RAILS_SECRET } from './anycable-rails-request';
import { MemoryPresenceStore } from '../../lambda/adapters/memory/memory-presence-store';
import { BroadcastHttpRequest, BroadcastHttpResponse, handleBroadcastHttp } from '../../lambda/core/broadcast-http';
import { resolveConfig } from '../../lambda/core/config';
import { Logger, LogFields } from '../../lambda/core/ports';
import { PresenceEntry, PresenceStore } from '../../lambda/core/presence';
import { handlePresenceHttp, isPresencePath, presenceInfoBody, PresenceHttpDeps } from '../../lambda/core/presence-http';

const KEY = RAILS_BROADCAST_KEY;
const NOW = 1_700_000_000_000;
const LATER = Math.floor(NOW / 1000) + 60;
const JSON_TYPE = { 'Content-Type': 'application/json' };

interface Logged { level: string; event: string; fields?: LogFields }

function recordingLogger(logged: Logged[]): Logger {
  const log = (level: string) => (event: string, fields?: LogFields) => void logged.push({ level, event, fields });
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

function setup(options: { presence?: PresenceStore | null; publicBroadcasts?: boolean; broadcastKey?: string } = {}) {
  const logged: Logged[] = [];
  const presence = options.presence === null ? undefined : options.presence ?? new MemoryPresenceStore();
  const config = resolveConfig({ secret: RAILS_SECRET });
  const deps: PresenceHttpDeps = {
    config: { ...config, broadcastKey: options.broadcastKey ?? config.broadcastKey },
    ...(presence ? { presence } : {}),
    ...(options.publicBroadcasts !== undefined ? { publicBroadcasts: options.publicBroadcasts } : {}),
    clock: { now: () => NOW, sleep: async () => {} },
    logger: recordingLogger(logged),
  };
  return { deps, presence, logged };
}

function get(path: string, headers: Record<string, string> = { authorization: `Bearer ${KEY}` }, method = 'GET'): BroadcastHttpRequest {
  return { method, path, headers, body: '' };
}

async function joinAs(store: PresenceStore, stream: string, id: string, info?: unknown, session = id, expiresAt = LATER): Promise<void> {
  const identifier = JSON.stringify({ channel: '$pubsub', stream_name: stream });
  const encoded = info !== undefined ? { info: JSON.stringify(info) } : {};
  const entry: PresenceEntry = { stream, sessionKey: session, identifier, connectionId: session, id, ...encoded };
  await store.join(entry, NOW - 1000, expiresAt);
}

describe('presence API: GET /api/presence/:stream/users (anycable-go api/server.go PresenceHandler)', () => {
  test('200: {"type":"info","total","records"} in Go\'s field order, records by id, info absent when the join had none', async () => {
    const { deps, presence } = setup();
    await joinAs(presence!, 'chat/1', 'jill', { name: 'Jill' });
    await joinAs(presence!, 'chat/1', 'jack', { name: 'Jack' });
    await joinAs(presence!, 'chat/1', 'anon');
    await joinAs(presence!, 'chat/2', 'other', { name: 'Other' });
    const response = await handlePresenceHttp(deps, get('/api/presence/chat%2F1/users'));
    expect(response).toEqual<BroadcastHttpResponse>({
      status: 200,
      headers: JSON_TYPE,
      body: '{"type":"info","total":3,"records":[{"id":"anon"},{"info":{"name":"Jack"},"id":"jack"},{"info":{"name":"Jill"},"id":"jill"}]}',
    });
  });

  test('200: a stream nobody joined is {"type":"info","total":0}, no records (common.go omitempty)', async () => {
    const { deps } = setup();
    expect(await handlePresenceHttp(deps, get('/api/presence/empty/users'))).toEqual({ status: 200, headers: JSON_TYPE, body: '{"type":"info","total":0}' });
  });

  test('200: one session of two with the same id counts once; an expired join does not count', async () => {
    const { deps, presence } = setup();
    await joinAs(presence!, 'room', 'ann', { tab: 1 }, 'ann-1');
    await joinAs(presence!, 'room', 'ann', { tab: 1 }, 'ann-2');
    await joinAs(presence!, 'room', 'gone', undefined, 'gone-1', Math.floor(NOW / 1000) - 1);
    const response = await handlePresenceHttp(deps, get('/api/presence/room/users'));
    expect(JSON.parse(response.body)).toEqual({ type: 'info', total: 1, records: [{ id: 'ann', info: { tab: 1 } }] });
  });

  test.each([
    ['a plain segment', '/api/presence/room/users', 'room'],
    ['an encoded slash', '/api/presence/chat%2F1/users', 'chat/1'],
    ['encoded unicode and spaces', '/api/presence/caf%C3%A9%20au%20lait/users', 'café au lait'],
  ])('stream: %s is decoded', async (_name, path, stream) => {
    const store = new MemoryPresenceStore();
    const read = jest.spyOn(store, 'info');
    const { deps } = setup({ presence: store });
    expect((await handlePresenceHttp(deps, get(path))).status).toBe(200);
    expect(read).toHaveBeenCalledWith(stream, NOW);
  });

  test.each([
    '/api/presence/room',
    '/api/presence/room/',
    '/api/presence/room/user',
    '/api/presence/room/users/',
    '/api/presence/chat/1/users',
    '/api/presence//users',
    '/api/presence/%E0%A4%A/users',
    '/api/presence/',
  ])('404: %s is not /api/presence/<stream>/users, and nothing is read', async (path) => {
    const store = new MemoryPresenceStore();
    const read = jest.spyOn(store, 'info');
    const { deps } = setup({ presence: store });
    const response = await handlePresenceHttp(deps, get(path));
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body)).toEqual({ message: `no route for GET ${path}: read presence with GET /api/presence/<stream>/users` });
    expect(read).not.toHaveBeenCalled();
  });

  test.each(['POST', 'PUT', 'DELETE', 'HEAD'])('422: %s (anycable-go: any method but GET, checked first, even before the key)', async (method) => {
    const { deps } = setup();
    const response = await handlePresenceHttp(deps, get('/api/presence/room/users', {}, method));
    expect(response).toEqual({
      status: 422, headers: JSON_TYPE, body: JSON.stringify({ message: `${method} is not allowed: read presence with GET /api/presence/<stream>/users` }),
    });
  });

  test.each<[string, Record<string, string>]>([
    ['no Authorization header', {}],
    ['a wrong key', { authorization: 'Bearer guess' }],
    ['the key without Bearer', { authorization: KEY }],
  ])('401: %s, checked before the path, nothing read', async (_name, headers) => {
    const store = new MemoryPresenceStore();
    const read = jest.spyOn(store, 'info');
    const { deps, logged } = setup({ presence: store });
    const response = await handlePresenceHttp(deps, get('/api/presence/room/nope', headers));
    expect(response.status).toBe(401);
    expect(response.headers).toEqual({ ...JSON_TYPE, 'WWW-Authenticate': 'Bearer realm="cdk-cable broadcast"' });
    expect(JSON.parse(response.body).message).toMatch(/broadcast key/);
    expect(logged).toEqual([{ level: 'warn', event: 'presence_api.unauthorized', fields: { reason: JSON.parse(response.body).message } }]);
    expect(read).not.toHaveBeenCalled();
  });

  test('authorization: the header name in any case', async () => {
    const { deps } = setup();
    expect((await handlePresenceHttp(deps, get('/api/presence/room/users', { AUTHORIZATION: `Bearer ${KEY}` }))).status).toBe(200);
  });

  test('publicBroadcasts (anycable-go --public): no key needed', async () => {
    const { deps } = setup({ publicBroadcasts: true });
    expect((await handlePresenceHttp(deps, get('/api/presence/room/users', {}))).status).toBe(200);
    const keyed = setup({ publicBroadcasts: false });
    expect((await handlePresenceHttp(keyed.deps, get('/api/presence/room/users', {}))).status).toBe(401);
  });

  test('501: no presence store (anycable-go: a broker without presence), after the key and the path', async () => {
    const { deps } = setup({ presence: null });
    expect(await handlePresenceHttp(deps, get('/api/presence/room/users'))).toEqual({
      status: 501, headers: JSON_TYPE, body: JSON.stringify({ message: 'presence is not available here' }),
    });
    expect((await handlePresenceHttp(deps, get('/api/presence/room/users', {}))).status).toBe(401);
    expect((await handlePresenceHttp(deps, get('/api/presence/room'))).status).toBe(404);
  });

  test('500: a store failure is logged and answered (anycable-go answers 400)', async () => {
    const failing: PresenceStore = {
      join: async () => 'joined',
      leave: async () => undefined,
      finish: async () => {},
      info: async () => { throw new Error('throttled'); },
    };
    const { deps, logged } = setup({ presence: failing });
    const stream = 'x'.repeat(150);
    expect(await handlePresenceHttp(deps, get(`/api/presence/${stream}/users`))).toEqual({
      status: 500, headers: JSON_TYPE, body: JSON.stringify({ message: 'the presence set could not be read; see the logs' }),
    });
    expect(logged).toEqual([{ level: 'error', event: 'presence_api.failed', fields: { stream: 'x'.repeat(100), error: new Error('throttled') } }]);
  });
});

describe('presence API: routing from the broadcast endpoint', () => {
  test.each([
    ['/api/presence/room/users', true],
    ['/api/presence/', true],
    ['/api/presence', false],
    ['/_broadcast', false],
    ['/x/api/presence/room/users', false],
  ])('isPresencePath(%s) is %s', (path, expected) => {
    expect(isPresencePath(path)).toBe(expected);
  });

  test('handleBroadcastHttp answers GET /api/presence/:stream/users, and still 404s other paths', async () => {
    const { deps, presence } = setup();
    await joinAs(presence!, 'room', 'ann');
    // The presence read touches none of the broadcast's stores.
    const none = undefined as never;
    const full = { ...deps, subscriptions: none, connections: none, transport: none, shards: none };
    const body = '{"type":"info","total":1,"records":[{"id":"ann"}]}';
    expect(await handleBroadcastHttp(full, get('/api/presence/room/users'))).toEqual({ status: 200, headers: JSON_TYPE, body });
    expect((await handleBroadcastHttp(full, get('/api/presence'))).status).toBe(404);
  });
});

describe('presenceInfoBody: the body fits the response limit', () => {
  const records = [{ id: 'a', info: '{"n":1}' }, { id: 'b' }, { id: 'c', info: '"x"' }];
  const full = '{"type":"info","total":3,"records":[{"info":{"n":1},"id":"a"},{"id":"b"},{"info":"x","id":"c"}]}';

  test('every record when it fits, exactly at the limit included', () => {
    expect(presenceInfoBody(records)).toBe(full);
    expect(presenceInfoBody(records, Buffer.byteLength(full))).toBe(full);
  });

  test('records that would pass the limit are left out, in id order; total counts all', () => {
    const two = '{"type":"info","total":3,"records":[{"info":{"n":1},"id":"a"},{"id":"b"}]}';
    expect(presenceInfoBody(records, Buffer.byteLength(full) - 1)).toBe(two);
    expect(presenceInfoBody([...records].reverse(), Buffer.byteLength(two))).toBe(two);
    const one = '{"type":"info","total":3,"records":[{"info":{"n":1},"id":"a"}]}';
    expect(presenceInfoBody(records, Buffer.byteLength(two) - 1)).toBe(one);
    expect(presenceInfoBody(records, 10)).toBe('{"type":"info","total":3}');
  });

  test('ids are JSON-escaped; sorting is by code unit', () => {
    expect(presenceInfoBody([{ id: 'b"q' }, { id: 'B' }, { id: 'a' }])).toBe('{"type":"info","total":3,"records":[{"id":"B"},{"id":"a"},{"id":"b\\"q"}]}');
  });
});
