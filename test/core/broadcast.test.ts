import {
  Behaviour, connectionIds, DATA, DynamoLikeStore, expectedFrame, fanOutWorld, PUBSUB_ID, RecordingDispatcher, ROOM, TURBO_ID,
} from './broadcast-support';
import { MemorySubscriptionStore } from '../../lambda/adapters/memory/memory-subscription-store';
import { deliverBroadcast, fanOut, FanOutResult } from '../../lambda/core/broadcast';
import * as frames from '../../lambda/core/broadcast-frame';
import { MAX_FAILURE_LOGS } from '../../lambda/core/fan-out-tally';
import { Broadcast, SubscriptionPage, SubscriptionStore } from '../../lambda/core/ports';
import { MAX_MESSAGE_BYTES } from '../../lambda/core/protocol';

const identifierOf = (index: number) => (index % 2 === 0 ? TURBO_ID : PUBSUB_ID);
const IDS = connectionIds(6);

describe('fanOut', () => {
  test.each<{
    name: string;
    script?: Record<string, Behaviour>;
    broadcast?: Partial<Broadcast>;
    delivery?: { maxAttempts?: number; maxDelayMs?: number };
    delivered: string[];
    result: Partial<FanOutResult>;
    sleeps?: number[];
  }>([
    {
      name: 'delivery: every subscriber of the stream gets one frame under its own identifier',
      delivered: IDS,
      result: { subscribers: 6, delivered: 6, gone: 0, failed: 0, excluded: 0, retries: 0, pages: 1 },
    },
    {
      name: '410: the gone connection is counted and the others still get the frame',
      script: { c001: 'gone', c004: 'gone' },
      delivered: ['c000', 'c002', 'c003', 'c005'],
      result: { subscribers: 6, delivered: 4, gone: 2, failed: 0 },
    },
    {
      name: 'transient: retried with full-jitter backoff (base 50 ms, doubling) until it passes',
      script: { c002: { transient: 2 } },
      delivered: IDS,
      result: { delivered: 6, failed: 0, retries: 2 },
      sleeps: [25, 50],
    },
    {
      name: 'transient: after maxAttempts the subscriber is failed; delays are capped at maxDelayMs',
      script: { c002: { transient: 99 } },
      delivery: { maxAttempts: 4, maxDelayMs: 60 },
      delivered: ['c000', 'c001', 'c003', 'c004', 'c005'],
      result: { delivered: 5, failed: 1, retries: 3 },
      sleeps: [25, 30, 30],
    },
    {
      name: 'transient: maxAttempts 1 means no retry',
      script: { c002: { transient: 1 } },
      delivery: { maxAttempts: 1 },
      delivered: ['c000', 'c001', 'c003', 'c004', 'c005'],
      result: { delivered: 5, failed: 1, retries: 0 },
      sleeps: [],
    },
    {
      name: 'permanent: another error fails that subscriber at once; the rest are delivered',
      script: { c000: 'permanent', c005: 'permanent' },
      delivered: ['c001', 'c002', 'c003', 'c004'],
      result: { delivered: 4, failed: 2, retries: 0 },
      sleeps: [],
    },
    {
      name: 'exclude: meta.exclude_socket skips that connection only',
      broadcast: { excludeConnectionId: 'c003' },
      delivered: ['c000', 'c001', 'c002', 'c004', 'c005'],
      result: { subscribers: 6, delivered: 5, excluded: 1 },
    },
  ])('$name', async ({ script, broadcast, delivery: settings, delivered, result, sleeps }) => {
    const world = await fanOutWorld({ ids: IDS, script, delivery: settings });
    await world.subscriptions.add({ stream: 'lobby', connectionId: 'outsider', identifier: TURBO_ID, expiresAt: 0 });

    const outcome = await fanOut(world.deps, { stream: ROOM, data: DATA, ...broadcast });

    expect(outcome).toMatchObject(result);
    expect(world.scripted.decoded()).toEqual(Object.fromEntries(delivered.map((id) => [id, [expectedFrame(identifierOf(IDS.indexOf(id)))]])));
    if (sleeps) expect(world.clock.sleeps).toEqual(sleeps);
  });

  test('410: the connection row and all its subscriptions, in every stream, are removed', async () => {
    const world = await fanOutWorld({ ids: IDS, script: { c001: 'gone' } });
    await world.subscriptions.add({ stream: 'lobby', connectionId: 'c001', identifier: TURBO_ID, expiresAt: 0 });

    await fanOut(world.deps, { stream: ROOM, data: DATA });

    expect(world.subscriptions.all().filter((s) => s.connectionId === 'c001')).toEqual([]);
    expect(world.connections.records.has('c001')).toBe(false);
    expect(world.subscriptions.all()).toHaveLength(5);
    expect(world.connections.records.size).toBe(5);
  });

  test('410: a connection under two identifiers is cleaned up once, and not posted to again once known gone', async () => {
    const world = await fanOutWorld({ ids: ['c000'], script: { c000: 'gone' }, delivery: { concurrency: 1 } });
    await world.subscriptions.add({ stream: ROOM, connectionId: 'c000', identifier: PUBSUB_ID, expiresAt: 0 });
    const removeAll = jest.spyOn(world.subscriptions, 'removeAll');

    const outcome = await fanOut(world.deps, { stream: ROOM, data: DATA });

    expect(outcome).toMatchObject({ subscribers: 2, gone: 2, delivered: 0 });
    expect(world.scripted.attempts.get('c000')).toBe(1);
    expect(removeAll).toHaveBeenCalledTimes(1);
  });

  test('410: a connection under two identifiers posted to at once is still cleaned up once', async () => {
    const world = await fanOutWorld({ ids: ['c000'], script: { c000: 'gone' }, delivery: { concurrency: 2 } });
    await world.subscriptions.add({ stream: ROOM, connectionId: 'c000', identifier: PUBSUB_ID, expiresAt: 0 });
    const removeAll = jest.spyOn(world.subscriptions, 'removeAll');

    const outcome = await fanOut(world.deps, { stream: ROOM, data: DATA });

    expect(outcome).toMatchObject({ subscribers: 2, gone: 2, delivered: 0 });
    expect(removeAll).toHaveBeenCalledTimes(1);
  });

  test('liveFrom: an ext row whose replay already sent this offset is excluded, not posted', async () => {
    const world = await fanOutWorld({ ids: ['c000'] });
    await world.subscriptions.add({ stream: ROOM, connectionId: 'c_ext', identifier: PUBSUB_ID, expiresAt: 0, sid: 'sid-ext', liveFrom: 5 });

    const outcome = await fanOut(world.deps, { stream: ROOM, data: DATA, position: { offset: 4, epoch: 'e1' } });

    expect(outcome).toMatchObject({ subscribers: 2, delivered: 1, excluded: 1 });
    expect(world.scripted.attempts.has('c_ext')).toBe(false);
  });

  test('410: removals while the stream is paged skip no one and repeat no one', async () => {
    const ids = connectionIds(30);
    const script = Object.fromEntries(ids.filter((_, i) => i % 3 === 0).map((id) => [id, 'gone' as const]));
    const world = await fanOutWorld({ ids, script, pageSize: 4 });

    const outcome = await fanOut(world.deps, { stream: ROOM, data: DATA });

    expect(outcome).toMatchObject({ subscribers: 30, delivered: 20, gone: 10 });
    expect([...world.scripted.attempts.values()].every((n) => n === 1)).toBe(true);
    expect(world.scripted.attempts.size).toBe(30);
  });

  test('frames: built once per distinct identifier, not once per subscriber', async () => {
    const build = jest.spyOn(frames, 'broadcastFrame');
    const world = await fanOutWorld({ ids: connectionIds(300), pageSize: 50 });

    await fanOut(world.deps, { stream: ROOM, data: DATA });

    expect(world.scripted.sent.size).toBe(300);
    expect(build.mock.calls.map(([identifier]) => identifier).sort()).toEqual([PUBSUB_ID, TURBO_ID].sort());
    build.mockRestore();
  });

  test('frames: data goes in verbatim, byte for byte as the app encoded it', async () => {
    const world = await fanOutWorld({ ids: ['c000'] });
    const data = '{"html":"\\u003cp\\u003e","n": 1.50}';
    await fanOut(world.deps, { stream: ROOM, data });
    expect(world.scripted.sent.get('c000')).toEqual([`{"identifier":${JSON.stringify(TURBO_ID)},"message":${data}}`]);
  });

  test('frames: an identifier whose frame is over 128 KB fails its subscribers without a post', async () => {
    const ids = connectionIds(4);
    const world = await fanOutWorld({ ids });
    const longId = JSON.stringify({ channel: '$pubsub', stream_name: ROOM, pad: 'x'.repeat(400) });
    await world.subscriptions.add({ stream: ROOM, connectionId: 'long', identifier: longId, expiresAt: 0 });
    // Fits with the short identifiers, not with the long one.
    const data = JSON.stringify('y'.repeat(MAX_MESSAGE_BYTES - frames.broadcastFrame(TURBO_ID, '""').length));

    const outcome = await fanOut(world.deps, { stream: ROOM, data });

    expect(outcome).toMatchObject({ subscribers: 5, delivered: 4, failed: 1 });
    expect(world.scripted.attempts.has('long')).toBe(false);
    expect(world.logger.at('warn').map((e) => e.fields.error)).toContainEqual(expect.objectContaining({
      name: 'FrameTooLargeError',
      message: `the frame for identifier ${longId.slice(0, 100)} is over the ${MAX_MESSAGE_BYTES}-byte message quota`,
    }));
  });

  test('concurrency: never more posts in flight than fanOut.concurrency', async () => {
    const world = await fanOutWorld({ ids: connectionIds(200), delivery: { concurrency: 7 }, pageSize: 30 });
    const outcome = await fanOut(world.deps, { stream: ROOM, data: DATA });
    expect(outcome.delivered).toBe(200);
    expect(world.scripted.maxInFlight).toBe(7);
  });

  test('pipeline: posting starts on the first page while the next page is still being read', async () => {
    const inner = new MemorySubscriptionStore();
    let releaseSecondPage!: () => void;
    const secondPageHeld = new Promise<void>((resolve) => (releaseSecondPage = resolve));
    const store: SubscriptionStore = Object.assign(Object.create(inner) as MemorySubscriptionStore, {
      listByStream: async (stream: string, cursor?: string, limit?: number): Promise<SubscriptionPage> => {
        if (cursor !== undefined) await secondPageHeld;
        return inner.listByStream(stream, cursor, limit);
      },
    });
    const world = await fanOutWorld({ ids: [], pageSize: 5, subscriptions: store });
    for (const id of connectionIds(10)) await inner.add({ stream: ROOM, connectionId: id, identifier: TURBO_ID, expiresAt: 0 });

    const running = fanOut(world.deps, { stream: ROOM, data: DATA });
    while (world.scripted.sent.size < 5) await new Promise((resolve) => setImmediate(resolve));
    expect([...world.scripted.sent.keys()]).toEqual(connectionIds(5));
    releaseSecondPage();

    expect(await running).toMatchObject({ subscribers: 10, delivered: 10, pages: 2 });
  });

  test('logging: one summary line, and per-connection warnings capped at MAX_FAILURE_LOGS', async () => {
    const ids = connectionIds(50);
    const world = await fanOutWorld({ ids, script: Object.fromEntries(ids.map((id) => [id, 'permanent' as const])) });

    await fanOut(world.deps, { stream: ROOM, data: DATA });

    expect(world.logger.events().filter((e) => e === 'broadcast.send_failed')).toHaveLength(MAX_FAILURE_LOGS);
    const summaries = world.logger.entries.filter((e) => e.event === 'broadcast.fan_out');
    expect(summaries).toEqual([expect.objectContaining({
      level: 'warn',
      fields: expect.objectContaining({ stream: ROOM, failed: 50, unloggedFailures: 50 - MAX_FAILURE_LOGS, errors: { BadRequestException: 50 } }),
    })]);
  });

  test('logging: a clean fan-out logs one info summary and nothing else', async () => {
    const world = await fanOutWorld({ ids: IDS });
    await fanOut(world.deps, { stream: ROOM, data: DATA });
    expect(world.logger.entries).toEqual([
      { level: 'info', event: 'broadcast.fan_out', fields: expect.objectContaining({ subscribers: 6, delivered: 6, ms: 0 }) },
    ]);
  });

  test('410: a clean-up that fails is counted as gone, warned about, and shown in the summary', async () => {
    const world = await fanOutWorld({ ids: IDS, script: { c001: 'gone' } });
    jest.spyOn(world.subscriptions, 'removeAll').mockRejectedValue(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));

    const outcome = await fanOut(world.deps, { stream: ROOM, data: DATA });

    expect(outcome).toMatchObject({ delivered: 5, gone: 1, failed: 0 });
    expect(world.logger.at('warn')).toEqual([
      expect.objectContaining({ event: 'broadcast.cleanup_failed', fields: expect.objectContaining({ connectionId: 'c001' }) }),
      expect.objectContaining({ event: 'broadcast.fan_out', fields: expect.objectContaining({ cleanupFailures: 1, errors: { ThrottlingException: 1 } }) }),
    ]);
  });

  test('read error: thrown after the subscribers already read have been posted to, and logged', async () => {
    const inner = new MemorySubscriptionStore();
    const store: SubscriptionStore = Object.assign(Object.create(inner) as MemorySubscriptionStore, {
      listByStream: async (stream: string, cursor?: string, limit?: number) => {
        if (cursor !== undefined) throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
        return inner.listByStream(stream, cursor, limit);
      },
    });
    const world = await fanOutWorld({ ids: [], pageSize: 3, subscriptions: store });
    for (const id of connectionIds(5)) await inner.add({ stream: ROOM, connectionId: id, identifier: TURBO_ID, expiresAt: 0 });

    await expect(fanOut(world.deps, { stream: ROOM, data: DATA })).rejects.toThrow('throttled');

    expect([...world.scripted.sent.keys()]).toEqual(connectionIds(3));
    expect(world.logger.at('error')).toEqual([expect.objectContaining({ event: 'broadcast.fan_out', fields: expect.objectContaining({ delivered: 3 }) })]);
  });
});

describe('fanOut slices', () => {
  const ids = connectionIds(25);

  test.each<{ name: string; start?: number; limit?: number; expected: string[]; pages: number }>([
    { name: 'slice: a limit alone reads the first subscribers, following pages within the limit', limit: 10, expected: ids.slice(0, 10), pages: 3 },
    { name: 'slice: from a cursor up to a limit', start: 10, limit: 10, expected: ids.slice(10, 20), pages: 3 },
    { name: 'slice: from a cursor without a limit reads to the end', start: 20, expected: ids.slice(20), pages: 2 },
    { name: 'slice: a limit past the end stops at the end', start: 20, limit: 100, expected: ids.slice(20), pages: 2 },
    { name: 'slice: no slice reads every page', expected: ids, pages: 7 },
  ])('$name', async ({ start, limit, expected, pages }) => {
    const world = await fanOutWorld({ ids, pageSize: 4 });
    const cursor = start === undefined ? undefined : (await world.subscriptions.listByStream(ROOM, undefined, start)).cursor;

    const outcome = await fanOut(world.deps, { stream: ROOM, data: DATA }, { cursor, limit });

    expect([...world.scripted.sent.keys()].sort()).toEqual(expected);
    expect(outcome).toMatchObject({ subscribers: expected.length, delivered: expected.length, pages });
  });

  test('slice: limit must be a positive integer', async () => {
    const world = await fanOutWorld({ ids });
    await expect(fanOut(world.deps, { stream: ROOM, data: DATA }, { limit: 0 })).rejects.toThrow(/slice.limit/);
  });
});

describe('deliverBroadcast', () => {
  test('inline: a stream of at most shardSize subscribers is delivered before it returns, no shards', async () => {
    const world = await fanOutWorld({ ids: connectionIds(10), delivery: { shardSize: 10 } });
    const shards = new RecordingDispatcher();

    const result = await deliverBroadcast({ ...world.deps, shards }, { stream: ROOM, data: DATA });

    expect(result).toMatchObject({ mode: 'inline', shards: 0, subscribers: 10, delivered: 10, pages: 1 });
    expect(shards.shards).toEqual([]);
    expect(world.scripted.sent.size).toBe(10);
  });

  test('inline: a store that returns a cursor on a full last page (DynamoDB) still delivers inline', async () => {
    const world = await fanOutWorld({ ids: connectionIds(10), delivery: { shardSize: 10 } });
    const store = new DynamoLikeStore(world.subscriptions);
    const shards = new RecordingDispatcher();

    const result = await deliverBroadcast({ ...world.deps, subscriptions: store, shards }, { stream: ROOM, data: DATA });

    expect(result).toMatchObject({ mode: 'inline', delivered: 10 });
    expect(store.calls).toHaveLength(2);
    expect(shards.shards).toEqual([]);
  });

  test.each([
    { name: 'sharded: pages of shardSize, the first included, one ShardRequest each', maxPage: undefined, limits: [5, 5, 5, 5, 3] },
    { name: 'sharded: short pages (DynamoDB\'s 1 MB cap) are read on to full shards', maxPage: 3, limits: [5, 5, 5, 5, 3] },
  ])('$name', async ({ maxPage, limits }) => {
    const ids = connectionIds(23);
    const world = await fanOutWorld({ ids, delivery: { shardSize: 5 }, pageSize: 2 });
    const store = new DynamoLikeStore(world.subscriptions, maxPage);
    const shards = new RecordingDispatcher();
    const deps = { ...world.deps, subscriptions: store, shards };
    const broadcast = { stream: ROOM, data: DATA, excludeConnectionId: 'c007' };

    const result = await deliverBroadcast(deps, broadcast);

    expect(result).toMatchObject({ mode: 'sharded', shards: limits.length, subscribers: 23, failedShards: 0 });
    expect(shards.shards.map((s) => s.limit)).toEqual(limits);
    expect('cursor' in shards.shards[0]).toBe(false);
    expect(shards.shards.every((s) => s.broadcast === broadcast)).toBe(true);
    expect(world.scripted.sent.size).toBe(0);

    // Running every shard reaches every subscriber exactly once, and the excluded one never.
    for (const shard of shards.shards) await fanOut(deps, shard.broadcast, { cursor: shard.cursor, limit: shard.limit });
    expect([...world.scripted.attempts.keys()].sort()).toEqual(ids.filter((id) => id !== 'c007'));
    expect([...world.scripted.attempts.values()].every((n) => n === 1)).toBe(true);
  });

  test.each([
    { name: 'sharded: a second page without a cursor is still a shard', count: 7, limits: [5, 2], pages: 2 },
    { name: 'sharded: an empty last page (DynamoDB\'s cursor at an exact fill) is read but dispatches nothing', count: 10, limits: [5, 5], pages: 3 },
  ])('$name', async ({ count, limits, pages }) => {
    const world = await fanOutWorld({ ids: connectionIds(count), delivery: { shardSize: 5 } });
    const shards = new RecordingDispatcher();
    const subscriptions = new DynamoLikeStore(world.subscriptions);
    const result = await deliverBroadcast({ ...world.deps, subscriptions, shards }, { stream: ROOM, data: DATA });
    expect(result).toMatchObject({ mode: 'sharded', shards: limits.length, subscribers: count, pages });
    expect(shards.shards.map((s) => s.limit)).toEqual(limits);
  });

  test('inline: a stream within shardSize stays inline even when the store pages it short', async () => {
    const world = await fanOutWorld({ ids: connectionIds(5), delivery: { shardSize: 5 } });
    const store = new DynamoLikeStore(world.subscriptions, 3);
    const shards = new RecordingDispatcher();

    const result = await deliverBroadcast({ ...world.deps, subscriptions: store, shards }, { stream: ROOM, data: DATA });

    expect(result).toMatchObject({ mode: 'inline', delivered: 5 });
    expect(shards.shards).toEqual([]);
  });

  test('sharded: every shard dispatched is logged once as info (not an error), with the stream and the figures', async () => {
    const world = await fanOutWorld({ ids: connectionIds(12), delivery: { shardSize: 4 } });
    const shards = new RecordingDispatcher();

    await deliverBroadcast({ ...world.deps, shards }, { stream: ROOM, data: DATA });

    expect(world.logger.entries.filter((e) => e.event === 'broadcast.sharded')).toEqual([{
      level: 'info',
      event: 'broadcast.sharded',
      fields: { stream: ROOM, mode: 'sharded', shards: 3, subscribers: 12, pages: expect.any(Number), failedShards: 0 },
    }]);
  });

  test('sharded: a failed dispatch is counted and logged; the other shards are still dispatched', async () => {
    const world = await fanOutWorld({ ids: connectionIds(12), delivery: { shardSize: 4 } });
    const shards = new RecordingDispatcher((_shard, index) => index === 1);

    const result = await deliverBroadcast({ ...world.deps, shards }, { stream: ROOM, data: DATA });

    expect(result).toMatchObject({ mode: 'sharded', shards: 3, failedShards: 1 });
    expect(world.logger.events()).toEqual(expect.arrayContaining(['broadcast.shard_dispatch_failed', 'broadcast.sharded']));
    expect(world.logger.entries.find((e) => e.event === 'broadcast.sharded')?.level).toBe('error');
    // The failed shard's own entry says which part of the stream went undelivered, and why.
    expect(world.logger.entries.filter((e) => e.event === 'broadcast.shard_dispatch_failed')).toEqual([{
      level: 'error',
      event: 'broadcast.shard_dispatch_failed',
      fields: { stream: ROOM, cursor: shards.shards[1].cursor, limit: 4, error: expect.objectContaining({ name: 'TooManyRequestsException' }) },
    }]);
    expect(shards.shards[1].cursor).toEqual(expect.any(String));
  });

  test('sharded: a read error while walking is thrown once the shards already dispatched have settled', async () => {
    const world = await fanOutWorld({ ids: connectionIds(12), delivery: { shardSize: 4 } });
    const store = new DynamoLikeStore(world.subscriptions);
    const list = store.listByStream.bind(store);
    store.listByStream = async (stream, cursor, limit) => {
      if (store.calls.length === 2) throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
      return list(stream, cursor, limit);
    };
    const shards = new RecordingDispatcher();

    await expect(deliverBroadcast({ ...world.deps, subscriptions: store, shards }, { stream: ROOM, data: DATA })).rejects.toThrow('throttled');

    expect(shards.shards.map((s) => s.limit)).toEqual([4, 4]);
    expect(world.logger.at('error')).toEqual([expect.objectContaining({ event: 'broadcast.shard_walk_failed', fields: expect.objectContaining({ dispatched: 2 }) })]);
  });

  test('empty stream: nothing to deliver, inline', async () => {
    const world = await fanOutWorld({ ids: [] });
    const result = await deliverBroadcast({ ...world.deps, shards: new RecordingDispatcher() }, { stream: ROOM, data: DATA });
    expect(result).toMatchObject({ mode: 'inline', subscribers: 0, delivered: 0 });
  });
});
