import { appDeps, connectionRow, makeRpcWorld, putConnection, RpcAnswer, RpcWorld } from './rpc-support';
import { CONNECTION_ID, messageCommand, OTHER_CONNECTION_ID, recordingLocalShards, subscribeCommand, unsubscribeCommand } from './support';
import { MemoryPresenceStore } from '../../lambda/adapters/memory/memory-presence-store';
import { MemoryStreamHistory } from '../../lambda/adapters/memory/memory-stream-history';
import { handleMessage, MessageDeps, MessageResult } from '../../lambda/core/message';
import { ChannelRecord, ShardRequest } from '../../lambda/core/ports';
import { PresenceStore, presenceSessionKey } from '../../lambda/core/presence';
import { decodeCommandResponse, RpcCallError } from '../../lambda/core/rpc-protocol';
import { LocalShardDispatcher } from '../../lambda/local/local-shard-dispatcher';

/*
 * Presence set by the app's RPC reply (rpc.proto `CommandResponse.presence`), as anycable/anycable's
 * node.go `handleCommandReply` -> `handlePresenceReply` applies it. The replies are anycable-rb's
 * (spec/anycable/rpc/handlers/command_spec.rb "presence tracking": `presence_join("presence",
 * "u_john", {name: "John"})` answers `istate["$p"] = "presence"`, `streams ["presence"]`,
 * `presence {type: "join", id: "u_john", info: '{"name":"John"}'}`; a leave `{type: "leave", id: "u_john"}`).
 */

const CHAT = JSON.stringify({ channel: 'ChatChannel', room: 'lobby' });
const ROOM = 'presence';
const APP_CONFIRM = `{"identifier":${JSON.stringify(CHAT)},"type":"confirm_subscription"}`;
const JOIN_JOHN = { type: 'join', id: 'u_john', info: '{"name":"John"}' };
const JOINED: ChannelRecord = { state: { $p: ROOM }, streams: [ROOM] };

type PresenceRpcWorld = RpcWorld & {
  readonly presence: MemoryPresenceStore;
  readonly shards: LocalShardDispatcher;
  readonly dispatched: ShardRequest[];
};

/** CONNECTION_ID with `mine` (ext client: a sid), OTHER_CONNECTION_ID on the channel with presence, both sockets open. */
async function world(mine: Record<string, ChannelRecord>, options: { presence?: PresenceStore } = {}): Promise<PresenceRpcWorld> {
  const base = makeRpcWorld();
  const { shards, dispatched } = recordingLocalShards(base);
  await putConnection(base, connectionRow({ sid: 'sid-john', identifiers: '{"user":"john"}', channels: mine }));
  await putConnection(base, connectionRow({ connectionId: OTHER_CONNECTION_ID, identifiers: '{"user":"jane"}', channels: { [CHAT]: JOINED } }));
  base.transport.open(CONNECTION_ID);
  base.transport.open(OTHER_CONNECTION_ID);
  return { ...base, presence: (options.presence ?? new MemoryPresenceStore()) as MemoryPresenceStore, shards, dispatched };
}

async function send(w: PresenceRpcWorld, body: string, answer: RpcAnswer, deps: Partial<MessageDeps> = {}): Promise<MessageResult> {
  w.peer.answer(answer);
  const dispatchedBefore = w.dispatched.length;
  const all = { ...appDeps(w), presence: w.presence, shards: w.shards, ...deps };
  const result = await handleMessage(all, { connectionId: CONNECTION_ID, body, binary: false });
  const { afterSent, ...answered } = result;
  if (afterSent) {
    // The message handler runs it once the frames are sent: the reply's presence is not announced before.
    expect(w.dispatched).toHaveLength(dispatchedBefore);
    await afterSent();
  }
  await w.shards.drain();
  return answered;
}

function presenceFrames(w: RpcWorld, connectionId: string): unknown[] {
  return w.transport.framesOf(connectionId).filter((frame) => (frame as { type?: string }).type === 'presence');
}

const joinEvent = (id: string, info?: unknown) => ({ type: 'presence', identifier: CHAT, message: { type: 'join', id, ...(info !== undefined ? { info } : {}) } });
const leaveEvent = (id: string) => ({ type: 'presence', identifier: CHAT, message: { type: 'leave', id } });
const refused = (reason: string, type = 'join') => ({ level: 'warn', event: 'command.presence_refused', fields: { connectionId: CONNECTION_ID, identifier: CHAT, type, reason } });

describe('app channel: presence in the RPC reply (node.go handlePresenceReply)', () => {
  test('subscribe: $p, the stream and a join in one reply: joined after the state is kept, announced to the stream as a client join is', async () => {
    const w = await world({});
    const answer = { status: 1, streams: [ROOM], transmissions: [APP_CONFIRM], env: { istate: { $p: ROOM } }, presence: JOIN_JOHN };
    expect(await send(w, subscribeCommand(CHAT), answer)).toEqual({ frames: [], transmissions: [APP_CONFIRM], close: false });
    // Jane and John himself (subscribed in the same reply), each under their own identifier.
    expect(presenceFrames(w, OTHER_CONNECTION_ID)).toEqual([joinEvent('u_john', { name: 'John' })]);
    expect(presenceFrames(w, CONNECTION_ID)).toEqual([joinEvent('u_john', { name: 'John' })]);
    expect(w.dispatched).toEqual([{ broadcast: { stream: ROOM, data: JSON.stringify(joinEvent('u_john', { name: 'John' }).message), transient: true, broadcastType: 'presence' } }]);
    expect(await w.presence.info(ROOM, w.clock.now())).toEqual([{ id: 'u_john', info: '{"name":"John"}' }]);
    expect(w.logger.at('warn')).toEqual([]);
    // Marked as a client's join marks it: when it goes, its presence expires with a leave (presence-expiry.ts).
    expect((await w.connections.get(CONNECTION_ID))?.presenceJoined).toBe(true);
  });

  test('message: a join keyed by the session\'s sid, living the connection TTL; a second session of the id is not announced again', async () => {
    const w = await world({ [CHAT]: JOINED });
    const join = jest.spyOn(w.presence, 'join');
    await send(w, messageCommand(CHAT, '{"action":"join"}'), { status: 1, presence: JOIN_JOHN });
    const sessionKey = presenceSessionKey({ connectionId: CONNECTION_ID, sid: 'sid-john' });
    const entry = { stream: ROOM, sessionKey, identifier: CHAT, connectionId: CONNECTION_ID, id: 'u_john', info: '{"name":"John"}' };
    expect(join).toHaveBeenCalledWith(entry, w.clock.now(), Math.floor(w.clock.now() / 1000) + w.config.ttlSeconds);
    expect(presenceFrames(w, OTHER_CONNECTION_ID)).toEqual([joinEvent('u_john', { name: 'John' })]);

    // John in another tab (another session) first: present already, nothing announced.
    const other = await world({ [CHAT]: JOINED });
    await other.presence.join({ stream: ROOM, sessionKey: 'tab-2', identifier: CHAT, connectionId: 'tab-2', id: 'u_john' }, other.clock.now(), 9e9);
    await send(other, messageCommand(CHAT, '{"action":"join"}'), { status: 1, presence: JOIN_JOHN });
    expect(other.dispatched).toEqual([]);
    expect(other.logger.at('warn')).toEqual([]);
  });

  test('message: a leave removes the session and announces it when it was the id\'s last (the reply\'s id is not read)', async () => {
    const w = await world({ [CHAT]: JOINED });
    await send(w, messageCommand(CHAT, '{"action":"join"}'), { status: 1, presence: JOIN_JOHN });
    await send(w, messageCommand(CHAT, '{"action":"leave"}'), { status: 1, presence: { type: 'leave', id: 'someone-else' } });
    expect(presenceFrames(w, OTHER_CONNECTION_ID)).toEqual([joinEvent('u_john', { name: 'John' }), leaveEvent('u_john')]);
    expect(await w.presence.info(ROOM, w.clock.now())).toEqual([]);
    // A leave with nothing joined: nothing announced, nothing logged (anycable-go's PresenceRemove returns no event).
    await send(w, messageCommand(CHAT, '{"action":"leave"}'), { status: 1, presence: { type: 'leave', id: 'u_john' } });
    expect(presenceFrames(w, OTHER_CONNECTION_ID)).toHaveLength(2);
    expect(w.logger.at('warn')).toEqual([]);
  });

  test('message: a leave while another session holds the id is not announced', async () => {
    const w = await world({ [CHAT]: JOINED });
    await w.presence.join({ stream: ROOM, sessionKey: 'tab-2', identifier: CHAT, connectionId: 'tab-2', id: 'u_john' }, w.clock.now(), 9e9);
    await send(w, messageCommand(CHAT, '{"action":"join"}'), { status: 1, presence: JOIN_JOHN });
    await send(w, messageCommand(CHAT, '{"action":"leave"}'), { status: 1, presence: { type: 'leave', id: 'u_john' } });
    expect(w.dispatched).toEqual([]);
    expect(await w.presence.info(ROOM, w.clock.now())).toEqual([{ id: 'u_john' }]);
  });

  test.each([
    ['plain text info is passed on as a string (protocol.go: JSON that does not parse)', 'busy', 'busy'],
    ['no info', '', undefined],
    ['JSON null is no info', 'null', undefined],
    ['a JSON number', '42', 42],
  ])('info: %s', async (_name, info, expected) => {
    const w = await world({ [CHAT]: JOINED });
    await send(w, messageCommand(CHAT, '{"action":"join"}'), { status: 1, presence: { type: 'join', id: 'u_john', info } });
    expect(presenceFrames(w, OTHER_CONNECTION_ID)).toEqual([joinEvent('u_john', expected)]);
  });

  test.each<[string, Record<string, ChannelRecord>, Record<string, unknown>, ReturnType<typeof refused>]>([
    ['no $p in the channel state (anycable-go: "presence stream not found")', { [CHAT]: { state: {}, streams: [ROOM] } }, JOIN_JOHN, refused('no_presence_stream')],
    ['an empty $p', { [CHAT]: { state: { $p: '' }, streams: [ROOM] } }, JOIN_JOHN, refused('no_presence_stream')],
    ['a leave without $p', { [CHAT]: { state: {}, streams: [ROOM] } }, { type: 'leave', id: 'u_john' }, refused('no_presence_stream', 'leave')],
    ['an unknown type', { [CHAT]: JOINED }, { type: 'update', id: 'u_john' }, refused('unknown_presence_type', 'update')],
    ['no type', { [CHAT]: JOINED }, { id: 'u_john' }, refused('unknown_presence_type', '')],
    ['a join without an id', { [CHAT]: JOINED }, { type: 'join' }, refused('presence_id_missing')],
    ['an id over 256 bytes', { [CHAT]: JOINED }, { type: 'join', id: 'x'.repeat(257) }, refused('presence_id_too_long')],
    ['info over 2048 bytes', { [CHAT]: JOINED }, { type: 'join', id: 'u_john', info: JSON.stringify('x'.repeat(2047)) }, refused('presence_info_too_large')],
  ])('logged, not applied, the command still answered: %s', async (_name, mine, presence, logged) => {
    const w = await world(mine);
    const result = await send(w, messageCommand(CHAT, '{"action":"join"}'), { status: 1, transmissions: [APP_CONFIRM], presence });
    expect(result).toEqual({ frames: [], transmissions: [APP_CONFIRM], close: false });
    expect(presenceFrames(w, OTHER_CONNECTION_ID)).toEqual([]);
    expect(w.dispatched).toEqual([]);
    expect(w.logger.at('warn')).toEqual([logged]);
  });

  test('logged fields are bounded: the identifier to 100 characters, the type to 20', async () => {
    const long = JSON.stringify({ channel: 'ChatChannel', room: 'r'.repeat(200) });
    const w = await world({ [long]: JOINED });
    w.peer.answer({ status: 1, presence: { type: 't'.repeat(50), id: 'u_john' } });
    const result = await handleMessage({ ...appDeps(w), presence: w.presence, shards: w.shards }, { connectionId: CONNECTION_ID, body: messageCommand(long, '{}'), binary: false });
    await result.afterSent!();
    expect(w.logger.at('warn')).toEqual([{
      level: 'warn', event: 'command.presence_refused', fields: { connectionId: CONNECTION_ID, identifier: long.slice(0, 100), type: 't'.repeat(20), reason: 'unknown_presence_type' },
    }]);
  });

  test('another id than the one this session holds on the channel: refused (anycable-go "presence ID mismatch")', async () => {
    const w = await world({ [CHAT]: JOINED });
    await send(w, messageCommand(CHAT, '{}'), { status: 1, presence: JOIN_JOHN });
    await send(w, messageCommand(CHAT, '{}'), { status: 1, presence: { type: 'join', id: 'u_johnny' } });
    expect(presenceFrames(w, OTHER_CONNECTION_ID)).toEqual([joinEvent('u_john', { name: 'John' })]);
    expect(w.logger.at('warn')).toEqual([refused('presence_id_mismatch')]);
  });

  test('without a presence store or a dispatcher: logged, the command answered', async () => {
    for (const deps of [{ presence: undefined }, { shards: undefined }]) {
      const w = await world({ [CHAT]: JOINED });
      expect(await send(w, messageCommand(CHAT, '{}'), { status: 1, transmissions: [APP_CONFIRM], presence: JOIN_JOHN }, deps)).toEqual({
        frames: [], transmissions: [APP_CONFIRM], close: false,
      });
      expect(w.logger.at('warn')).toEqual([refused('presence_unavailable')]);
      expect(w.dispatched).toEqual([]);
    }
  });

  test('a store failure is logged as an error; the command is still answered', async () => {
    const failing: PresenceStore = {
      join: async () => { throw new Error('throttled'); },
      leave: async () => undefined,
      info: async () => [],
      finish: async () => {},
    };
    const w = await world({ [CHAT]: JOINED }, { presence: failing });
    expect(await send(w, messageCommand(CHAT, '{}'), { status: 1, transmissions: [APP_CONFIRM], presence: JOIN_JOHN })).toEqual({
      frames: [], transmissions: [APP_CONFIRM], close: false,
    });
    expect(w.logger.at('error')).toEqual([{
      level: 'error', event: 'command.presence_failed', fields: { connectionId: CONNECTION_ID, identifier: CHAT, type: 'join', error: new Error('throttled') },
    }]);
  });

  test('a rejected subscribe keeps no state: its presence is not applied', async () => {
    const w = await world({});
    await send(w, subscribeCommand(CHAT), { status: 2, env: { istate: { $p: ROOM } }, presence: JOIN_JOHN });
    expect(w.dispatched).toEqual([]);
    expect(await w.presence.info(ROOM, w.clock.now())).toEqual([]);
  });

  test('an unsubscribe reply\'s presence is not applied: the unsubscribe leaves (node.go Unsubscribe -> PresenceRemove)', async () => {
    const w = await world({ [CHAT]: JOINED });
    await send(w, messageCommand(CHAT, '{}'), { status: 1, presence: JOIN_JOHN });
    const join = jest.spyOn(w.presence, 'join');
    await send(w, unsubscribeCommand(CHAT), { status: 1, stop_streams: true, presence: { type: 'join', id: 'u_john' } });
    expect(join).not.toHaveBeenCalled();
    expect(presenceFrames(w, OTHER_CONNECTION_ID)).toEqual([joinEvent('u_john', { name: 'John' }), leaveEvent('u_john')]);
  });

  test('the channel was unsubscribed while the app answered: nothing joined', async () => {
    const w = await world({ [CHAT]: JOINED });
    await send(w, messageCommand(CHAT, '{}'), async () => {
      await w.connections.updateState(CONNECTION_ID, { channel: { identifier: CHAT } });
      return { status: 1, presence: JOIN_JOHN };
    });
    expect(w.dispatched).toEqual([]);
    expect(await w.presence.info(ROOM, w.clock.now())).toEqual([]);
  });
});

describe('app channel: presence in a subscribe with history (history-replay.ts)', () => {
  const history = (w: PresenceRpcWorld) => ({ history: new MemoryStreamHistory(), shards: w.shards, presence: w.presence });

  test('the rows are released first, then the join is applied, both once the frames are sent', async () => {
    const w = await world({});
    const extra = history(w);
    w.peer.answer({ status: 1, streams: [ROOM], transmissions: [APP_CONFIRM], env: { istate: { $p: ROOM } }, presence: JOIN_JOHN });
    const body = JSON.stringify({ command: 'subscribe', identifier: CHAT, history: { since: Math.floor(w.clock.now() / 1000) - 60 } });
    const result = await handleMessage({ ...appDeps(w), ...extra }, { connectionId: CONNECTION_ID, body, binary: false });
    expect(result.transmissions).toEqual([APP_CONFIRM, JSON.stringify({ type: 'confirm_history', identifier: CHAT })]);
    expect(w.dispatched).toEqual([]);
    const mine = () => w.subscriptions.all().find((row) => row.connectionId === CONNECTION_ID)!;
    expect(mine().holdUntil).toBeDefined();
    const release = jest.spyOn(w.subscriptions, 'release');
    const join = jest.spyOn(w.presence, 'join');
    await result.afterSent!();
    await w.shards.drain();
    expect(mine().holdUntil).toBeUndefined();
    expect(release.mock.invocationCallOrder[0]).toBeLessThan(join.mock.invocationCallOrder[0]);
    expect(presenceFrames(w, OTHER_CONNECTION_ID)).toEqual([joinEvent('u_john', { name: 'John' })]);
  });

  test('a malformed history: reject_history, and the join still applied once sent', async () => {
    const w = await world({});
    w.peer.answer({ status: 1, streams: [ROOM], transmissions: [APP_CONFIRM], env: { istate: { $p: ROOM } }, presence: JOIN_JOHN });
    const body = JSON.stringify({ command: 'subscribe', identifier: CHAT, history: 'nonsense' });
    const result = await handleMessage({ ...appDeps(w), ...history(w) }, { connectionId: CONNECTION_ID, body, binary: false });
    expect(result.transmissions).toEqual([APP_CONFIRM, JSON.stringify({ type: 'reject_history', identifier: CHAT })]);
    await result.afterSent!();
    await w.shards.drain();
    expect(presenceFrames(w, OTHER_CONNECTION_ID)).toEqual([joinEvent('u_john', { name: 'John' })]);
  });
});

describe('decodeCommandResponse: presence (rpc.proto PresenceResponse type 1, id 2, info 3, ttl 4)', () => {
  const base = { status: 1 };
  test('decoded; ttl not read (anycable-go does not read it); absent fields are empty', () => {
    expect(decodeCommandResponse(JSON.stringify({ ...base, presence: { type: 'join', id: 'u_john', info: '{"name":"John"}', ttl: 30 } })).presence)
      .toEqual({ type: 'join', id: 'u_john', info: '{"name":"John"}' });
    expect(decodeCommandResponse(JSON.stringify({ ...base, presence: { type: 'leave' } })).presence).toEqual({ type: 'leave', id: '', info: '' });
    expect(decodeCommandResponse(JSON.stringify({ ...base, presence: { type: 'leave', id: null, info: null } })).presence).toEqual({ type: 'leave', id: '', info: '' });
  });

  test('absent or null: no presence key at all', () => {
    expect('presence' in decodeCommandResponse(JSON.stringify(base))).toBe(false);
    expect('presence' in decodeCommandResponse(JSON.stringify({ ...base, presence: null }))).toBe(false);
  });

  test.each([
    [['a list'], 'has a presence that is not an object'],
    ['join', 'has a presence that is not an object'],
    [{ type: 1 }, 'has a non-string presence.type'],
    [{ type: 'join', id: 42 }, 'has a non-string presence.id'],
    [{ type: 'join', id: 'a', info: { name: 'John' } }, 'has a non-string presence.info'],
  ])('malformed: %j', (presence, message) => {
    const decode = () => decodeCommandResponse(JSON.stringify({ ...base, presence }));
    expect(decode).toThrow(RpcCallError);
    expect(decode).toThrow(`command response ${message}`);
  });
});
