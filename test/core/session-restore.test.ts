import * as jose from 'jose';
import { makeRpcWorld } from './rpc-support';
import { CONNECTION_ID, makeWorld, pubsubIdentifier, send, SECRET, subscribeCommand, World } from './support';
import { MemorySessionStore } from '../../lambda/adapters/memory/memory-session-store';
import { MemoryStreamHistory } from '../../lambda/adapters/memory/memory-stream-history';
import { deliverBroadcast, DeliverBroadcastDeps } from '../../lambda/core/broadcast';
import { CableSettings } from '../../lambda/core/config';
import { connect, ConnectDeps } from '../../lambda/core/connect';
import { handleDisconnect } from '../../lambda/core/disconnect';
import { remoteDisconnect } from '../../lambda/core/remote-disconnect';
import { ConnectRequest } from '../../lambda/core/request';
import { MAX_SNAPSHOT_BYTES, RESTORE_CONNECT_HOLD_MS, saveSession, sessionKey } from '../../lambda/core/session-restore';

const EXT = 'actioncable-v1-ext-json';
const ROOM = 'room:1';
const LOBBY = 'lobby';
const ROOM_ID = pubsubIdentifier({ stream_name: ROOM });
const LOBBY_ID = pubsubIdentifier({ stream_name: LOBBY });
const SETTINGS: CableSettings = { secret: SECRET, publicStreams: true };

type SessionWorld = World & {
  readonly sessions: MemorySessionStore;
  readonly history: MemoryStreamHistory;
  readonly shards: { dispatch(): Promise<void> };
};

function sessionWorld(settings: CableSettings = SETTINGS, base: World = makeWorld(settings)): SessionWorld {
  return { ...base, sessions: new MemorySessionStore(), history: new MemoryStreamHistory(), shards: { dispatch: async () => undefined } };
}

function connectDeps(world: SessionWorld): ConnectDeps {
  return { ...world, restore: { sessions: world.sessions, subscriptions: world.subscriptions } };
}

async function open(world: SessionWorld, connectionId: string, extra: Partial<ConnectRequest> = {}, protocol = EXT) {
  const before = world.delivery.requests.length;
  const result = await connect(connectDeps(world), {
    connectionId, query: {}, ...extra, headers: { 'sec-websocket-protocol': protocol, ...extra.headers },
  });
  world.transport.open(connectionId);
  const welcome = world.delivery.requests.slice(before).flatMap((r) => r.frames).map((f) => JSON.parse(f) as Record<string, unknown>);
  return { result, welcome: welcome[0] };
}

async function disconnected(world: SessionWorld, connectionId: string): Promise<void> {
  const sessions = { store: world.sessions, clock: world.clock, ttlSeconds: world.config.history.sessionsTtlSeconds };
  await handleDisconnect({ ...world, sessions }, connectionId);
}

/** A client subscribed to two streams, then gone: its sid. */
async function goneSubscriber(world: SessionWorld, connectionId = 'first='): Promise<string> {
  const { welcome } = await open(world, connectionId);
  for (const identifier of [ROOM_ID, LOBBY_ID]) await send(world, subscribeCommand(identifier), connectionId);
  await disconnected(world, connectionId);
  return welcome.sid as string;
}

describe('session restore', () => {
  test('?sid=: the gone session comes back under a new sid: welcome restored with its channels, rows held, counted against the cap', async () => {
    const world = sessionWorld();
    const sid = await goneSubscriber(world);
    const { welcome } = await open(world, CONNECTION_ID, { query: { sid } });
    expect(welcome).toEqual({ type: 'welcome', sid: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), restored: true, restored_ids: expect.arrayContaining([ROOM_ID, LOBBY_ID]) });
    expect((welcome.restored_ids as string[]).length).toBe(2);
    expect(welcome.sid).not.toBe(sid);
    const now = world.clock.now();
    const restoredRows = world.subscriptions.all()
      .map(({ stream, connectionId, identifier, sid: rowSid, holdUntil, expiresAt: rowExpiresAt }) => (
        { stream, connectionId, identifier, sid: rowSid, holdUntil, expiresAt: rowExpiresAt }));
    // The rows expire as a subscribe's would: ttlSeconds from now, in whole seconds.
    const expiresAt = Math.floor(now / 1000) + world.config.ttlSeconds;
    expect(restoredRows.sort((a, b) => a.stream.localeCompare(b.stream))).toEqual([
      { stream: LOBBY, connectionId: CONNECTION_ID, identifier: LOBBY_ID, sid: welcome.sid, holdUntil: now + RESTORE_CONNECT_HOLD_MS, expiresAt },
      { stream: ROOM, connectionId: CONNECTION_ID, identifier: ROOM_ID, sid: welcome.sid, holdUntil: now + RESTORE_CONNECT_HOLD_MS, expiresAt },
    ]);
    expect((await world.connections.get(CONNECTION_ID))?.sid).toBe(welcome.sid);
    // Two of a cap of three are taken: one more subscribe, then none.
    const capped = { ...world, config: { ...world.config, limits: { ...world.config.limits, maxSubscriptionsPerConnection: 3 } } };
    expect((await send(capped, subscribeCommand(pubsubIdentifier({ stream_name: 'third' })))).frames).toEqual([{ type: 'confirm_subscription', identifier: pubsubIdentifier({ stream_name: 'third' }) }]);
    expect((await send(capped, subscribeCommand(pubsubIdentifier({ stream_name: 'fourth' })))).frames[0]).toMatchObject({ type: 'reject_subscription' });
  });

  test('X-ANYCABLE-RESTORE-SID: the header restores too, and wins over ?sid=', async () => {
    const world = sessionWorld();
    const sid = await goneSubscriber(world);
    const other = await goneSubscriber(world, 'other=');
    const { welcome } = await open(world, CONNECTION_ID, { headers: { 'x-anycable-restore-sid': sid }, query: { sid: other } });
    expect(welcome).toMatchObject({ restored: true });
    // The header's session was taken; the parameter's is still there.
    expect((await open(world, 'later=', { query: { sid: other } })).welcome).toMatchObject({ restored: true });
  });

  test('once: a sid restores one connection; the next with it is welcomed afresh, with no subscriptions', async () => {
    const world = sessionWorld();
    const sid = await goneSubscriber(world);
    await open(world, 'restored=', { query: { sid } });
    const { welcome } = await open(world, 'copy=', { query: { sid } });
    expect(welcome).toEqual({ type: 'welcome', sid: expect.any(String) });
    expect(world.subscriptions.all().filter((s) => s.connectionId === 'copy=')).toEqual([]);
    expect(world.logger.entries).toContainEqual(expect.objectContaining({ event: 'session.not_restored', fields: expect.objectContaining({ reason: 'unknown_or_expired' }) }));
  });

  test('sessionsTtlSeconds: a session restores until it has passed, not a second after; 0 keeps none', async () => {
    const world = sessionWorld({ ...SETTINGS, history: { sessionsTtlSeconds: 60 } });
    const kept = await goneSubscriber(world, 'a=');
    const expired = await goneSubscriber(world, 'b=');
    // Kept at least the TTL (its expiry is rounded up to a whole second), and not a second longer.
    world.clock.advance(59_999);
    expect((await open(world, 'c=', { query: { sid: kept } })).welcome).toMatchObject({ restored: true });
    world.clock.advance(1_001);
    expect((await open(world, 'd=', { query: { sid: expired } })).welcome).not.toHaveProperty('restored');

    const none = sessionWorld({ ...SETTINGS, history: { sessionsTtlSeconds: 0 } });
    const sid = await goneSubscriber(none);
    // With none kept, a restoring client costs no read of the store, and logs nothing about it.
    const take = jest.spyOn(none.sessions, 'take');
    expect((await open(none, CONNECTION_ID, { query: { sid } })).welcome).not.toHaveProperty('restored');
    expect(take).not.toHaveBeenCalled();
    expect(none.logger.events()).not.toContain('session.not_restored');
    expect(await none.sessions.take(sessionKey(sid), none.clock.now())).toBeUndefined();
  });

  test('what is kept: plain clients keep no session; a session is stored under a hash of its sid, and the sid is never logged', async () => {
    const world = sessionWorld();
    await open(world, 'plain=', {}, 'actioncable-v1-json');
    await send(world, subscribeCommand(ROOM_ID), 'plain=');
    await disconnected(world, 'plain=');
    const save = jest.spyOn(world.sessions, 'save');
    const sid = await goneSubscriber(world);
    expect(save).toHaveBeenCalledTimes(1);
    expect(save.mock.calls[0][0]).toBe(sessionKey(sid));
    expect(save.mock.calls[0][0]).not.toContain(sid);
    await open(world, CONNECTION_ID, { query: { sid } });
    expect(JSON.stringify(world.logger.entries)).not.toContain(sid);
    expect(world.logger.entries).toContainEqual({ level: 'info', event: 'session.restored', fields: { connectionId: CONNECTION_ID, subscriptions: 2 } });
  });

  test('plain clients: a ?sid= from an actioncable-v1-json client restores nothing and leaves the session for the ext client it belongs to', async () => {
    const world = sessionWorld();
    const sid = await goneSubscriber(world);
    const take = jest.spyOn(world.sessions, 'take');
    const { welcome } = await open(world, 'plain=', { query: { sid } }, 'actioncable-v1-json');
    expect(welcome).toEqual({ type: 'welcome' });
    expect(take).not.toHaveBeenCalled();
    take.mockRestore();
    expect((await open(world, CONNECTION_ID, { query: { sid } })).welcome).toMatchObject({ restored: true });
  });

  test.each(['', 'short', 'x'.repeat(23), 'not base64url !!!!!!!!'])('sid "%s": not one of ours, ignored (a fresh welcome)', async (sid) => {
    const world = sessionWorld();
    const take = jest.spyOn(world.sessions, 'take');
    expect((await open(world, CONNECTION_ID, { query: { sid } })).welcome).toEqual({ type: 'welcome', sid: expect.any(String) });
    expect(take).not.toHaveBeenCalled();
  });

  test('history after restore: what was broadcast while away is replayed in order, then live broadcasts, none twice', async () => {
    const world = sessionWorld();
    const { welcome: first } = await open(world, 'first=');
    await send(world, subscribeCommand(ROOM_ID), 'first=');
    const deps = world as unknown as DeliverBroadcastDeps;
    await deliverBroadcast(deps, { stream: ROOM, data: '"one"' });
    const { epoch } = world.transport.framesOf('first=')[0] as { epoch: string };
    await disconnected(world, 'first=');
    await deliverBroadcast(deps, { stream: ROOM, data: '"two"' });
    await open(world, CONNECTION_ID, { query: { sid: first.sid as string } });
    // While the rows are held, a live broadcast waits for the replay (the fake clock's sleeps pass the hold).
    const result = await send(world, JSON.stringify({ command: 'history', identifier: ROOM_ID, history: { streams: { [ROOM]: { offset: 1, epoch } } } }));
    expect(result.transmissions?.map((t) => JSON.parse(t))).toEqual([
      { identifier: ROOM_ID, message: 'two', stream_id: ROOM, epoch, offset: 2 },
      { type: 'confirm_history', identifier: ROOM_ID },
    ]);
    await result.afterSent?.();
    await deliverBroadcast(deps, { stream: ROOM, data: '"three"' });
    expect(world.transport.framesOf(CONNECTION_ID)).toEqual([{ identifier: ROOM_ID, message: 'three', stream_id: ROOM, epoch, offset: 3 }]);
  });

  test.each([100, 0])('history limit %d: a broadcast to a restored row before its history waits instead of posting to a connection still connecting', async (limit) => {
    const world = sessionWorld({ ...SETTINGS, history: { limit } });
    const sid = await goneSubscriber(world);
    await connect(connectDeps(world), { connectionId: CONNECTION_ID, query: { sid }, headers: { 'sec-websocket-protocol': EXT } });
    // Not open yet: API Gateway would answer a post with 410, and fan-out would forget the new
    // connection. It opens while fan-out waits; the client never asks for history, so the hold passes.
    world.clock.onSleep = () => world.transport.open(CONNECTION_ID);
    await deliverBroadcast(world as unknown as DeliverBroadcastDeps, { stream: ROOM, data: '"during"' });
    expect(world.clock.sleeps.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(RESTORE_CONNECT_HOLD_MS);
    expect(world.transport.sent.get(CONNECTION_ID)?.map((frame) => JSON.parse(frame))).toEqual([expect.objectContaining({ identifier: ROOM_ID, message: 'during' })]);
    expect(await world.connections.get(CONNECTION_ID)).toBeDefined();
  });

  test('JWT: a token in the restoring request must still be valid and name the same identifiers', async () => {
    const token = (ext: string, exp: number) => new jose.SignJWT({ ext, exp }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
    const world = sessionWorld();
    const nowSeconds = Math.floor(world.clock.now() / 1000);
    const ann = '{"user":"ann"}';
    const valid = await token(ann, nowSeconds + 3600);
    const sessionOf = async (id: string) => {
      const { welcome } = await open(world, id, { query: { jid: valid } });
      await send(world, subscribeCommand(ROOM_ID), id);
      await disconnected(world, id);
      return welcome.sid as string;
    };
    expect((await open(world, 'a2=', { query: { sid: await sessionOf('a='), jid: valid } })).welcome).toMatchObject({ restored: true });
    expect((await world.connections.get('a2='))?.identifiers).toBe(ann);
    const other = await token('{"user":"bob"}', nowSeconds + 3600);
    expect((await open(world, 'b2=', { query: { sid: await sessionOf('b='), jid: other } })).welcome).not.toHaveProperty('restored');
    expect((await world.connections.get('b2='))?.identifiers).toBe('{"user":"bob"}');
    const expired = await token(ann, nowSeconds - 1);
    const refused = await open(world, 'c2=', { query: { sid: await sessionOf('c='), jid: expired } });
    expect(refused.welcome).toEqual({ type: 'disconnect', reason: 'token_expired', reconnect: false });
    expect(world.logger.entries).toContainEqual(expect.objectContaining({ event: 'session.not_restored', fields: expect.objectContaining({ reason: 'jwt_changed' }) }));
  });

  test('RPC: restored without the app\'s connect; identifiers, cstate and app channels come back, their rows held while connecting', async () => {
    const base = makeRpcWorld(SETTINGS);
    const world = { ...sessionWorld(SETTINGS, base), rpc: base.rpc };
    const appChannel = JSON.stringify({ channel: 'ChatChannel', room: 1 });
    await putRestorable(world, appChannel);
    base.peer.answer({ status: 1 }); // the app's disconnect of the first connection
    await disconnected(world, 'first=');
    const { welcome } = await open(world, CONNECTION_ID, { query: { sid: 'AAAAAAAAAAAAAAAAAAAAAA' } });
    expect(welcome).toEqual({ type: 'welcome', sid: expect.any(String), restored: true, restored_ids: [appChannel] });
    expect(base.peer.calls.map((c) => c.method)).toEqual(['disconnect']);
    expect(await world.connections.get(CONNECTION_ID)).toMatchObject({
      identifiers: '{"user":"ann"}', cstate: { token: 'abc' }, channels: { [appChannel]: { state: { page: '1' }, streams: ['chat:1'] } },
    });
    expect(world.subscriptions.all()).toEqual([expect.objectContaining({ stream: 'chat:1', identifier: appChannel, holdUntil: world.clock.now() + RESTORE_CONNECT_HOLD_MS })]);
  });

  test('remote disconnect: a connection the app closed keeps no session; a client that kept its sid connects afresh', async () => {
    const world = sessionWorld();
    const token = await new jose.SignJWT({ ext: '{"user":"ann"}', exp: Math.floor(world.clock.now() / 1000) + 3600 })
      .setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
    const { welcome } = await open(world, 'ann=', { query: { jid: token } });
    await send(world, subscribeCommand(ROOM_ID), 'ann=');
    await remoteDisconnect({ ...world }, { command: 'disconnect', identifier: '{"user":"ann"}', reconnect: true });
    await disconnected(world, 'ann=');
    expect((await open(world, CONNECTION_ID, { query: { sid: welcome.sid as string, jid: token } })).welcome).not.toHaveProperty('restored');
    expect(world.subscriptions.all().filter((s) => s.connectionId === CONNECTION_ID)).toEqual([]);
  });

  test('the app\'s disconnect (RPC command): the connection keeps no session', async () => {
    const base = makeRpcWorld(SETTINGS);
    const world = { ...sessionWorld(SETTINGS, base), rpc: base.rpc };
    const appChannel = JSON.stringify({ channel: 'ChatChannel', room: 1 });
    await putRestorable(world, appChannel);
    // The command (the app says disconnect), the old connection's RPC disconnect, then the new one's
    // RPC connect: not restored, it is identified afresh (the app refuses it here).
    base.peer.answer({ status: 1, disconnect: true, transmissions: [] }, { status: 1 }, { status: 2, transmissions: [] });
    expect((await send(world, JSON.stringify({ command: 'message', identifier: appChannel, data: '{"action":"bye"}' }), 'first=')).close).toBe(true);
    await disconnected(world, 'first=');
    const { welcome } = await open(world, CONNECTION_ID, { query: { sid: 'AAAAAAAAAAAAAAAAAAAAAA' } });
    expect(welcome).toEqual({ type: 'disconnect', reason: 'unauthorized', reconnect: false });
    expect(base.peer.calls.map((c) => c.method)).toEqual(['command', 'disconnect', 'connect']);
  });

  test('saving: a session over MAX_SNAPSHOT_BYTES is not kept (logged too_large); one of exactly that size is', async () => {
    const keeping = (world: SessionWorld) => ({ store: world.sessions, clock: world.clock, ttlSeconds: 300 });
    const record = (cstate: Record<string, string>) => ({
      connectionId: 'big=', connectedAt: 0, expiresAt: 0, subprotocol: EXT, sid: 'AAAAAAAAAAAAAAAAAAAAAA', headers: {}, query: {}, cstate,
    });
    // The snapshot's JSON is {"cstate":{"k":"<value>"},"channels":{},"subscriptions":[]}.
    const around = Buffer.byteLength(JSON.stringify({ cstate: { k: '' }, channels: {}, subscriptions: [] }));
    const sized = (bytes: number) => record({ k: 'x'.repeat(bytes - around) });
    const world = sessionWorld();
    const save = jest.spyOn(world.sessions, 'save');
    await saveSession(keeping(world), world.logger, sized(MAX_SNAPSHOT_BYTES), []);
    expect(save).toHaveBeenCalledTimes(1);
    await saveSession(keeping(world), world.logger, sized(MAX_SNAPSHOT_BYTES + 1), []);
    expect(save).toHaveBeenCalledTimes(1);
    expect(world.logger.entries).toContainEqual({ level: 'warn', event: 'session.not_saved', fields: { connectionId: 'big=', reason: 'too_large', bytes: MAX_SNAPSHOT_BYTES + 1 } });
  });

  test('saving: a store failure is logged, not thrown (the disconnect goes on; the client connects afresh later)', async () => {
    const world = sessionWorld();
    jest.spyOn(world.sessions, 'save').mockRejectedValueOnce(new Error('throttled'));
    await goneSubscriber(world);
    expect(world.logger.entries).toContainEqual(expect.objectContaining({
      level: 'warn', event: 'session.not_saved', fields: expect.objectContaining({ reason: 'store_failed', message: 'throttled' }),
    }));
    expect(world.connections.records.size).toBe(0);
  });

  test('a failure restoring the rows refuses the connection and leaves nothing', async () => {
    const world = sessionWorld();
    const sid = await goneSubscriber(world);
    jest.spyOn(world.subscriptions, 'add').mockRejectedValueOnce(new Error('throttled'));
    await expect(open(world, CONNECTION_ID, { query: { sid } })).rejects.toThrow('throttled');
    expect(await world.connections.get(CONNECTION_ID)).toBeUndefined();
    expect(world.subscriptions.all().filter((s) => s.connectionId === CONNECTION_ID)).toEqual([]);
  });
});

/** An identified ext connection with an app channel, as `$connect` and the app's subscribe leave it, under a known sid. */
async function putRestorable(world: SessionWorld, appChannel: string): Promise<void> {
  const now = world.clock.now();
  await world.connections.put({
    connectionId: 'first=',
    connectedAt: now,
    expiresAt: Math.floor(now / 1000) + 10_800,
    subprotocol: EXT,
    sid: 'AAAAAAAAAAAAAAAAAAAAAA',
    headers: {},
    query: {},
    identifiers: '{"user":"ann"}',
    cstate: { token: 'abc' },
    channels: { [appChannel]: { state: { page: '1' }, streams: ['chat:1'] } },
  });
  await world.subscriptions.add({ stream: 'chat:1', connectionId: 'first=', identifier: appChannel, expiresAt: Math.floor(now / 1000) + 10_800, sid: 'AAAAAAAAAAAAAAAAAAAAAA' });
}
