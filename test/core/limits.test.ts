import {
  CONNECTION_ID, makeWorld, messageCommand, openConnections, OTHER_CONNECTION_ID, rows, SECRET, send, subscribeCommand, turboIdentifier,
  unsubscribeCommand, World,
} from './support';
import { isSampled } from '../../lambda/core/invalid-frames';
import { MessageResult } from '../../lambda/core/message';
import { ConnectionStore, SubscriptionStore } from '../../lambda/core/ports';
import { signStream } from '../../lambda/core/signed-stream';

const SIGNED = signStream('room:1', SECRET);
/** The finding: one signed stream name, many identifiers (an extra key in each). */
function variant(i: number): string {
  return JSON.stringify({ channel: 'Turbo::StreamsChannel', signed_stream_name: SIGNED, v: i });
}
const ROOM = turboIdentifier(SIGNED);

const NOTHING: MessageResult = { frames: [], close: false };
const INVALID_REQUEST: MessageResult = { frames: [{ type: 'disconnect', reason: 'invalid_request', reconnect: false }], close: true };

async function limitedWorld(limits: { maxSubscriptionsPerConnection?: number; maxInvalidFrames?: number }): Promise<World> {
  const world = makeWorld({ secret: SECRET, limits });
  await openConnections(world, CONNECTION_ID, OTHER_CONNECTION_ID);
  return world;
}

function confirmed(identifier: string): MessageResult {
  return { frames: [{ type: 'confirm_subscription', identifier }], close: false };
}

function rejected(identifier: string): MessageResult {
  return { frames: [{ type: 'reject_subscription', identifier }], close: false };
}

/** The names of the store methods that write, called through `world`'s stores. */
function recordWrites(world: World): string[] {
  const writes: string[] = [];
  const connectionWrites: (keyof ConnectionStore)[] = ['put', 'delete', 'updateState', 'reserveSubscription', 'releaseSubscription', 'countInvalidFrame'];
  const subscriptionWrites: (keyof SubscriptionStore)[] = ['add', 'delete', 'remove', 'removeStreams', 'removeAll'];
  for (const name of connectionWrites) {
    const original = world.connections[name].bind(world.connections) as (...args: unknown[]) => unknown;
    (world.connections as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => (writes.push(`connections.${name}`), original(...args));
  }
  for (const name of subscriptionWrites) {
    const original = world.subscriptions[name].bind(world.subscriptions) as (...args: unknown[]) => unknown;
    (world.subscriptions as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => (writes.push(`subscriptions.${name}`), original(...args));
  }
  return writes;
}

describe('maxSubscriptionsPerConnection', () => {
  test('maxSubscriptionsPerConnection: the subscribe past the cap is rejected, stores no row and logs one line', async () => {
    const world = await limitedWorld({ maxSubscriptionsPerConnection: 3 });
    for (const i of [1, 2, 3]) expect(await send(world, subscribeCommand(variant(i)))).toEqual(confirmed(variant(i)));
    world.logger.entries.length = 0;

    expect(await send(world, subscribeCommand(variant(4)))).toEqual(rejected(variant(4)));

    expect(rows(world).map((r) => r.identifier)).toEqual([variant(1), variant(2), variant(3)].sort());
    expect(world.logger.entries).toEqual([{
      level: 'warn',
      event: 'subscribe.rejected',
      fields: { connectionId: CONNECTION_ID, identifier: variant(4).slice(0, 100), reason: 'too_many_subscriptions', max: 3 },
    }]);
  });

  test('maxSubscriptionsPerConnection: the cap is per connection; another connection still subscribes', async () => {
    const world = await limitedWorld({ maxSubscriptionsPerConnection: 1 });
    expect(await send(world, subscribeCommand(variant(1)))).toEqual(confirmed(variant(1)));
    expect(await send(world, subscribeCommand(variant(2)))).toEqual(rejected(variant(2)));
    expect(await send(world, subscribeCommand(variant(2)), OTHER_CONNECTION_ID)).toEqual(confirmed(variant(2)));
  });

  test('maxSubscriptionsPerConnection: a re-sent subscribe of a subscribed identifier takes no slot, even at the cap', async () => {
    const world = await limitedWorld({ maxSubscriptionsPerConnection: 2 });
    for (let i = 0; i < 5; i++) expect(await send(world, subscribeCommand(ROOM))).toEqual(confirmed(ROOM));
    expect(await send(world, subscribeCommand(variant(1)))).toEqual(confirmed(variant(1)));
    // At the cap now: the stock client's re-sends of either are confirmed again.
    expect(await send(world, subscribeCommand(ROOM))).toEqual(confirmed(ROOM));
    expect(await send(world, subscribeCommand(variant(1)))).toEqual(confirmed(variant(1)));
    expect(await send(world, subscribeCommand(variant(2)))).toEqual(rejected(variant(2)));
    expect(rows(world)).toHaveLength(2);
  });

  test('maxSubscriptionsPerConnection: concurrent copies of one subscribe take one slot', async () => {
    const world = await limitedWorld({ maxSubscriptionsPerConnection: 2 });
    const copies = await Promise.all([1, 2, 3, 4].map(() => send(world, subscribeCommand(ROOM))));
    expect(copies).toEqual([1, 2, 3, 4].map(() => confirmed(ROOM)));
    expect(await send(world, subscribeCommand(variant(1)))).toEqual(confirmed(variant(1)));
    expect(await send(world, subscribeCommand(variant(2)))).toEqual(rejected(variant(2)));
  });

  test('maxSubscriptionsPerConnection: concurrent subscribes of distinct identifiers never pass the cap', async () => {
    const world = await limitedWorld({ maxSubscriptionsPerConnection: 5 });
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => send(world, subscribeCommand(variant(i)))));
    expect(results.filter((r) => 'type' in r.frames[0] && r.frames[0].type === 'confirm_subscription')).toHaveLength(5);
    expect(rows(world)).toHaveLength(5);
  });

  test('maxSubscriptionsPerConnection: unsubscribe frees a slot, once however often it is sent', async () => {
    const world = await limitedWorld({ maxSubscriptionsPerConnection: 2 });
    await send(world, subscribeCommand(variant(1)));
    await send(world, subscribeCommand(variant(2)));
    for (let i = 0; i < 3; i++) expect(await send(world, unsubscribeCommand(variant(1)))).toEqual(NOTHING);

    expect(await send(world, subscribeCommand(variant(3)))).toEqual(confirmed(variant(3)));
    expect(await send(world, subscribeCommand(variant(4)))).toEqual(rejected(variant(4)));
    expect(rows(world).map((r) => r.identifier)).toEqual([variant(2), variant(3)].sort());
  });

  test('maxSubscriptionsPerConnection: concurrent unsubscribes of one identifier free one slot', async () => {
    const world = await limitedWorld({ maxSubscriptionsPerConnection: 2 });
    await send(world, subscribeCommand(variant(1)));
    await send(world, subscribeCommand(variant(2)));
    await Promise.all([1, 2, 3].map(() => send(world, unsubscribeCommand(variant(1)))));

    expect(await send(world, subscribeCommand(variant(3)))).toEqual(confirmed(variant(3)));
    expect(await send(world, subscribeCommand(variant(4)))).toEqual(rejected(variant(4)));
  });

  test('maxSubscriptionsPerConnection: a connection without a row (gone) is rejected and stores nothing', async () => {
    const world = await limitedWorld({});
    expect(await send(world, subscribeCommand(ROOM), 'gone-connection')).toEqual(rejected(ROOM));
    expect(rows(world)).toEqual([]);
  });
});

describe('maxInvalidFrames', () => {
  test('maxInvalidFrames: frames that are not commands are ignored until the last allowed, which ends the connection', async () => {
    const world = await limitedWorld({ maxInvalidFrames: 10 });
    const bodies = ['x', '{}', '[]', 'null', JSON.stringify({ command: 'perform', identifier: ROOM }), JSON.stringify({ command: 'subscribe' }),
      messageCommand(ROOM, '{}'), JSON.stringify({ command: 'message', identifier: ROOM }), '"a"', 'y'];
    const results: MessageResult[] = [];
    for (const body of bodies) results.push(await send(world, body));

    expect(results.slice(0, 9)).toEqual(Array(9).fill(NOTHING));
    expect(results[9]).toEqual(INVALID_REQUEST);
  });

  test('maxInvalidFrames: the warnings are sampled (1st, 2nd, 4th, 8th), with the count, and the closing one', async () => {
    const world = await limitedWorld({ maxInvalidFrames: 10 });
    for (let i = 0; i < 10; i++) await send(world, 'x');
    expect(world.logger.entries.map((e) => [e.event, e.fields.count])).toEqual([
      ['message.ignored', 1], ['message.ignored', 2], ['message.ignored', 4], ['message.ignored', 8], ['message.invalid_request', 10],
    ]);
    expect(world.logger.entries[4].fields).toEqual({ connectionId: CONNECTION_ID, reason: 'too_many_invalid_frames', frame: 'invalid_json', count: 10 });
  });

  test('maxInvalidFrames: frames in flight after the last allowed close again without a frame, logged only when sampled', async () => {
    const world = await limitedWorld({ maxInvalidFrames: 3 });
    for (let i = 0; i < 3; i++) await send(world, 'x');
    world.logger.entries.length = 0;
    const after: MessageResult[] = [];
    for (let i = 4; i <= 9; i++) after.push(await send(world, 'x'));
    expect(after).toEqual(Array(6).fill({ frames: [], close: true }));
    expect(world.logger.entries).toEqual([4, 8].map((count) => ({
      level: 'warn', event: 'message.ignored', fields: { connectionId: CONNECTION_ID, reason: 'invalid_json', count, closing: true },
    })));
  });

  test('maxInvalidFrames: counted per connection; another client still subscribes', async () => {
    const world = await limitedWorld({ maxInvalidFrames: 2 });
    expect(await send(world, 'x')).toEqual(NOTHING);
    expect(await send(world, 'x')).toEqual(INVALID_REQUEST);
    expect(await send(world, subscribeCommand(ROOM), OTHER_CONNECTION_ID)).toEqual(confirmed(ROOM));
  });

  test('maxInvalidFrames: a frame that is not a command from a connection without a row ends it at once', async () => {
    const world = await limitedWorld({});
    expect(await send(world, 'x', 'no-row')).toEqual(INVALID_REQUEST);
    expect(world.connections.records.has('no-row')).toBe(false);
  });

  test('maxInvalidFrames: good frames cost no write; only bad ones are counted', async () => {
    const world = await limitedWorld({ maxInvalidFrames: 2 });
    await send(world, subscribeCommand(ROOM));
    const writes = recordWrites(world);
    for (let i = 0; i < 20; i++) expect(await send(world, subscribeCommand(ROOM))).toEqual(confirmed(ROOM));
    expect(writes).toEqual([]);

    expect(await send(world, 'x')).toEqual(NOTHING);
    expect(writes).toEqual(['connections.countInvalidFrame']);
    // 20 good frames did not bring the connection nearer its end: the next bad one is the 2nd.
    expect(await send(world, 'x')).toEqual(INVALID_REQUEST);
  });

  test('isSampled: 1 and the powers of two', () => {
    expect([0, 1, 2, 3, 4, 5, 7, 8, 9, 1024, 1025].filter(isSampled)).toEqual([1, 2, 4, 8, 1024]);
  });
});
