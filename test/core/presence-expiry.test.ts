import { CONNECTION_ID, makeWorld, OTHER_CONNECTION_ID, pubsubIdentifier, recordingLocalShards, send, subscribeCommand, World } from './support';
import { MemoryPresenceStore } from '../../lambda/adapters/memory/memory-presence-store';
import { CableSettings } from '../../lambda/core/config';
import { connect } from '../../lambda/core/connect';
import { handleDisconnect } from '../../lambda/core/disconnect';
import { ShardDispatcher, ShardRequest } from '../../lambda/core/ports';
import { PresenceLeft } from '../../lambda/core/presence';
import { PresenceExpiry, PresenceExpiryStore, sweepPresence } from '../../lambda/core/presence-expiry';
import { LocalShardDispatcher } from '../../lambda/local/local-shard-dispatcher';

const EXT = 'actioncable-v1-ext-json';
const THIRD_ID = 'Th33Th33Th3=';
const CHAT = 'chat:42';
const PUBLIC = pubsubIdentifier({ stream_name: CHAT });
const TTL_SECONDS = 15;

type ExpiryWorld = World & { readonly presence: MemoryPresenceStore; readonly shards: LocalShardDispatcher; readonly dispatched: ShardRequest[] };

/** Memory stores, presence events fanned out in-process and recorded. */
function expiryWorld(settings: CableSettings = {}): ExpiryWorld {
  const world = makeWorld({ secret: 'x', publicStreams: true, presenceTtlSeconds: TTL_SECONDS, ...settings });
  const { shards, dispatched } = recordingLocalShards(world);
  return { ...world, presence: new MemoryPresenceStore(), shards, dispatched };
}

async function subscribed(world: World, ...ids: string[]): Promise<void> {
  for (const id of ids) {
    await connect(world, { connectionId: id, headers: { 'sec-websocket-protocol': EXT }, query: {} });
    world.transport.open(id);
    expect((await send(world, subscribeCommand(PUBLIC), id)).frames).toEqual([{ type: 'confirm_subscription', identifier: PUBLIC }]);
  }
}

async function join(world: ExpiryWorld, connectionId: string, id: string): Promise<void> {
  const result = await send(world, JSON.stringify({ command: 'join', identifier: PUBLIC, presence: { id } }), connectionId);
  expect(result.frames).toEqual([]);
  // As the message handler does once the (no) frames are sent: the join's announcement.
  await result.afterSent?.();
  await world.shards.drain();
}

async function sweep(world: ExpiryWorld): Promise<number> {
  const announced = await sweepPresence({ ...world, presenceExpiry: world.presence });
  await world.shards.drain();
  return announced;
}

function presenceFrames(world: World, connectionId: string): unknown[] {
  return world.transport.framesOf(connectionId).filter((f) => (f as { type?: string }).type === 'presence');
}

const joinEvent = (id: string) => ({ type: 'presence', identifier: PUBLIC, message: { type: 'join', id } });
const leaveEvent = (id: string) => ({ type: 'presence', identifier: PUBLIC, message: { type: 'leave', id } });
const LEAVE_U1: ShardRequest = { broadcast: { stream: CHAT, data: '{"type":"leave","id":"u1"}', transient: true, broadcastType: 'presence' } };

describe('presence expiry: a gone session\'s presence announces leave when its TTL runs out', () => {
  test('presence expiry: not before the TTL; once it has run out, leave goes to every subscriber as a transient presence broadcast, once', async () => {
    const world = expiryWorld();
    await subscribed(world, CONNECTION_ID, OTHER_CONNECTION_ID);
    await join(world, CONNECTION_ID, 'u1');
    await handleDisconnect(world, CONNECTION_ID);
    world.dispatched.splice(0);

    // The presence TTL counts from the whole second of the disconnect (epoch seconds, as DynamoDB's TTL).
    const dueMs = (Math.floor(world.clock.now() / 1000) + TTL_SECONDS) * 1000;
    world.clock.advance(dueMs - 1 - world.clock.now());
    expect(await sweep(world)).toBe(0);
    expect(world.dispatched).toEqual([]);

    world.clock.advance(1);
    expect(await sweep(world)).toBe(1);
    expect(world.dispatched).toEqual([LEAVE_U1]);
    expect(presenceFrames(world, OTHER_CONNECTION_ID)).toEqual([joinEvent('u1'), leaveEvent('u1')]);
    expect(world.logger.at('info').filter((e) => e.event === 'presence.expired')).toEqual([{ level: 'info', event: 'presence.expired', fields: { due: 1, announced: 1 } }]);

    world.clock.advance(3_000);
    expect(await sweep(world)).toBe(0);
    expect(world.dispatched).toEqual([LEAVE_U1]);
    expect(await world.presence.dueExpiries(world.clock.now())).toEqual([]);
  });

  test('presence expiry: an id another live session holds (another tab) announces nothing, and stays in info', async () => {
    const world = expiryWorld();
    await subscribed(world, CONNECTION_ID, OTHER_CONNECTION_ID, THIRD_ID);
    await join(world, CONNECTION_ID, 'u1');
    await join(world, THIRD_ID, 'u1');
    await handleDisconnect(world, CONNECTION_ID);
    world.dispatched.splice(0);

    world.clock.advance(TTL_SECONDS * 1000);
    expect(await sweep(world)).toBe(0);
    expect(world.dispatched).toEqual([]);
    expect(await world.presence.info(CHAT, world.clock.now())).toEqual([{ id: 'u1' }]);
    expect(await world.presence.dueExpiries(world.clock.now())).toEqual([]);
  });

  test('presence expiry: the restored session joining again within the TTL cancels the leave', async () => {
    const world = expiryWorld();
    await subscribed(world, CONNECTION_ID, OTHER_CONNECTION_ID);
    await join(world, CONNECTION_ID, 'u1');
    const gone = (await world.connections.get(CONNECTION_ID))!;
    await handleDisconnect(world, CONNECTION_ID);
    // The session restored on a new connection (same sid), which re-joins as @anycable/core does.
    await world.connections.put({ ...gone, connectionId: THIRD_ID, presenceJoined: undefined });
    world.transport.open(THIRD_ID);
    await send(world, subscribeCommand(PUBLIC), THIRD_ID);
    await join(world, THIRD_ID, 'u1');
    world.dispatched.splice(0);

    world.clock.advance(TTL_SECONDS * 1000);
    expect(await sweep(world)).toBe(0);
    expect(world.dispatched).toEqual([]);
    expect(await world.presence.info(CHAT, world.clock.now())).toEqual([{ id: 'u1' }]);
  });

  test('presence expiry: the last of two gone sessions of one id announces leave once', async () => {
    const world = expiryWorld();
    await subscribed(world, CONNECTION_ID, OTHER_CONNECTION_ID, THIRD_ID);
    await join(world, CONNECTION_ID, 'u1');
    await join(world, THIRD_ID, 'u1');
    await handleDisconnect(world, CONNECTION_ID);
    world.clock.advance(5_000);
    await handleDisconnect(world, THIRD_ID);
    world.dispatched.splice(0);

    world.clock.advance(TTL_SECONDS * 1000 - 5_000);
    expect(await sweep(world)).toBe(0);
    world.clock.advance(5_000);
    expect(await sweep(world)).toBe(1);
    expect(world.dispatched).toEqual([LEAVE_U1]);
  });
});

/** A store whose answers the test sets, recording every call. */
class ScriptedExpiryStore implements PresenceExpiryStore {
  readonly calls: unknown[][] = [];
  due: PresenceExpiry[] = [];
  answers = new Map<string, PresenceLeft | undefined | Error>();
  dueError?: Error;

  async dueExpiries(nowMs: number): Promise<PresenceExpiry[]> {
    this.calls.push(['dueExpiries', nowMs]);
    if (this.dueError) throw this.dueError;
    return this.due;
  }

  async expire(expiry: PresenceExpiry, nowMs: number): Promise<PresenceLeft | undefined> {
    this.calls.push(['expire', expiry.id, nowMs]);
    const answer = this.answers.get(expiry.id);
    if (answer instanceof Error) throw answer;
    return answer;
  }
}

function expiryOf(id: string): PresenceExpiry {
  return { stream: CHAT, id, sessionKey: `session-${id}`, holder: `conn-${id}`, dueAt: 1 };
}

describe('presence expiry: sweepPresence', () => {
  function deps() {
    const world = makeWorld();
    const store = new ScriptedExpiryStore();
    const dispatched: ShardRequest[] = [];
    const shards: ShardDispatcher = { dispatch: async (shard) => void dispatched.push(shard) };
    return { world, store, dispatched, shards, sweepDeps: { clock: world.clock, logger: world.logger, presenceExpiry: store, shards } };
  }

  test('sweepPresence: announces leave for each expiry that was the id\'s last, in order, nothing for the others', async () => {
    const { world, store, dispatched, sweepDeps } = deps();
    store.due = [expiryOf('u1'), expiryOf('u2'), expiryOf('u3')];
    store.answers.set('u1', { stream: CHAT, id: 'u1', last: true });
    store.answers.set('u2', { stream: CHAT, id: 'u2', last: false });
    store.answers.set('u3', undefined);
    expect(await sweepPresence(sweepDeps)).toBe(1);
    const now = world.clock.now();
    expect(store.calls).toEqual([['dueExpiries', now], ['expire', 'u1', now], ['expire', 'u2', now], ['expire', 'u3', now]]);
    expect(dispatched).toEqual([LEAVE_U1]);
    expect(world.logger.entries).toEqual([{ level: 'info', event: 'presence.expired', fields: { due: 3, announced: 1 } }]);
  });

  test('sweepPresence: nothing due logs nothing', async () => {
    const { world, store, dispatched, sweepDeps } = deps();
    expect(await sweepPresence(sweepDeps)).toBe(0);
    expect(store.calls).toEqual([['dueExpiries', world.clock.now()]]);
    expect(dispatched).toEqual([]);
    expect(world.logger.entries).toEqual([]);
  });

  test('sweepPresence: without the store or the shard dispatcher, reads nothing', async () => {
    const { store, sweepDeps } = deps();
    expect(await sweepPresence({ ...sweepDeps, shards: undefined })).toBe(0);
    expect(await sweepPresence({ ...sweepDeps, presenceExpiry: undefined })).toBe(0);
    expect(store.calls).toEqual([]);
  });

  test('sweepPresence: a failed read is logged, not thrown', async () => {
    const { world, store, sweepDeps } = deps();
    store.dueError = new Error('throttled');
    expect(await sweepPresence(sweepDeps)).toBe(0);
    expect(world.logger.entries).toEqual([{ level: 'error', event: 'presence.sweep_failed', fields: { error: store.dueError } }]);
  });

  test('sweepPresence: a failed expiry is logged (stream cut to 100 characters) and the next still announced', async () => {
    const { world, store, dispatched, sweepDeps } = deps();
    const longStream = 's'.repeat(150);
    const failing = { ...expiryOf('u0'), stream: longStream };
    store.due = [failing, expiryOf('u1')];
    const error = new Error('throttled');
    store.answers.set('u0', error);
    store.answers.set('u1', { stream: CHAT, id: 'u1', last: true });
    expect(await sweepPresence(sweepDeps)).toBe(1);
    expect(dispatched).toEqual([LEAVE_U1]);
    expect(world.logger.entries).toEqual([
      { level: 'error', event: 'presence.expire_failed', fields: { stream: 's'.repeat(100), error } },
      { level: 'info', event: 'presence.expired', fields: { due: 2, announced: 1 } },
    ]);
  });
});
