import { connectionRow, putConnection } from './rpc-support';
import { CONNECTION_ID, makeWorld, OTHER_CONNECTION_ID, pubsubIdentifier, recordingLocalShards, SECRET, send, subscribeCommand, turboIdentifier, World } from './support';
import { MemoryStreamHistory } from '../../lambda/adapters/memory/memory-stream-history';
import { CableSettings } from '../../lambda/core/config';
import { connect } from '../../lambda/core/connect';
import { MessageResult } from '../../lambda/core/message';
import { ShardRequest } from '../../lambda/core/ports';
import { RpcClient } from '../../lambda/core/rpc-client';
import { signStream } from '../../lambda/core/signed-stream';
import { WHISPER_STREAM_STATE } from '../../lambda/core/whisper';
import { LocalShardDispatcher } from '../../lambda/local/local-shard-dispatcher';

const EXT = 'actioncable-v1-ext-json';
const PLAIN = 'actioncable-v1-json';
const THIRD_ID = 'Th33Th33Th3=';
const CHAT = 'chat:42';
const PUBLIC = pubsubIdentifier({ stream_name: CHAT });
const SIGNED = pubsubIdentifier({ signed_stream_name: signStream(CHAT, SECRET) });
const TURBO = turboIdentifier(signStream(CHAT, SECRET));
const APP = JSON.stringify({ channel: 'ChatChannel', room: 42 });
/** Over 100 characters, so the refusal's log shows the identifier cut. */
const FORGED = pubsubIdentifier({ signed_stream_name: `forged${'x'.repeat(150)}` });
const TYPING = { event: 'typing', user: 'Vova' };
const NOTHING: MessageResult = { frames: [], close: false };

type WhisperWorld = World & { readonly history: MemoryStreamHistory; readonly shards: LocalShardDispatcher; readonly dispatched: ShardRequest[] };

/** Memory stores, a history kept (so a stored whisper would show), whispers fanned out in-process as the fan-out function would. */
function whisperWorld(settings: CableSettings = {}): WhisperWorld {
  const world = makeWorld({ secret: SECRET, publicStreams: true, ...settings });
  const { shards, dispatched } = recordingLocalShards(world);
  return { ...world, history: new MemoryStreamHistory(), shards, dispatched };
}

async function open(world: World, connectionId: string, protocol = PLAIN): Promise<void> {
  await connect(world, { connectionId, headers: { 'sec-websocket-protocol': protocol }, query: {} });
  world.transport.open(connectionId);
}

function whisperCommand(identifier: string, data?: unknown): string {
  return JSON.stringify({ command: 'whisper', identifier, ...(data === undefined ? {} : { data }) });
}

/** Sends the whisper, waits for its fan-out, and returns what the sender was answered. */
async function whisper(world: WhisperWorld, body: string, connectionId = CONNECTION_ID): Promise<MessageResult> {
  const result = await send(world, body, connectionId);
  await world.shards.drain();
  return result;
}

/** Frames each connection received since `subscribed`, welcome and confirmations left out. */
function received(world: World, ...ids: string[]): Record<string, unknown[]> {
  const isProtocol = (frame: unknown) => typeof frame === 'object' && frame !== null && 'type' in frame;
  return Object.fromEntries(ids.map((id) => [id, world.transport.framesOf(id).filter((frame) => !isProtocol(frame))]));
}

/** Three connections subscribed to `identifier`: CONNECTION_ID (plain), OTHER_CONNECTION_ID (ext), THIRD_ID (plain). */
async function subscribed(world: WhisperWorld, identifier: string): Promise<void> {
  await open(world, CONNECTION_ID);
  await open(world, OTHER_CONNECTION_ID, EXT);
  await open(world, THIRD_ID);
  for (const id of [CONNECTION_ID, OTHER_CONNECTION_ID, THIRD_ID]) {
    expect((await send(world, subscribeCommand(identifier), id)).frames).toEqual([{ type: 'confirm_subscription', identifier }]);
  }
  world.logger.entries.length = 0;
}

function invalidFrames(world: World, connectionId = CONNECTION_ID): number | undefined {
  return world.connections.counts.get(connectionId)?.invalidFrames;
}

describe('whisper: $pubsub public streams', () => {
  test('whisper: the other subscribers get {identifier, message} without offset or epoch (ext too), the sender nothing, the history nothing', async () => {
    const world = whisperWorld();
    await subscribed(world, PUBLIC);

    expect(await whisper(world, whisperCommand(PUBLIC, TYPING))).toEqual(NOTHING);

    const frame = { identifier: PUBLIC, message: TYPING };
    expect(received(world, CONNECTION_ID, OTHER_CONNECTION_ID, THIRD_ID))
      .toEqual({ [CONNECTION_ID]: [], [OTHER_CONNECTION_ID]: [frame], [THIRD_ID]: [frame] });
    expect(await world.history.position(CHAT, world.clock.now())).toBeUndefined();
    expect(invalidFrames(world)).toBeFalsy();
  });

  test('whisper: handed to the fan-out function as one transient request for the whole stream, excluding the sender\'s connection', async () => {
    const world = whisperWorld();
    await subscribed(world, PUBLIC);
    await whisper(world, whisperCommand(PUBLIC, TYPING), OTHER_CONNECTION_ID);

    const broadcast = { stream: CHAT, data: JSON.stringify(TYPING), transient: true, excludeConnectionId: OTHER_CONNECTION_ID };
    expect(world.dispatched).toEqual([{ broadcast }]);
    expect(received(world, CONNECTION_ID, OTHER_CONNECTION_ID))
      .toEqual({ [CONNECTION_ID]: [{ identifier: PUBLIC, message: TYPING }], [OTHER_CONNECTION_ID]: [] });
  });

  test('whisper: per stream, not per identifier: a subscriber of the same stream under another identifier gets it under its own', async () => {
    const world = whisperWorld({ streamsWhisper: true });
    await subscribed(world, PUBLIC);
    const SIGNED_ID = 'S1gn3dS1gn3=';
    await open(world, SIGNED_ID);
    await send(world, subscribeCommand(SIGNED), SIGNED_ID);

    await whisper(world, whisperCommand(PUBLIC, 'tshh... it\'s a secret'));
    expect(received(world, SIGNED_ID)).toEqual({ [SIGNED_ID]: [{ identifier: SIGNED, message: 'tshh... it\'s a secret' }] });
  });

  test('whisper: data may be any JSON value (anycable-go\'s Data interface{}): a string, a number, null', async () => {
    const world = whisperWorld();
    await subscribed(world, PUBLIC);
    for (const data of ['hi', 7, null, [1, 2]]) await whisper(world, whisperCommand(PUBLIC, data));
    expect(received(world, THIRD_ID)[THIRD_ID]).toEqual(['hi', 7, null, [1, 2]].map((message) => ({ identifier: PUBLIC, message })));
  });
});

describe('whisper: refusals (ignored as anycable-go ignores them, counted as invalid frames)', () => {
  const cases: Array<{ name: string; settings?: CableSettings; identifier: string; subscribe?: string; reason: string }> = [
    { name: 'a signed $pubsub stream without streamsWhisper', identifier: SIGNED, reason: 'not_whisperable' },
    { name: 'a Turbo stream, even with streamsWhisper (anycable-go\'s Turbo controller never sets $w)', settings: { streamsWhisper: true }, identifier: TURBO, reason: 'not_whisperable' },
    { name: 'a public stream the sender is not subscribed to', identifier: PUBLIC, subscribe: SIGNED, reason: 'whisper_not_subscribed' },
    { name: 'a channel that is neither built-in nor (without RPC) the app\'s', identifier: APP, subscribe: PUBLIC, reason: 'whisper_unknown_channel' },
    { name: 'an identifier that is not a channel\'s JSON', identifier: 'room', subscribe: PUBLIC, reason: 'whisper_unknown_channel' },
    { name: 'a $pubsub stream whose signature does not verify (the resolver\'s reason)', identifier: FORGED, subscribe: PUBLIC, reason: 'whisper_invalid_signature' },
  ];
  test.each(cases)('whisper: $name is delivered to no one and counted ($reason)', async ({ settings, identifier, subscribe, reason }) => {
    const world = whisperWorld({ streamsWhisper: false, ...settings });
    await subscribed(world, subscribe ?? identifier);

    expect(await whisper(world, whisperCommand(identifier, TYPING))).toEqual(NOTHING);

    expect(world.dispatched).toEqual([]);
    expect(received(world, OTHER_CONNECTION_ID, THIRD_ID)).toEqual({ [OTHER_CONNECTION_ID]: [], [THIRD_ID]: [] });
    expect(invalidFrames(world)).toBe(1);
    // The identifier, cut at 100 characters, tells the operator which subscription was refused.
    expect(world.logger.entries).toContainEqual(expect.objectContaining({
      event: 'message.ignored', fields: expect.objectContaining({ reason, identifier: identifier.slice(0, 100) }),
    }));
  });

  test('whisper: a signed $pubsub stream with streamsWhisper is delivered', async () => {
    const world = whisperWorld({ streamsWhisper: true });
    await subscribed(world, SIGNED);
    await whisper(world, whisperCommand(SIGNED, TYPING));
    expect(received(world, THIRD_ID)[THIRD_ID]).toEqual([{ identifier: SIGNED, message: TYPING }]);
  });

  test('whisper: without data it is malformed: ignored and counted (invalid_whisper_data)', async () => {
    const world = whisperWorld();
    await subscribed(world, PUBLIC);
    expect(await whisper(world, whisperCommand(PUBLIC))).toEqual(NOTHING);
    expect(world.dispatched).toEqual([]);
    expect(invalidFrames(world)).toBe(1);
    expect(world.logger.entries.filter((entry) => entry.event === 'message.ignored')).toEqual([
      { level: 'warn', event: 'message.ignored', fields: { connectionId: CONNECTION_ID, reason: 'invalid_whisper_data', count: 1 } },
    ]);
  });

  test('whisper: refused ones end the connection at maxInvalidFrames with invalid_request', async () => {
    const world = whisperWorld({ limits: { maxInvalidFrames: 3 } });
    await subscribed(world, SIGNED);
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await whisper(world, whisperCommand(SIGNED, TYPING)));
    expect(results).toEqual([NOTHING, NOTHING, { frames: [{ type: 'disconnect', reason: 'invalid_request', reconnect: false }], close: true }]);
  });

  test('whisper: without a fan-out to hand it to, refused (whispers_unavailable)', async () => {
    const world = whisperWorld();
    await subscribed(world, PUBLIC);
    const { shards: _, ...withoutShards } = world;
    expect(await send(withoutShards as World, whisperCommand(PUBLIC, TYPING))).toEqual(NOTHING);
    expect(world.dispatched).toEqual([]);
    expect(invalidFrames(world)).toBe(1);
    expect(world.logger.entries).toContainEqual(expect.objectContaining({ event: 'message.ignored', fields: expect.objectContaining({ reason: 'whispers_unavailable' }) }));
  });
});

describe('whisper: app channels (RPC), by the $w channel state', () => {
  /** Two identified connections subscribed to APP with streams [a]; the sender's state as given. */
  async function appWorld(senderState: Record<string, string>): Promise<WhisperWorld & { rpc: RpcClient }> {
    const world = { ...whisperWorld(), rpc: new RpcClient({ call: async () => { throw new Error('no RPC call expected'); } }) };
    await putConnection(world, connectionRow({ channels: { [APP]: { state: senderState, streams: ['a'] } } }));
    await putConnection(world, connectionRow({ connectionId: OTHER_CONNECTION_ID, channels: { [APP]: { state: { [WHISPER_STREAM_STATE]: 'a' }, streams: ['a'] } } }));
    world.transport.open(CONNECTION_ID);
    world.transport.open(OTHER_CONNECTION_ID);
    return world;
  }

  test('whisper: a channel whose state has $w (stream_from "a", whisper: true) whispers to "a", without an RPC call', async () => {
    const world = await appWorld({ [WHISPER_STREAM_STATE]: 'a' });
    expect(await whisper(world, whisperCommand(APP, TYPING))).toEqual(NOTHING);
    expect(received(world, CONNECTION_ID, OTHER_CONNECTION_ID))
      .toEqual({ [CONNECTION_ID]: [], [OTHER_CONNECTION_ID]: [{ identifier: APP, message: TYPING }] });
  });

  test.each<{ name: string; state: Record<string, string>; identifier: string; reason: string }>([
    { name: 'a channel whose state has no $w', state: {}, identifier: APP, reason: 'not_whisperable' },
    { name: 'a channel not subscribed', state: { [WHISPER_STREAM_STATE]: 'a' }, identifier: JSON.stringify({ channel: 'ChatChannel', room: 7 }), reason: 'whisper_not_subscribed' },
  ])('whisper: $name is refused ($reason)', async ({ state, identifier, reason }) => {
    const world = await appWorld(state);
    expect(await whisper(world, whisperCommand(identifier, TYPING))).toEqual(NOTHING);
    expect(received(world, OTHER_CONNECTION_ID)[OTHER_CONNECTION_ID]).toEqual([]);
    expect(world.logger.entries).toContainEqual(expect.objectContaining({ event: 'message.ignored', fields: expect.objectContaining({ reason }) }));
  });
});
