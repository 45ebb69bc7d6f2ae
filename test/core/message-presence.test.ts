import { appDeps, connectionRow, makeRpcWorld, putConnection, RpcWorld } from './rpc-support';
import { CONNECTION_ID, makeWorld, openConnections, OTHER_CONNECTION_ID, pubsubIdentifier, recordingLocalShards, SECRET, send, World } from './support';
import { MemoryPresenceStore } from '../../lambda/adapters/memory/memory-presence-store';
import { handleMessage, MessageDeps, MessageResult } from '../../lambda/core/message';
import { ShardRequest } from '../../lambda/core/ports';
import { LocalShardDispatcher } from '../../lambda/local/local-shard-dispatcher';

/**
 * Presence around subscriptions (message.ts afterCommand): a `subscribe` carrying a `presence`
 * field joins only when that subscribe is confirmed, the connection stays open, and there is a
 * presence store. The rest of presence is presence.test.ts and app-presence.test.ts.
 */

const CHAT = 'chat:42';
const PUBLIC = pubsubIdentifier({ stream_name: CHAT });
const FORGED = pubsubIdentifier({ signed_stream_name: `forged--${'0'.repeat(64)}` });
const APP = JSON.stringify({ channel: 'ChatChannel', room: 42 });
const ROOM = 'presence:42';
const APP_CONFIRM = `{"identifier":${JSON.stringify(APP)},"type":"confirm_subscription"}`;
const OTHER_CONFIRM = `{"identifier":${JSON.stringify(JSON.stringify({ channel: 'NotesChannel' }))},"type":"confirm_subscription"}`;
const APP_MESSAGE = `{"identifier":${JSON.stringify(APP)},"message":{"welcome":true}}`;
const APP_DISCONNECT = '{"type":"disconnect","reason":"remote","reconnect":false}';
/** The app's reply that subscribes the channel with presence on ROOM (anycable-rb: `istate["$p"]`). */
const WITH_PRESENCE = { streams: [ROOM], env: { istate: { $p: ROOM } } };

const subscribeJoining = (identifier: string) => JSON.stringify({ command: 'subscribe', identifier, presence: { id: 'u1' } });

type Presence = { readonly presence: MemoryPresenceStore; readonly shards: LocalShardDispatcher; readonly dispatched: ShardRequest[] };

function withPresence(world: World): Presence {
  const { shards, dispatched } = recordingLocalShards(world);
  return { presence: new MemoryPresenceStore(), shards, dispatched };
}

/** Runs the frame, then what the message handler runs once the frames are sent. */
async function run(deps: MessageDeps & Partial<Presence>, body: string): Promise<MessageResult> {
  const { afterSent, ...result } = await handleMessage(deps, { connectionId: CONNECTION_ID, body, binary: false });
  await afterSent?.();
  await deps.shards?.drain();
  return result;
}

async function builtIn(): Promise<World & Presence> {
  const world = makeWorld({ secret: SECRET, publicStreams: true });
  await openConnections(world, CONNECTION_ID, OTHER_CONNECTION_ID);
  return { ...world, ...withPresence(world) };
}

async function app(): Promise<RpcWorld & Presence> {
  const world = makeRpcWorld();
  await putConnection(world, connectionRow({ identifiers: '{"user":"u1"}' }));
  world.transport.open(CONNECTION_ID);
  return { ...world, ...withPresence(world) };
}

describe('presence: a subscribe with a presence field', () => {
  test('without a presence store: confirmed, nothing else (no presence error, nothing counted)', async () => {
    const world = makeWorld({ secret: SECRET, publicStreams: true });
    await openConnections(world, CONNECTION_ID);
    expect(await send(world, subscribeJoining(PUBLIC))).toEqual({ frames: [{ type: 'confirm_subscription', identifier: PUBLIC }], close: false });
    expect(world.connections.counts.get(CONNECTION_ID)?.invalidFrames ?? 0).toBe(0);
    expect(world.logger.at('warn')).toEqual([]);
  });

  test('rejected: reject_subscription only; nothing joined, nothing counted', async () => {
    const world = await builtIn();
    expect(await run(world, subscribeJoining(FORGED))).toEqual({ frames: [{ type: 'reject_subscription', identifier: FORGED }], close: false });
    expect(world.dispatched).toEqual([]);
    expect(world.connections.counts.get(CONNECTION_ID)?.invalidFrames ?? 0).toBe(0);
  });

  test('confirmed on a built-in channel: joined and announced', async () => {
    const world = await builtIn();
    expect(await run(world, subscribeJoining(PUBLIC))).toEqual({ frames: [{ type: 'confirm_subscription', identifier: PUBLIC }], close: false });
    expect(await world.presence.info(CHAT, world.clock.now())).toEqual([{ id: 'u1' }]);
    expect(world.dispatched).toHaveLength(1);
  });

  test('confirmed by the app among other transmissions: joined on the channel\'s presence stream', async () => {
    const world = await app();
    world.peer.answer({ status: 1, ...WITH_PRESENCE, transmissions: [APP_CONFIRM, APP_MESSAGE] });
    expect(await run({ ...appDeps(world), presence: world.presence, shards: world.shards }, subscribeJoining(APP)))
      .toEqual({ frames: [], transmissions: [APP_CONFIRM, APP_MESSAGE], close: false });
    expect(await world.presence.info(ROOM, world.clock.now())).toEqual([{ id: 'u1' }]);
  });

  test.each<{ name: string; transmissions: string[] }>([
    { name: 'rejected by the app: nothing joined', transmissions: [] },
    { name: 'rejected by the app, whose reply confirms another channel: nothing joined', transmissions: [OTHER_CONFIRM] },
  ])('$name', async ({ transmissions }) => {
    const world = await app();
    world.peer.answer({ status: 2, ...WITH_PRESENCE, transmissions });
    const result = await run({ ...appDeps(world), presence: world.presence, shards: world.shards }, subscribeJoining(APP));
    expect(result.frames).toEqual([]);
    expect(await world.presence.info(ROOM, world.clock.now())).toEqual([]);
    expect(world.dispatched).toEqual([]);
  });

  test('confirmed by the app in a reply that also disconnects: nothing joined for a connection being closed', async () => {
    const world = await app();
    world.peer.answer({ status: 1, ...WITH_PRESENCE, disconnect: true, transmissions: [APP_CONFIRM, APP_DISCONNECT] });
    const result = await run({ ...appDeps(world), presence: world.presence, shards: world.shards }, subscribeJoining(APP));
    expect(result).toEqual({ frames: [], transmissions: [APP_CONFIRM, APP_DISCONNECT], close: true });
    expect(await world.presence.info(ROOM, world.clock.now())).toEqual([]);
    expect(world.dispatched).toEqual([]);
  });
});
