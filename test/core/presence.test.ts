import { connectionRow, putConnection } from './rpc-support';
import { CONNECTION_ID, makeWorld, OTHER_CONNECTION_ID, pubsubIdentifier, recordingLocalShards, SECRET, send, subscribeCommand, turboIdentifier, World } from './support';
import { MemoryPresenceStore } from '../../lambda/adapters/memory/memory-presence-store';
import { MemoryStreamHistory } from '../../lambda/adapters/memory/memory-stream-history';
import { CableSettings } from '../../lambda/core/config';
import { connect } from '../../lambda/core/connect';
import { handleDisconnect } from '../../lambda/core/disconnect';
import { MessageResult } from '../../lambda/core/message';
import { ShardRequest } from '../../lambda/core/ports';
import { infoFrame, MAX_PRESENCE_ID_BYTES, MAX_PRESENCE_INFO_BYTES, presenceCommand, PresenceRecord, PRESENCE_STREAM_STATE } from '../../lambda/core/presence';
import { byteLength, disconnect, MAX_MESSAGE_BYTES } from '../../lambda/core/protocol';
import { RpcClient } from '../../lambda/core/rpc-client';
import { signStream } from '../../lambda/core/signed-stream';
import { makeMessageHandler } from '../../lambda/handlers/message-handler';
import { LocalShardDispatcher } from '../../lambda/local/local-shard-dispatcher';

const EXT = 'actioncable-v1-ext-json';
const THIRD_ID = 'Th33Th33Th3=';
const CHAT = 'chat:42';
const PUBLIC = pubsubIdentifier({ stream_name: CHAT });
const SIGNED = pubsubIdentifier({ signed_stream_name: signStream(CHAT, SECRET) });
const TURBO = turboIdentifier(signStream(CHAT, SECRET));
const APP = JSON.stringify({ channel: 'ChatChannel', room: 42 });
const NOTHING: MessageResult = { frames: [], close: false };

type PresenceWorld = World & {
  readonly history: MemoryStreamHistory;
  readonly presence: MemoryPresenceStore;
  readonly shards: LocalShardDispatcher;
  readonly dispatched: ShardRequest[];
};

/** Memory stores, a history kept (a stored presence event would show), events fanned out in-process. */
function presenceWorld(settings: CableSettings = {}): PresenceWorld {
  const world = makeWorld({ secret: SECRET, publicStreams: true, ...settings });
  const { shards, dispatched } = recordingLocalShards(world);
  return { ...world, history: new MemoryStreamHistory(), presence: new MemoryPresenceStore(), shards, dispatched };
}

async function open(world: World, connectionId: string, protocol = EXT): Promise<void> {
  await connect(world, { connectionId, headers: { 'sec-websocket-protocol': protocol }, query: {} });
  world.transport.open(connectionId);
}

const join = (identifier: string, id?: unknown, info?: unknown) => JSON.stringify({ command: 'join', identifier, ...(id === undefined ? {} : { presence: { id, info } }) });
const leave = (identifier: string) => JSON.stringify({ command: 'leave', identifier });
const info = (identifier: string) => JSON.stringify({ command: 'presence', identifier, data: {} });

async function run(world: PresenceWorld, body: string, connectionId = CONNECTION_ID): Promise<MessageResult> {
  const { afterSent, ...result } = await send(world, body, connectionId);
  // What the message handler does once the frames are sent: a join is announced then.
  await afterSent?.();
  await world.shards.drain();
  return result;
}

/** Presence frames each connection received (broadcast `type: presence`). */
function events(world: World, ...ids: string[]): Record<string, unknown[]> {
  return Object.fromEntries(ids.map((id) => [id, world.transport.framesOf(id).filter((f) => (f as { type?: string }).type === 'presence')]));
}

async function subscribed(world: PresenceWorld, identifier: string, ...ids: string[]): Promise<void> {
  for (const id of ids) {
    await open(world, id);
    expect((await send(world, subscribeCommand(identifier), id)).frames).toEqual([{ type: 'confirm_subscription', identifier }]);
  }
}

const joinEvent = (identifier: string, id: string, infoValue?: unknown) => ({ type: 'presence', identifier, message: { type: 'join', id, ...(infoValue === undefined ? {} : { info: infoValue }) } });
const leaveEvent = (identifier: string, id: string) => ({ type: 'presence', identifier, message: { type: 'leave', id } });
const errorFrame = (identifier: string) => ({ type: 'presence', identifier, message: { type: 'error' } });

/** The sampled warning of a refusal: its reason and the identifier, cut to 100 characters. */
function ignored(world: World, reason: string, identifier: string, connectionId = CONNECTION_ID): void {
  expect(world.logger.entries.filter((entry) => entry.event === 'message.ignored')).toEqual([
    { level: 'warn', event: 'message.ignored', fields: { connectionId, reason, identifier: identifier.slice(0, 100), count: 1 } },
  ]);
}

describe('presence: $pubsub public streams', () => {
  test('presence: join is announced to every subscriber (the joiner too) as a transient presence broadcast, never in history', async () => {
    const world = presenceWorld();
    await subscribed(world, PUBLIC, CONNECTION_ID, OTHER_CONNECTION_ID);

    expect(await run(world, join(PUBLIC, 'u1', { name: 'Vova' }))).toEqual(NOTHING);

    const event = joinEvent(PUBLIC, 'u1', { name: 'Vova' });
    expect(events(world, CONNECTION_ID, OTHER_CONNECTION_ID)).toEqual({ [CONNECTION_ID]: [event], [OTHER_CONNECTION_ID]: [event] });
    expect(world.dispatched).toEqual([{ broadcast: { stream: CHAT, data: JSON.stringify({ type: 'join', id: 'u1', info: { name: 'Vova' } }), transient: true, broadcastType: 'presence' } }]);
    expect(await world.history.position(CHAT, world.clock.now())).toBeUndefined();
  });

  test('presence: info answers the sender {type: info, total, records}', async () => {
    const world = presenceWorld();
    await subscribed(world, PUBLIC, CONNECTION_ID, OTHER_CONNECTION_ID);
    await run(world, join(PUBLIC, 'u1', { name: 'Vova' }));
    await run(world, join(PUBLIC, 'u2'), OTHER_CONNECTION_ID);

    expect(await run(world, info(PUBLIC), OTHER_CONNECTION_ID)).toEqual({
      frames: [{ type: 'presence', identifier: PUBLIC, message: { type: 'info', total: 2, records: [{ id: 'u1', info: { name: 'Vova' } }, { id: 'u2' }] } }],
      close: false,
    });
  });

  test('presence: several sessions with one id count once: join announced on the first, leave on the last', async () => {
    const world = presenceWorld();
    await subscribed(world, PUBLIC, CONNECTION_ID, OTHER_CONNECTION_ID, THIRD_ID);
    await run(world, join(PUBLIC, 'u1'), CONNECTION_ID);
    await run(world, join(PUBLIC, 'u1'), OTHER_CONNECTION_ID);
    expect((await run(world, info(PUBLIC), THIRD_ID)).frames[0]).toMatchObject({ message: { total: 1 } });

    expect(await run(world, leave(PUBLIC), CONNECTION_ID)).toEqual(NOTHING);
    expect(events(world, THIRD_ID)[THIRD_ID]).toEqual([joinEvent(PUBLIC, 'u1')]);
    await run(world, leave(PUBLIC), OTHER_CONNECTION_ID);
    expect(events(world, THIRD_ID)[THIRD_ID]).toEqual([joinEvent(PUBLIC, 'u1'), leaveEvent(PUBLIC, 'u1')]);
    expect((await run(world, info(PUBLIC), THIRD_ID)).frames[0]).toEqual({ type: 'presence', identifier: PUBLIC, message: { type: 'info', total: 0, records: [] } });
  });

  test('presence: a subscribe with a presence field joins once confirmed (@anycable/core resubscribing); unsubscribe leaves at once', async () => {
    const world = presenceWorld();
    await subscribed(world, PUBLIC, OTHER_CONNECTION_ID);
    await open(world, CONNECTION_ID);
    const result = await run(world, JSON.stringify({ command: 'subscribe', identifier: PUBLIC, presence: { id: 'u1' } }));
    expect(result.frames).toEqual([{ type: 'confirm_subscription', identifier: PUBLIC }]);
    await run(world, JSON.stringify({ command: 'unsubscribe', identifier: PUBLIC }));
    expect(events(world, OTHER_CONNECTION_ID)[OTHER_CONNECTION_ID]).toEqual([joinEvent(PUBLIC, 'u1'), leaveEvent(PUBLIC, 'u1')]);
  });

  test('presence: through the $default handler, a subscribe with a presence field announces its join only after its confirm is sent', async () => {
    const world = presenceWorld();
    await open(world, CONNECTION_ID);
    // In AWS the announcement is a fan-out Lambda racing the handler's own post of the confirm, and
    // @anycable/core drops a channel's messages until its confirm_subscription arrives: the join
    // must not even be dispatched before the confirm is out.
    const order: string[] = [];
    const post = world.transport.send.bind(world.transport);
    world.transport.send = async (id, text) => (order.push(`send ${(JSON.parse(text) as { type?: string }).type}`), post(id, text));
    const dispatch = world.shards.dispatch.bind(world.shards);
    world.shards.dispatch = async (shard) => (order.push(`dispatch ${shard.broadcast.broadcastType}`), dispatch(shard));

    const body = JSON.stringify({ command: 'subscribe', identifier: PUBLIC, presence: { id: 'u1' } });
    await makeMessageHandler(async () => world)({
      requestContext: { connectionId: CONNECTION_ID, routeKey: '$default', eventType: 'MESSAGE', stage: 'prod', domainName: 'cable.example.com' },
      body,
    });
    await world.shards.drain();

    expect(order).toEqual(['send confirm_subscription', 'dispatch presence', 'send presence']);
    expect(events(world, CONNECTION_ID)[CONNECTION_ID]).toEqual([joinEvent(PUBLIC, 'u1')]);
  });

  test('presence: a disconnected session stays for the presence TTL (no leave at once), then is gone from info', async () => {
    const world = presenceWorld({ presenceTtlSeconds: 15 });
    await subscribed(world, PUBLIC, CONNECTION_ID, OTHER_CONNECTION_ID);
    await run(world, join(PUBLIC, 'u1'));
    await handleDisconnect({ ...world, config: world.config }, CONNECTION_ID);

    world.clock.advance(14_000);
    expect((await run(world, info(PUBLIC), OTHER_CONNECTION_ID)).frames[0]).toMatchObject({ message: { total: 1 } });
    world.clock.advance(2_000);
    expect((await run(world, info(PUBLIC), OTHER_CONNECTION_ID)).frames[0]).toMatchObject({ message: { total: 0 } });
    expect(events(world, OTHER_CONNECTION_ID)[OTHER_CONNECTION_ID]).toEqual([joinEvent(PUBLIC, 'u1')]);
  });

  test('presence: one id rejoining from a new session within the TTL is not announced again', async () => {
    const world = presenceWorld();
    await subscribed(world, PUBLIC, CONNECTION_ID, OTHER_CONNECTION_ID);
    await run(world, join(PUBLIC, 'u1'));
    await handleDisconnect(world, CONNECTION_ID);
    await subscribed(world, PUBLIC, THIRD_ID);
    await run(world, join(PUBLIC, 'u1'), THIRD_ID);
    expect(events(world, OTHER_CONNECTION_ID)[OTHER_CONNECTION_ID]).toEqual([joinEvent(PUBLIC, 'u1')]);
  });

  test('presence: a session whose $disconnect never came is gone from info once the connection row\'s TTL (ttlSeconds) has passed', async () => {
    const world = presenceWorld();
    await subscribed(world, PUBLIC, CONNECTION_ID, OTHER_CONNECTION_ID);
    await run(world, join(PUBLIC, 'u1'));
    world.clock.advance(world.config.ttlSeconds * 1000 - 1_000);
    expect((await run(world, info(PUBLIC), OTHER_CONNECTION_ID)).frames[0]).toMatchObject({ message: { total: 1 } });
    world.clock.advance(1_000);
    expect((await run(world, info(PUBLIC), OTHER_CONNECTION_ID)).frames[0]).toMatchObject({ message: { total: 0 } });
  });

  test('presence: a null info is no info; an id and an info at their bounds join', async () => {
    const world = presenceWorld();
    await subscribed(world, PUBLIC, CONNECTION_ID, OTHER_CONNECTION_ID, THIRD_ID);
    const longId = 'i'.repeat(MAX_PRESENCE_ID_BYTES);
    const bigInfo = 'x'.repeat(MAX_PRESENCE_INFO_BYTES - 2); // JSON adds the quotes
    expect(await run(world, join(PUBLIC, 'u1', null))).toEqual(NOTHING);
    expect(await run(world, join(PUBLIC, longId), OTHER_CONNECTION_ID)).toEqual(NOTHING);
    expect(await run(world, join(PUBLIC, 'u3', bigInfo), THIRD_ID)).toEqual(NOTHING);
    expect(events(world, THIRD_ID)[THIRD_ID]).toEqual([joinEvent(PUBLIC, 'u1'), joinEvent(PUBLIC, longId), joinEvent(PUBLIC, 'u3', bigInfo)]);
  });

  test('presence: unsubscribing a channel that cannot have presence (Turbo) reads no presence', async () => {
    const world = presenceWorld({ streamsPresence: true });
    await subscribed(world, TURBO, CONNECTION_ID);
    const leaveSpy = jest.spyOn(world.presence, 'leave');
    await run(world, JSON.stringify({ command: 'unsubscribe', identifier: TURBO }));
    expect(leaveSpy).not.toHaveBeenCalled();
  });
});

describe('presence: refusals answer {type: presence, message: {type: error}} and count as invalid frames', () => {
  interface Refusal {
    name: string; settings?: CableSettings; identifier: string; subscribe?: string; body: (identifier: string) => string; reason: string;
  }
  const cases: Refusal[] = [
    { name: 'join without an id', identifier: PUBLIC, body: (i) => join(i), reason: 'presence_missing' },
    { name: 'join with a null presence', identifier: PUBLIC, body: (i) => JSON.stringify({ command: 'join', identifier: i, presence: null }), reason: 'presence_missing' },
    { name: 'join with a number id', identifier: PUBLIC, body: (i) => join(i, 7), reason: 'presence_id_missing' },
    { name: 'join with an empty id', identifier: PUBLIC, body: (i) => join(i, ''), reason: 'presence_id_missing' },
    { name: 'join with an id over the bound', identifier: PUBLIC, body: (i) => join(i, 'i'.repeat(MAX_PRESENCE_ID_BYTES + 1)), reason: 'presence_id_too_long' },
    { name: 'join with info over the bound', identifier: PUBLIC, body: (i) => join(i, 'u1', 'x'.repeat(MAX_PRESENCE_INFO_BYTES)), reason: 'presence_info_too_large' },
    { name: 'info on a signed stream without streamsPresence', identifier: SIGNED, body: info, reason: 'no_presence' },
    { name: 'join on a Turbo stream, even with streamsPresence', settings: { streamsPresence: true }, identifier: TURBO, body: (i) => join(i, 'u1'), reason: 'no_presence' },
    { name: 'info on a stream not subscribed', identifier: PUBLIC, subscribe: SIGNED, body: info, reason: 'presence_not_subscribed' },
    { name: 'leave without a join', identifier: PUBLIC, body: leave, reason: 'presence_not_joined' },
    { name: 'join on an app channel without RPC', identifier: APP, subscribe: PUBLIC, body: (i) => join(i, 'u1'), reason: 'presence_unknown_channel' },
  ];
  test.each(cases)('presence: $name ($reason)', async ({ settings, identifier, subscribe, body, reason }) => {
    const world = presenceWorld({ streamsPresence: false, ...settings });
    await subscribed(world, subscribe ?? identifier, CONNECTION_ID, OTHER_CONNECTION_ID);
    expect(await run(world, body(identifier))).toEqual({ frames: [errorFrame(identifier)], close: false });
    expect(world.dispatched).toEqual([]);
    expect(world.connections.counts.get(CONNECTION_ID)?.invalidFrames).toBe(1);
    ignored(world, reason, identifier);
  });

  test('presence: the refusal that reaches limits.maxInvalidFrames closes with invalid_request', async () => {
    const world = presenceWorld({ limits: { maxInvalidFrames: 1 } });
    await subscribed(world, PUBLIC, CONNECTION_ID);
    expect(await run(world, leave(PUBLIC))).toEqual({ frames: [disconnect('invalid_request', false)], close: true });
  });

  test('presence: a connection without a row is refused and closed (nothing to count on)', async () => {
    const world = presenceWorld();
    expect(await presenceCommand(world, CONNECTION_ID, 'join', PUBLIC, { id: 'u1' })).toEqual({ frames: [disconnect('invalid_request', false)], close: true });
    expect(world.logger.entries).toContainEqual({
      level: 'warn', event: 'message.invalid_request', fields: { connectionId: CONNECTION_ID, reason: 'invalid_frame_unknown_connection', frame: 'presence_unknown_connection' },
    });
  });

  test('presence: a signed stream with streamsPresence joins', async () => {
    const world = presenceWorld({ streamsPresence: true });
    await subscribed(world, SIGNED, CONNECTION_ID, OTHER_CONNECTION_ID);
    await run(world, join(SIGNED, 'u1'));
    expect(events(world, OTHER_CONNECTION_ID)[OTHER_CONNECTION_ID]).toEqual([joinEvent(SIGNED, 'u1')]);
  });

  test('presence: a session joined under one id cannot join the same channel under another (anycable-go: presence ID mismatch)', async () => {
    const world = presenceWorld();
    await subscribed(world, PUBLIC, CONNECTION_ID, OTHER_CONNECTION_ID);
    await run(world, join(PUBLIC, 'u1'));
    expect(await run(world, join(PUBLIC, 'u2'))).toEqual({ frames: [errorFrame(PUBLIC)], close: false });
    expect(events(world, OTHER_CONNECTION_ID)[OTHER_CONNECTION_ID]).toEqual([joinEvent(PUBLIC, 'u1')]);
    ignored(world, 'presence_id_mismatch', PUBLIC);
  });

  test('presence: without a presence store, refused', async () => {
    const world = presenceWorld();
    await subscribed(world, PUBLIC, CONNECTION_ID);
    const { presence: _, ...without } = world;
    expect(await send(without as World, join(PUBLIC, 'u1'))).toEqual({ frames: [errorFrame(PUBLIC)], close: false });
    ignored(world, 'presence_unavailable', PUBLIC);
  });
});

describe('presence: app channels (RPC), by the $p channel state', () => {
  test('presence: a channel whose state has $p joins on that stream; one without is refused', async () => {
    const world = { ...presenceWorld(), rpc: new RpcClient({ call: async () => { throw new Error('no RPC call expected'); } }) };
    await putConnection(world, connectionRow({ channels: { [APP]: { state: { [PRESENCE_STREAM_STATE]: 'room' }, streams: ['room'] } } }));
    await putConnection(world, connectionRow({ connectionId: OTHER_CONNECTION_ID, channels: { [APP]: { state: {}, streams: ['room'] } } }));
    world.transport.open(CONNECTION_ID);
    world.transport.open(OTHER_CONNECTION_ID);

    expect(await run(world, join(APP, 'u1'))).toEqual(NOTHING);
    expect(events(world, OTHER_CONNECTION_ID)[OTHER_CONNECTION_ID]).toEqual([joinEvent(APP, 'u1')]);
    expect(await run(world, join(APP, 'u2'), OTHER_CONNECTION_ID)).toEqual({ frames: [errorFrame(APP)], close: false });
    ignored(world, 'no_presence', APP, OTHER_CONNECTION_ID);
  });
});

describe('presence: the info frame', () => {
  test('presence: records past API Gateway\'s 128 KB frame are left out, ordered by id; total counts every id', () => {
    const bio = JSON.stringify({ bio: 'x'.repeat(MAX_PRESENCE_INFO_BYTES - 20) });
    const records = Array.from({ length: 100 }, (_, n) => ({ id: `user-${String(n).padStart(3, '0')}`, info: bio }));
    const frame = infoFrame(PUBLIC, records.reverse()) as { message: { total: number; records: Array<{ id: string }> } };
    expect(byteLength(JSON.stringify(frame))).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(frame.message.total).toBe(100);
    expect(frame.message.records.length).toBeGreaterThan(50);
    expect(frame.message.records.length).toBeLessThan(100);
    expect(frame.message.records[0].id).toBe('user-000');
  });

  /** 64 records whose full info frame is exactly `bytes` long (the last record's info padded to fit). */
  function recordsFilling(bytes: number): PresenceRecord[] {
    const records = Array.from({ length: 64 }, (_, n) => ({ id: `user-${String(n).padStart(2, '0')}`, bio: 'x'.repeat(2000) }));
    const size = () => byteLength(JSON.stringify({
      type: 'presence', identifier: PUBLIC, message: { type: 'info', total: records.length, records: records.map(({ id, bio }) => ({ id, info: { bio } })) },
    }));
    records[63].bio += 'x'.repeat(bytes - size());
    expect(size()).toBe(bytes);
    return records.map(({ id, bio }) => ({ id, info: JSON.stringify({ bio }) }));
  }

  test('presence: a frame 17 bytes under 128 KB keeps every record (the size counted with a 16-byte margin for the count)', () => {
    const frame = infoFrame(PUBLIC, recordsFilling(MAX_MESSAGE_BYTES - 17)) as { message: { total: number; records: unknown[] } };
    expect(frame.message.records.length).toBe(64);
    expect(byteLength(JSON.stringify(frame))).toBe(MAX_MESSAGE_BYTES - 17);
  });

  test('presence: a frame one byte over 128 KB with every record leaves the last out', () => {
    const frame = infoFrame(PUBLIC, recordsFilling(MAX_MESSAGE_BYTES + 1)) as { message: { total: number; records: Array<{ id: string }> } };
    expect(frame.message.total).toBe(64);
    expect(frame.message.records.map((r) => r.id)).toEqual(Array.from({ length: 63 }, (_, n) => `user-${String(n).padStart(2, '0')}`));
    expect(byteLength(JSON.stringify(frame))).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  });
});
