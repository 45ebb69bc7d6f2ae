import { CONNECTION_ID, makeWorld, pubsubIdentifier, send, subscribeCommand, World } from './support';
import { MemoryStreamHistory } from '../../lambda/adapters/memory/memory-stream-history';
import { deliverBroadcast, DeliverBroadcastDeps, fanOut } from '../../lambda/core/broadcast';
import { CableSettings } from '../../lambda/core/config';
import { connect } from '../../lambda/core/connect';
import { MessageResult } from '../../lambda/core/message';
import { Broadcast, ShardRequest } from '../../lambda/core/ports';
import { encodeFrame } from '../../lambda/core/protocol';
import { REPLAY_HOLD_MS } from '../../lambda/core/replay-hold';

const EXT = 'actioncable-v1-ext-json';
const ROOM = 'room:1';
const IDENTIFIER = pubsubIdentifier({ stream_name: ROOM });
/** Over 100 characters: a rejection's log keeps the first 100 (the operator's record, not the whole frame). */
const LONG_ROOM = `room:${'x'.repeat(200)}`;
const LONG_IDENTIFIER = pubsubIdentifier({ stream_name: LONG_ROOM });

type HistoryWorld = World & { readonly history: MemoryStreamHistory; readonly shards: { dispatch(shard: ShardRequest): Promise<void> } };

function historyWorld(settings: CableSettings = {}): HistoryWorld & { readonly dispatched: ShardRequest[] } {
  const world = makeWorld({ secret: 'secret', publicStreams: true, ...settings });
  const dispatched: ShardRequest[] = [];
  return { ...world, history: new MemoryStreamHistory(), dispatched, shards: { dispatch: async (shard) => void dispatched.push(shard) } };
}

async function open(world: World, protocol: string, connectionId: string): Promise<void> {
  await connect(world, { connectionId, headers: { 'sec-websocket-protocol': protocol }, query: {} });
  world.transport.open(connectionId);
}

async function broadcast(world: HistoryWorld, message: string, extra: Partial<Broadcast> = {}) {
  return deliverBroadcast(world as DeliverBroadcastDeps, { stream: ROOM, data: JSON.stringify(message), ...extra });
}

/** What the message handler does with a result: post frames, then transmissions, then `afterSent`. */
async function post(world: World, result: MessageResult, connectionId = CONNECTION_ID): Promise<void> {
  for (const frame of result.frames) await world.transport.send(connectionId, encodeFrame(frame));
  for (const text of result.transmissions ?? []) await world.transport.send(connectionId, text);
  await result.afterSent?.();
}

/** What the client is sent, in order: the result's frames, then its transmissions. */
function sentFrames(result: MessageResult): unknown[] {
  return [...result.frames, ...(result.transmissions ?? []).map((text) => JSON.parse(text) as unknown)];
}

/** Each frame sent as its message, or its type for a protocol frame. */
function sentMessages(result: MessageResult): unknown[] {
  return sentFrames(result).map((f) => (f as { message?: unknown }).message ?? (f as { type: string }).type);
}

/** The `history.rejected` entries: the operator's only record of why a client was refused its history. */
function rejections(world: World): unknown[] {
  return world.logger.entries.filter((entry) => entry.event === 'history.rejected');
}

function rejected(identifier: string, reason: string, connectionId = CONNECTION_ID): unknown {
  return { level: 'info', event: 'history.rejected', fields: { connectionId, identifier: identifier.slice(0, 100), reason } };
}

function historyCommand(history: unknown): string {
  return JSON.stringify({ command: 'subscribe', identifier: IDENTIFIER, history });
}

/** An ext client that saw `seen` broadcasts of ROOM, then reconnected as `connectionId`. */
async function reconnected(world: HistoryWorld, connectionId = CONNECTION_ID) {
  await open(world, EXT, connectionId);
  return world.transport.framesOf(connectionId).length;
}

describe('stream positions', () => {
  test('offset: consecutive per stream with one epoch; ext clients get stream_id/epoch/offset, plain clients exactly today\'s frame', async () => {
    const world = historyWorld();
    await open(world, EXT, 'ext=');
    await open(world, 'actioncable-v1-json', 'plain=');
    await send(world, subscribeCommand(IDENTIFIER), 'ext=');
    await send(world, subscribeCommand(IDENTIFIER), 'plain=');
    for (const m of ['a', 'b', 'c']) await broadcast(world, m);
    const ext = world.transport.framesOf('ext=') as Record<string, unknown>[];
    const epoch = ext[0].epoch;
    expect(typeof epoch).toBe('string');
    expect(ext).toEqual(['a', 'b', 'c'].map((message, i) => ({ identifier: IDENTIFIER, message, stream_id: ROOM, epoch, offset: i + 1 })));
    expect(world.transport.sent.get('plain=')).toEqual(['a', 'b', 'c'].map((m) => `{"identifier":${JSON.stringify(IDENTIFIER)},"message":"${m}"}`));
  });

  test('transient: not stored and no offset; the next broadcast takes the next offset', async () => {
    const world = historyWorld();
    await open(world, EXT, 'ext=');
    await send(world, subscribeCommand(IDENTIFIER), 'ext=');
    await broadcast(world, 'kept');
    await broadcast(world, 'typing', { transient: true });
    await broadcast(world, 'kept too');
    expect(world.transport.framesOf('ext=').map((f) => (f as { offset?: number }).offset)).toEqual([1, undefined, 2]);
    expect((await world.history.read(ROOM, 0, 10, world.clock.now())).map((m) => m.data)).toEqual(['"kept"', '"kept too"']);
  });

  test('sharded: every shard of a broadcast carries the same position', async () => {
    const world = historyWorld({ delivery: { shardSize: 2 } });
    for (const id of ['a=', 'b=', 'c=', 'd=', 'e=']) {
      await open(world, EXT, id);
      await send(world, subscribeCommand(IDENTIFIER), id);
    }
    await broadcast(world, 'x');
    expect(world.dispatched.length).toBe(3);
    const positions = world.dispatched.map((s) => JSON.stringify(s.broadcast.position));
    expect(new Set(positions)).toEqual(new Set([positions[0]]));
    expect(world.dispatched[0].broadcast.position?.offset).toBe(1);
  });
});

describe('history on subscribe', () => {
  async function missedThree(world: HistoryWorld) {
    await open(world, EXT, 'first=');
    await send(world, subscribeCommand(IDENTIFIER), 'first=');
    await broadcast(world, 'm1');
    const { epoch } = world.transport.framesOf('first=')[0] as { epoch: string };
    for (const m of ['m2', 'm3', 'm4']) await broadcast(world, m);
    return epoch;
  }

  test('replay: confirm, then what was missed in order, each once, then confirm_history; live frames follow', async () => {
    const world = historyWorld();
    const epoch = await missedThree(world);
    const before = await reconnected(world);
    await post(world, await send(world, historyCommand({ streams: { [ROOM]: { offset: 1, epoch } } })));
    await broadcast(world, 'm5');
    expect(world.transport.framesOf(CONNECTION_ID).slice(before)).toEqual([
      { type: 'confirm_subscription', identifier: IDENTIFIER },
      ...['m2', 'm3', 'm4'].map((message, i) => ({ identifier: IDENTIFIER, message, stream_id: ROOM, epoch, offset: i + 2 })),
      { type: 'confirm_history', identifier: IDENTIFIER },
      { identifier: IDENTIFIER, message: 'm5', stream_id: ROOM, epoch, offset: 5 },
    ]);
  });

  test('since: the kept messages stored since then', async () => {
    const world = historyWorld();
    await missedThree(world);
    await reconnected(world);
    const result = await send(world, historyCommand({ since: Math.floor(world.clock.now() / 1000) - 60 }));
    expect(result.transmissions?.map((t) => JSON.parse(t).message ?? JSON.parse(t).type)).toEqual(['confirm_subscription', 'm1', 'm2', 'm3', 'm4', 'confirm_history']);
  });

  test.each<{ position: (epoch: string) => unknown; reason: string }>([
    { position: () => ({ [ROOM]: { offset: 1, epoch: 'another' } }), reason: 'epoch_changed' },
    { position: (epoch) => ({ [ROOM]: { offset: 9, epoch } }), reason: 'offset_from_the_future' },
    { position: () => ({ [ROOM]: { offset: 'one', epoch: 'e' } }), reason: 'invalid_position' },
    { position: () => 'everything', reason: 'invalid_streams' },
  ])('reject_history: $reason, after confirm_subscription, nothing replayed, the reason logged', async ({ position, reason }) => {
    const world = historyWorld();
    const epoch = await missedThree(world);
    await reconnected(world);
    const result = await send(world, historyCommand({ streams: position(epoch) }));
    expect(sentFrames(result)).toEqual([{ type: 'confirm_subscription', identifier: IDENTIFIER }, { type: 'reject_history', identifier: IDENTIFIER }]);
    expect(rejections(world)).toEqual([rejected(IDENTIFIER, reason)]);
  });

  test('malformed history: confirm then reject_history, the rows not held, the reason logged', async () => {
    const world = historyWorld();
    await reconnected(world);
    const result = await send(world, JSON.stringify({ command: 'subscribe', identifier: LONG_IDENTIFIER, history: { streams: 'everything' } }));
    expect(result).toEqual({ frames: [{ type: 'confirm_subscription', identifier: LONG_IDENTIFIER }, { type: 'reject_history', identifier: LONG_IDENTIFIER }], close: false });
    expect(world.subscriptions.all()).toEqual([expect.objectContaining({ stream: LONG_ROOM })]);
    expect(world.subscriptions.all()[0].holdUntil).toBeUndefined();
    expect(rejections(world)).toEqual([rejected(LONG_IDENTIFIER, 'invalid_streams')]);
  });

  test('reject_history from the replay: logged with its reason, the connection kept', async () => {
    const world = historyWorld();
    await reconnected(world);
    const result = await send(world, JSON.stringify({ command: 'subscribe', identifier: LONG_IDENTIFIER, history: { streams: { [LONG_ROOM]: { offset: 1, epoch: 'gone' } } } }));
    expect(sentFrames(result)).toEqual([{ type: 'confirm_subscription', identifier: LONG_IDENTIFIER }, { type: 'reject_history', identifier: LONG_IDENTIFIER }]);
    expect(result.close).toBe(false);
    expect(rejections(world)).toEqual([rejected(LONG_IDENTIFIER, 'history_expired')]);
  });

  test('a rejected subscribe with history: the reject_subscription alone, no history answer', async () => {
    const world = historyWorld();
    await reconnected(world);
    const unsigned = pubsubIdentifier({ signed_stream_name: 'not-signed' });
    for (const history of ['everything', { since: 1 }]) {
      expect(await send(world, JSON.stringify({ command: 'subscribe', identifier: unsigned, history }))).toEqual({
        frames: [{ type: 'reject_subscription', identifier: unsigned }], close: false,
      });
    }
    expect(rejections(world)).toEqual([]);
  });

  test('a re-sent subscribe with history: the copy that created the rows replays, the other is only confirmed', async () => {
    const world = historyWorld();
    const epoch = await missedThree(world);
    await reconnected(world);
    const body = historyCommand({ streams: { [ROOM]: { offset: 1, epoch } } });
    const first = await send(world, body);
    expect(first.close).toBe(false);
    expect(sentFrames(first).map((f) => (f as { message?: string }).message ?? (f as { type: string }).type)).toEqual([
      'confirm_subscription', 'm2', 'm3', 'm4', 'confirm_history',
    ]);
    expect(await send(world, body)).toEqual({ frames: [{ type: 'confirm_subscription', identifier: IDENTIFIER }], close: false });
  });

  test('at the subscription cap: a subscribe with history is answered reject_subscription alone, its history not answered', async () => {
    const world = historyWorld({ limits: { maxSubscriptionsPerConnection: 1 } });
    await reconnected(world);
    await send(world, subscribeCommand(pubsubIdentifier({ stream_name: 'room:2' })));
    expect(await send(world, historyCommand('everything'))).toEqual({ frames: [{ type: 'reject_subscription', identifier: IDENTIFIER }], close: false });
    expect(rejections(world)).toEqual([]);
  });

  test('at the subscription cap, a re-sent copy that lost the race to the last slot is confirmed and replays nothing', async () => {
    const world = historyWorld({ limits: { maxSubscriptionsPerConnection: 1 } });
    const epoch = await missedThree(world);
    await reconnected(world);
    const body = historyCommand({ streams: { [ROOM]: { offset: 1, epoch } } });
    expect(sentMessages(await send(world, body))).toEqual(['confirm_subscription', 'm2', 'm3', 'm4', 'confirm_history']);
    // The copy's first read ran before the other copy stored the row; its slot is then refused.
    jest.spyOn(world.subscriptions, 'has').mockResolvedValueOnce(false);
    expect(await send(world, body)).toEqual({ frames: [{ type: 'confirm_subscription', identifier: IDENTIFIER }], close: false });
  });

  test('unknown stream: a position for a stream the subscription does not have is ignored; an up-to-date one replays nothing, reading nothing', async () => {
    const world = historyWorld();
    const epoch = await missedThree(world);
    await reconnected(world);
    const read = jest.spyOn(world.history, 'read');
    const result = await send(world, historyCommand({ streams: { 'other:stream': { offset: 1, epoch: 'zz' }, [ROOM]: { offset: 4, epoch } } }));
    expect(result.transmissions?.map((t) => JSON.parse(t).type)).toEqual(['confirm_subscription', 'confirm_history']);
    // Up to date: no Query of the stream's messages.
    expect(read).not.toHaveBeenCalled();
  });

  test('history limit: a position exactly the limit behind is replayed; one further behind is offset_out_of_range', async () => {
    const world = historyWorld({ history: { limit: 2 } });
    const epoch = await missedThree(world);
    for (const id of ['edge=', 'far=']) await open(world, EXT, id);
    const edge = await send(world, historyCommand({ streams: { [ROOM]: { offset: 2, epoch } } }), 'edge=');
    const far = await send(world, historyCommand({ streams: { [ROOM]: { offset: 1, epoch } } }), 'far=');
    expect(sentMessages(edge)).toEqual(['confirm_subscription', 'm3', 'm4', 'confirm_history']);
    expect(sentMessages(far)).toEqual(['confirm_subscription', 'reject_history']);
    expect(rejections(world)).toEqual([rejected(IDENTIFIER, 'offset_out_of_range', 'far=')]);
  });

  test('history_expired: a message between the position and the latest has expired, so none is replayed', async () => {
    const world = historyWorld();
    await open(world, EXT, 'first=');
    await send(world, subscribeCommand(IDENTIFIER), 'first=');
    await broadcast(world, 'm1');
    const { epoch } = world.transport.framesOf('first=')[0] as { epoch: string };
    world.clock.advance(1_000);
    await broadcast(world, 'm2');
    world.clock.advance(200_000);
    await broadcast(world, 'm3');
    // 300 s after m2 (the history TTL): m2 has expired, m3 and the stream's position have not.
    world.clock.advance(100_000);
    await reconnected(world);
    const result = await send(world, historyCommand({ streams: { [ROOM]: { offset: 1, epoch } } }));
    expect(sentMessages(result)).toEqual(['confirm_subscription', 'reject_history']);
    expect(rejections(world)).toEqual([rejected(IDENTIFIER, 'history_expired')]);
  });

  test('history limit 0: broadcasts carry no position and are not stored; a history request is rejected as history_disabled', async () => {
    const world = historyWorld({ history: { limit: 0 } });
    await open(world, EXT, 'first=');
    await send(world, subscribeCommand(IDENTIFIER), 'first=');
    await broadcast(world, 'm1');
    expect(world.transport.framesOf('first=')).toEqual([{ identifier: IDENTIFIER, message: 'm1' }]);
    expect(await world.history.position(ROOM, world.clock.now())).toBeUndefined();
    await reconnected(world);
    const result = await send(world, historyCommand({ since: Math.floor(world.clock.now() / 1000) - 60 }));
    expect(sentMessages(result)).toEqual(['confirm_subscription', 'reject_history']);
    expect(rejections(world)).toEqual([rejected(IDENTIFIER, 'history_disabled')]);
  });

  test('since: a message stored before it is left out, one stored in its very second is replayed', async () => {
    const world = historyWorld();
    await open(world, EXT, 'first=');
    await send(world, subscribeCommand(IDENTIFIER), 'first=');
    await broadcast(world, 'old');
    world.clock.advance(120_500); // START_MS is 500 ms into a second: now on a whole second
    const since = world.clock.now() / 1000;
    expect(Number.isInteger(since)).toBe(true);
    await broadcast(world, 'on time');
    world.clock.advance(500);
    await broadcast(world, 'later');
    await reconnected(world);
    expect(sentMessages(await send(world, historyCommand({ since })))).toEqual(['confirm_subscription', 'on time', 'later', 'confirm_history']);
  });

  test('since: at most the history limit\'s latest messages, however far back since is', async () => {
    const world = historyWorld({ history: { limit: 2 } });
    await missedThree(world);
    await reconnected(world);
    const result = await send(world, historyCommand({ since: Math.floor(world.clock.now() / 1000) - 60 }));
    expect(sentMessages(result)).toEqual(['confirm_subscription', 'm3', 'm4', 'confirm_history']);
  });

  test('race: a broadcast given its offset before the position read is replayed, not also sent live; one after waits for the replay', async () => {
    const world = historyWorld();
    const epoch = await missedThree(world);
    // m5 is positioned, but its fan-out has not run yet when the client resubscribes.
    const m5: Broadcast = { stream: ROOM, data: '"m5"', position: await world.history.append(ROOM, '"m5"', { nowMs: world.clock.now(), ttlSeconds: 300, newEpoch: 'x' }) };
    const before = await reconnected(world);
    const result = await send(world, historyCommand({ streams: { [ROOM]: { offset: 4, epoch } } }));
    // Fan-out of m5 and of m6 while the replay is being posted: both wait for its release.
    let posted: Promise<void> | undefined;
    world.clock.onSleep = () => {
      posted ??= post(world, result);
    };
    const late = broadcast(world, 'm6');
    const early = fanOut(world, m5);
    await Promise.all([late, early]);
    await posted;
    const received = world.transport.framesOf(CONNECTION_ID).slice(before) as { offset?: number; type?: string }[];
    expect(received.map((f) => f.offset ?? f.type)).toEqual([
      'confirm_subscription', 5, 'confirm_history', 6,
    ]);
  });
});

describe('history command', () => {
  const command = (history: unknown) => JSON.stringify({ command: 'history', identifier: IDENTIFIER, history });

  test('history: on a held subscription, the missed messages in order then confirm_history, no second confirm; live frames follow', async () => {
    const world = historyWorld();
    await open(world, EXT, CONNECTION_ID);
    await send(world, subscribeCommand(IDENTIFIER));
    await broadcast(world, 'm1');
    const { epoch } = world.transport.framesOf(CONNECTION_ID)[0] as { epoch: string };
    // Missed while, say, the socket was being restored (phase 2): stored, not received.
    for (const m of ['m2', 'm3']) await world.history.append(ROOM, JSON.stringify(m), { nowMs: world.clock.now(), ttlSeconds: 300, newEpoch: 'x' });
    const result = await send(world, command({ streams: { [ROOM]: { offset: 1, epoch } } }));
    expect(world.subscriptions.all()[0].holdUntil).toBe(world.clock.now() + REPLAY_HOLD_MS);
    await post(world, result);
    await broadcast(world, 'm4');
    expect(world.transport.framesOf(CONNECTION_ID).map((f) => (f as { message?: string }).message ?? (f as { type: string }).type)).toEqual([
      'm1', 'm2', 'm3', 'confirm_history', 'm4',
    ]);
    expect(world.subscriptions.all()[0]).toMatchObject({ liveFrom: 4 });
    expect(world.subscriptions.all()[0].holdUntil).toBeUndefined();
  });

  test.each<{ name: string; protocol: string; subscribed: boolean; history: unknown; reason: string; malformed?: boolean }>([
    { name: 'not subscribed', protocol: EXT, subscribed: false, history: { since: 1 }, reason: 'not_subscribed' },
    { name: 'a plain client', protocol: 'actioncable-v1-json', subscribed: true, history: { since: 1 }, reason: 'not_an_ext_client' },
    { name: 'malformed history', protocol: EXT, subscribed: true, history: { streams: { [LONG_ROOM]: { offset: -3, epoch: 'e' } } }, reason: 'invalid_position', malformed: true },
    { name: 'no history at all', protocol: EXT, subscribed: true, history: undefined, reason: 'history_not_an_object', malformed: true },
  ])('history: $name is answered reject_history, holds nothing, and is logged ($reason)', async ({ protocol, subscribed, history, reason, malformed }) => {
    const world = historyWorld();
    await open(world, protocol, CONNECTION_ID);
    if (subscribed) await send(world, subscribeCommand(LONG_IDENTIFIER));
    const read = jest.spyOn(world.connections, 'get');
    const longCommand = JSON.stringify({ command: 'history', identifier: LONG_IDENTIFIER, history });
    expect(await send(world, longCommand)).toEqual({ frames: [{ type: 'reject_history', identifier: LONG_IDENTIFIER }], close: false });
    expect(world.subscriptions.all().map((row) => row.holdUntil)).toEqual(subscribed ? [undefined] : []);
    expect(rejections(world)).toEqual([rejected(LONG_IDENTIFIER, reason)]);
    // A malformed request is refused before the connection's row is read.
    if (malformed) expect(read).not.toHaveBeenCalled();
  });
});
