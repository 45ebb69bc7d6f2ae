import {
  appDeps, connectionRow, IDENTIFIED_HEADERS, jsonFrame, makeRpcWorld, putConnection, rowsOf,
  RPC_FAILURE_REASONS, rpcError, RpcAnswer, RpcWorld, sendWithRpc, sortedStreams,
} from './rpc-support';
import {
  CONNECTION_ID, messageCommand, OTHER_CONNECTION_ID, pubsubIdentifier, rows, SECRET, snapshot, subscribeCommand,
  turboIdentifier, unsubscribeCommand,
} from './support';
import { AppChannelDeps, performAppCommand } from '../../lambda/core/app-channel';
import { MessageResult } from '../../lambda/core/message';
import { ChannelRecord } from '../../lambda/core/ports';
import { signStream } from '../../lambda/core/signed-stream';
import { LogEntry } from '../support/recording-logger';

const URL = 'wss://cable.example.com/prod';
/** What the app is told: anycable-go's http(s) form of the upgrade URL. */
const APP_URL = 'https://cable.example.com/prod';
const REMOTE_ADDRESS = '198.51.100.7';
const IDENTIFIERS = JSON.stringify({ current_user: 'Z2lkOi8vYXBwL1VzZXIvNDI' });
const CSTATE = { token: '"abc"', locale: '"en"' };
/** What every command carries of the connection: env.url, the proxied headers, the stored cstate. */
const ENV = { url: APP_URL, headers: { cookie: 'user_id=42', REMOTE_ADDR: REMOTE_ADDRESS }, cstate: CSTATE };

const CHAT = JSON.stringify({ channel: 'ChatChannel', room: 'lobby' });
const NOTES = JSON.stringify({ channel: 'NotesChannel' });
const NOTES_RECORD: ChannelRecord = { state: { page: '3' }, streams: ['notes:42'] };

/** Frames as anycable-rails writes them ({identifier, type}: Rails' key order): passed on verbatim. */
const APP_CONFIRM = `{"identifier":${JSON.stringify(CHAT)},"type":"confirm_subscription"}`;
const APP_REJECT = `{"identifier":${JSON.stringify(CHAT)},"type":"reject_subscription"}`;
const APP_MESSAGE = `{"identifier":${JSON.stringify(CHAT)},"message":{"joined":true}}`;
const APP_DISCONNECT = '{"type":"disconnect","reason":"remote","reconnect":false}';

/** What cdk-cable sends itself. */
const CONFIRM = jsonFrame({ type: 'confirm_subscription', identifier: CHAT });
const REJECT = jsonFrame({ type: 'reject_subscription', identifier: CHAT });
/** The app's reject_subscription of another channel. */
const NOTES_REJECT = JSON.stringify({ identifier: NOTES, type: 'reject_subscription' });

/** The app was asked nothing, or asked and changed nothing: no frames. */
const NOTHING: MessageResult = { frames: [], transmissions: [], close: false };

function out(transmissions: unknown[], close = false): MessageResult {
  return { frames: [], transmissions: transmissions as string[], close };
}

function command(name: 'subscribe' | 'unsubscribe' | 'message', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { command: name, identifier: CHAT, connection_identifiers: IDENTIFIERS, ...extra };
}

/** A world with CONNECTION_ID identified (cstate CSTATE) and on these channels, and another connection on the same streams. */
async function seeded(channels: Record<string, ChannelRecord>): Promise<RpcWorld> {
  const world = makeRpcWorld();
  await putConnection(world, connectionRow({
    identifiers: IDENTIFIERS,
    cstate: CSTATE,
    url: URL,
    remoteAddress: REMOTE_ADDRESS,
    headers: IDENTIFIED_HEADERS,
    channels,
  }));
  await putConnection(world, connectionRow({ connectionId: OTHER_CONNECTION_ID, identifiers: '{}', channels: channels }));
  return world;
}

interface AppCase {
  readonly name: string;
  /** CONNECTION_ID's channels before (their streams are in the subscriptions store too). */
  readonly channels: Record<string, ChannelRecord>;
  /** The client's frame. */
  readonly frame: string;
  /** The command the app is asked, and what it answers; absent: the app is not called. */
  readonly rpc?: { readonly request: unknown; readonly answer: RpcAnswer };
  /** What goes back to the client. */
  readonly result: MessageResult;
  /** CONNECTION_ID's channels afterwards (and so its subscription rows); default: as before. */
  readonly after?: Record<string, ChannelRecord>;
  /** CONNECTION_ID's cstate afterwards; default: as before. */
  readonly cstate?: Record<string, string>;
  /** Every log entry, when the case says; absent: not checked. */
  readonly logs?: LogEntry[];
}

const info = (event: string, fields: LogEntry['fields']): LogEntry => ({ level: 'info', event, fields });
const warn = (event: string, fields: LogEntry['fields']): LogEntry => ({ level: 'warn', event, fields });

const CHAT_RECORD: ChannelRecord = { state: { typing: 'false', draft: '"hi"' }, streams: ['chat:lobby', 'chat:lobby:typing'] };
const SUBSCRIBED = { [CHAT]: CHAT_RECORD, [NOTES]: NOTES_RECORD };
const CHAT_ENV = { ...ENV, istate: CHAT_RECORD.state };
const SPEAK = JSON.stringify({ action: 'speak', body: 'hi' });

const CASES: AppCase[] = [
  {
    name: 'subscribe: SUCCESS starts every stream, keeps istate and cstate, and returns the app\'s transmissions verbatim',
    channels: { [NOTES]: NOTES_RECORD },
    frame: subscribeCommand(CHAT),
    rpc: {
      request: command('subscribe', { env: ENV }),
      answer: {
        status: 1,
        streams: ['chat:lobby', 'chat:lobby:typing'],
        transmissions: [APP_CONFIRM, APP_MESSAGE],
        env: { cstate: { locale: '', visits: '2' }, istate: { since: '"2024"' } },
      },
    },
    result: out([APP_CONFIRM, APP_MESSAGE]),
    after: { [NOTES]: NOTES_RECORD, [CHAT]: { state: { since: '"2024"' }, streams: ['chat:lobby', 'chat:lobby:typing'] } },
    cstate: { token: '"abc"', visits: '2' },
  },
  {
    name: 'subscribe: SUCCESS without streams or state keeps an empty channel record',
    channels: {},
    frame: subscribeCommand(CHAT),
    rpc: { request: command('subscribe', { env: ENV }), answer: { status: 1, transmissions: [APP_CONFIRM] } },
    result: out([APP_CONFIRM]),
    after: { [CHAT]: { state: {}, streams: [] } },
  },
  {
    name: 'subscribe: a stream listed twice is one row',
    channels: {},
    frame: subscribeCommand(CHAT),
    rpc: { request: command('subscribe', { env: ENV }), answer: { status: 1, streams: ['chat:lobby', 'chat:lobby'], transmissions: [APP_CONFIRM] } },
    result: out([APP_CONFIRM]),
    after: { [CHAT]: { state: {}, streams: ['chat:lobby'] } },
  },
  {
    name: 'subscribe: again to a subscribed channel is confirmed without calling the app',
    channels: SUBSCRIBED,
    frame: subscribeCommand(CHAT),
    result: out([CONFIRM]),
  },
  {
    name: 'subscribe: FAILURE without a reject_subscription starts nothing, keeps no record and adds the reject',
    channels: { [NOTES]: NOTES_RECORD },
    frame: subscribeCommand(CHAT),
    rpc: {
      request: command('subscribe', { env: ENV }),
      answer: { status: 2, streams: ['chat:lobby'], error_msg: 'not allowed', env: { istate: { since: '"2024"' }, cstate: { visits: '2' } } },
    },
    result: out([REJECT]),
    // The connection's state is the app's to set even in a rejection (node.go applies cstate whatever the status).
    cstate: { ...CSTATE, visits: '2' },
    logs: [info('subscribe.rejected', { connectionId: CONNECTION_ID, identifier: CHAT, reason: 'app', errorMsg: 'not allowed' })],
  },
  {
    name: 'subscribe: FAILURE with the app\'s reject_subscription returns exactly the app\'s frames',
    channels: {},
    frame: subscribeCommand(CHAT),
    rpc: { request: command('subscribe', { env: ENV }), answer: { status: 2, stop_streams: true, transmissions: [APP_REJECT], env: {} } },
    result: out([APP_REJECT]),
  },
  {
    name: 'subscribe: FAILURE with other frames only gets the reject added after them',
    channels: {},
    frame: subscribeCommand(CHAT),
    rpc: { request: command('subscribe', { env: ENV }), answer: { status: 2, transmissions: [APP_MESSAGE] } },
    result: out([APP_MESSAGE, REJECT]),
    logs: [info('subscribe.rejected', { connectionId: CONNECTION_ID, identifier: CHAT, reason: 'app', errorMsg: undefined })],
  },
  {
    name: 'subscribe: FAILURE with a reject_subscription for another channel only gets its own reject added',
    channels: {},
    frame: subscribeCommand(CHAT),
    rpc: { request: command('subscribe', { env: ENV }), answer: { status: 2, transmissions: [NOTES_REJECT] } },
    result: out([NOTES_REJECT, REJECT]),
  },
  {
    name: 'subscribe: an identifier of exactly 900 bytes goes to the app',
    channels: {},
    frame: subscribeCommand(identifierOfBytes(900)),
    rpc: { request: { ...command('subscribe', { env: ENV }), identifier: identifierOfBytes(900) }, answer: { status: 1 } },
    result: out([]),
    after: { [identifierOfBytes(900)]: { state: {}, streams: [] } },
  },
  {
    name: 'subscribe: an identifier over 900 bytes is rejected without calling the app',
    channels: {},
    frame: subscribeCommand(identifierOfBytes(901)),
    result: out([jsonFrame({ type: 'reject_subscription', identifier: identifierOfBytes(901) })]),
    logs: [info('subscribe.rejected', { connectionId: CONNECTION_ID, identifier: identifierOfBytes(901).slice(0, 100), reason: 'identifier_too_long' })],
  },
  {
    name: 'subscribe: an identifier that is not JSON is rejected without calling the app',
    channels: {},
    frame: subscribeCommand('ChatChannel'),
    result: out([jsonFrame({ type: 'reject_subscription', identifier: 'ChatChannel' })]),
    logs: [info('subscribe.rejected', { connectionId: CONNECTION_ID, identifier: 'ChatChannel', reason: 'invalid_identifier' })],
  },
  {
    name: 'subscribe: an empty stream and one over 2048 bytes are skipped; one of exactly 2048 bytes is started',
    channels: {},
    frame: subscribeCommand(CHAT),
    rpc: {
      request: command('subscribe', { env: ENV }),
      answer: { status: 1, streams: ['chat:lobby', '', 'é'.repeat(1024), 'é'.repeat(1025), 'x'.repeat(2049)], transmissions: [APP_CONFIRM] },
    },
    result: out([APP_CONFIRM]),
    after: { [CHAT]: { state: {}, streams: ['chat:lobby', 'é'.repeat(1024)] } },
    logs: [
      warn('command.stream_skipped', { connectionId: CONNECTION_ID, identifier: CHAT, reason: 'empty_stream_name' }),
      warn('command.stream_skipped', { connectionId: CONNECTION_ID, identifier: CHAT, reason: 'stream_name_too_long' }),
      warn('command.stream_skipped', { connectionId: CONNECTION_ID, identifier: CHAT, reason: 'stream_name_too_long' }),
    ],
  },
  {
    name: 'message: the body has data and env.istate is that channel\'s state; the reply is the app\'s transmissions',
    channels: SUBSCRIBED,
    frame: messageCommand(CHAT, SPEAK),
    rpc: { request: command('message', { data: SPEAK, env: CHAT_ENV }), answer: { status: 1, transmissions: [APP_MESSAGE], env: {} } },
    result: out([APP_MESSAGE]),
    logs: [],
  },
  {
    // anycable-go node.go `Perform`: only ERROR (or no reply) is a failure; any other reply, FAILURE
    // included, goes to handleCommandReply like SUCCESS. A reject_subscription belongs to subscribe only.
    name: 'message: FAILURE is applied like SUCCESS (frames, streams, state) and adds no reject_subscription',
    channels: SUBSCRIBED,
    frame: messageCommand(CHAT, SPEAK),
    rpc: {
      request: command('message', { data: SPEAK, env: CHAT_ENV }),
      answer: { status: 2, error_msg: 'not allowed', streams: ['chat:lobby:extra'], transmissions: [APP_MESSAGE], env: { istate: { typing: 'true' } } },
    },
    result: out([APP_MESSAGE]),
    after: { ...SUBSCRIBED, [CHAT]: { state: { typing: 'true', draft: '"hi"' }, streams: [...CHAT_RECORD.streams, 'chat:lobby:extra'] } },
    logs: [],
  },
  {
    name: 'message: istate merges into that channel\'s state (an empty value deletes) and cstate into the connection\'s',
    channels: SUBSCRIBED,
    frame: messageCommand(CHAT, SPEAK),
    rpc: {
      request: command('message', { data: SPEAK, env: CHAT_ENV }),
      answer: { status: 1, env: { istate: { typing: 'true', draft: '', seen: '1' }, cstate: { token: '' } } },
    },
    result: out([]),
    after: { [NOTES]: NOTES_RECORD, [CHAT]: { state: { typing: 'true', seen: '1' }, streams: CHAT_RECORD.streams } },
    cstate: { locale: '"en"' },
  },
  {
    name: 'message: stop_streams stops every stream of the channel, then streams start',
    channels: SUBSCRIBED,
    frame: messageCommand(CHAT, SPEAK),
    rpc: { request: command('message', { data: SPEAK, env: CHAT_ENV }), answer: { status: 1, stop_streams: true, streams: ['chat:lobby', 'chat:hall'] } },
    result: out([]),
    after: { [NOTES]: NOTES_RECORD, [CHAT]: { state: CHAT_RECORD.state, streams: ['chat:hall', 'chat:lobby'] } },
  },
  {
    name: 'message: stopped_streams stop before streams start, so a stream in both stays',
    channels: SUBSCRIBED,
    frame: messageCommand(CHAT, SPEAK),
    rpc: {
      request: command('message', { data: SPEAK, env: CHAT_ENV }),
      answer: { status: 1, stopped_streams: ['chat:lobby', 'chat:lobby:typing'], streams: ['chat:lobby', 'chat:hall'] },
    },
    result: out([]),
    after: { [NOTES]: NOTES_RECORD, [CHAT]: { state: CHAT_RECORD.state, streams: ['chat:hall', 'chat:lobby'] } },
  },
  {
    name: 'message: stopped_streams not started change nothing else',
    channels: SUBSCRIBED,
    frame: messageCommand(CHAT, SPEAK),
    rpc: { request: command('message', { data: SPEAK, env: CHAT_ENV }), answer: { status: 1, stopped_streams: ['chat:lobby:typing', 'never:started'] } },
    result: out([]),
    after: { [NOTES]: NOTES_RECORD, [CHAT]: { state: CHAT_RECORD.state, streams: ['chat:lobby'] } },
  },
  {
    name: 'message: stop_streams with stopped_streams stops every stream of the channel; only NOTES\' stay',
    channels: SUBSCRIBED,
    frame: messageCommand(CHAT, SPEAK),
    rpc: { request: command('message', { data: SPEAK, env: CHAT_ENV }), answer: { status: 1, stop_streams: true, stopped_streams: ['chat:lobby'] } },
    result: out([]),
    after: { [NOTES]: NOTES_RECORD, [CHAT]: { state: CHAT_RECORD.state, streams: [] } },
  },
  {
    name: 'message: disconnect:true closes the connection after the app\'s transmissions',
    channels: SUBSCRIBED,
    frame: messageCommand(CHAT, SPEAK),
    rpc: { request: command('message', { data: SPEAK, env: CHAT_ENV }), answer: { status: 1, disconnect: true, transmissions: [APP_DISCONNECT] } },
    result: out([APP_DISCONNECT], true),
  },
  {
    name: 'message: to a channel not subscribed is ignored without calling the app',
    channels: { [NOTES]: NOTES_RECORD },
    frame: messageCommand(CHAT, SPEAK),
    result: NOTHING,
    logs: [info('command.not_subscribed', { connectionId: CONNECTION_ID, command: 'message', identifier: CHAT })],
  },
  {
    name: 'unsubscribe: from a channel not subscribed is ignored without calling the app',
    channels: { [NOTES]: NOTES_RECORD },
    frame: unsubscribeCommand(CHAT),
    result: NOTHING,
  },
  {
    name: 'unsubscribe: SUCCESS stops every stream, removes the channel record and returns the app\'s transmissions',
    channels: SUBSCRIBED,
    frame: unsubscribeCommand(CHAT),
    rpc: { request: command('unsubscribe', { env: CHAT_ENV }), answer: { status: 1, stop_streams: true, transmissions: [APP_MESSAGE], env: { istate: { typing: '' } } } },
    result: out([APP_MESSAGE]),
    after: { [NOTES]: NOTES_RECORD },
  },
  {
    name: 'unsubscribe: SUCCESS that lists streams to start still leaves the channel with none',
    channels: SUBSCRIBED,
    frame: unsubscribeCommand(CHAT),
    rpc: { request: command('unsubscribe', { env: CHAT_ENV }), answer: { status: 1, streams: ['chat:lobby'] } },
    result: out([]),
    after: { [NOTES]: NOTES_RECORD },
  },
  {
    name: 'unsubscribe: ERROR (status 0) still stops the streams and removes the record',
    channels: SUBSCRIBED,
    frame: unsubscribeCommand(CHAT),
    rpc: { request: command('unsubscribe', { env: CHAT_ENV }), answer: { status: 0, error_msg: 'boom' } },
    result: NOTHING,
    after: { [NOTES]: NOTES_RECORD },
  },
  ...RPC_FAILURE_REASONS.map((reason): AppCase => ({
    name: `unsubscribe: a call failing with ${reason} still stops the streams and removes the record`,
    channels: SUBSCRIBED,
    frame: unsubscribeCommand(CHAT),
    rpc: { request: command('unsubscribe', { env: CHAT_ENV }), answer: rpcError(reason) },
    result: NOTHING,
    after: { [NOTES]: NOTES_RECORD },
  })),
  ...failures().map(({ label, answer }): AppCase => ({
    name: `subscribe: ${label} changes nothing and rejects the subscription (no retry loop)`,
    channels: { [NOTES]: NOTES_RECORD },
    frame: subscribeCommand(CHAT),
    rpc: { request: command('subscribe', { env: ENV }), answer },
    result: { frames: [], transmissions: [JSON.stringify({ type: 'reject_subscription', identifier: CHAT })], close: false },
    logs: expect.arrayContaining([info('subscribe.rejected', { connectionId: CONNECTION_ID, identifier: CHAT, reason: 'app_failed' })]) as LogEntry[],
  })),
  ...failures().map(({ label, answer }): AppCase => ({
    name: `message: ${label} changes nothing and sends nothing`,
    channels: SUBSCRIBED,
    frame: messageCommand(CHAT, SPEAK),
    rpc: { request: command('message', { data: SPEAK, env: CHAT_ENV }), answer },
    result: NOTHING,
  })),
];

/** Every answer that is no answer: ERROR however it is spelled, and every failed call. */
function failures(): { label: string; answer: RpcAnswer }[] {
  return [
    {
      label: 'ERROR (status 0), even with streams, state and frames,',
      answer: { status: 0, error_msg: 'boom', streams: ['chat:x'], transmissions: [APP_MESSAGE], disconnect: true, env: { cstate: { token: '' }, istate: { typing: 'x' } } },
    },
    { label: 'an answer without status (anycable-rb\'s ERROR)', answer: { error_msg: 'Channel not found: ChatChannel' } },
    { label: 'an answer that is not JSON', answer: 'Internal Server Error' },
    ...RPC_FAILURE_REASONS.map((reason) => ({ label: `a call failing with ${reason}`, answer: rpcError(reason) })),
  ];
}

/** A ChatChannel identifier of exactly `bytes` bytes. */
function identifierOfBytes(bytes: number): string {
  const empty = JSON.stringify({ channel: 'ChatChannel', pad: '' });
  return JSON.stringify({ channel: 'ChatChannel', pad: 'x'.repeat(bytes - Buffer.byteLength(empty)) });
}

describe('app channels over RPC command', () => {
  test.each(CASES)('$name', async ({ channels, frame, rpc, result, after, cstate, logs }) => {
    const world = await seeded(channels);
    const other = world.connections.records.get(OTHER_CONNECTION_ID);
    const otherRows = rows(world).filter((row) => row.connectionId === OTHER_CONNECTION_ID);
    if (rpc) world.peer.answer(rpc.answer);

    expect(await sendWithRpc(world, frame)).toEqual(result);

    expect(world.peer.calls).toEqual(rpc ? [{ method: 'command', sid: CONNECTION_ID, body: rpc.request }] : []);
    const row = world.connections.records.get(CONNECTION_ID);
    expect(sortedStreams(row?.channels)).toEqual(sortedStreams(after ?? channels));
    expect(row?.cstate).toEqual(cstate ?? CSTATE);
    expect(rows(world).filter((r) => r.connectionId === CONNECTION_ID)).toEqual(rowsOf(CONNECTION_ID, after ?? channels));
    expect(world.connections.records.get(OTHER_CONNECTION_ID)).toBe(other);
    expect(rows(world).filter((r) => r.connectionId === OTHER_CONNECTION_ID)).toEqual(otherRows);
    if (logs) expect(world.logger.entries).toEqual(logs);
  });

  test('subscribe: the rows carry the channel identifier and a TTL from now', async () => {
    const world = await seeded({});
    world.peer.answer({ status: 1, streams: ['chat:lobby'], transmissions: [APP_CONFIRM] });
    await sendWithRpc(world, subscribeCommand(CHAT));
    // Strict: a plain client's row has no sid or holdUntil key at all.
    expect(world.subscriptions.all().filter((s) => s.connectionId === CONNECTION_ID)).toStrictEqual([
      { stream: 'chat:lobby', connectionId: CONNECTION_ID, identifier: CHAT, expiresAt: Math.floor(world.clock.now() / 1000) + world.config.ttlSeconds },
    ]);
  });

  test('subscribe: then message sends the istate the subscribe kept', async () => {
    const world = await seeded({});
    world.peer.answer(
      { status: 1, streams: ['chat:lobby'], transmissions: [APP_CONFIRM], env: { istate: { since: '"2024"' } } },
      { status: 1, env: { istate: { since: '"2025"' } } },
      { status: 1 },
    );
    await sendWithRpc(world, subscribeCommand(CHAT));
    await sendWithRpc(world, messageCommand(CHAT, SPEAK));
    await sendWithRpc(world, messageCommand(CHAT, SPEAK));
    expect(world.peer.calls.map((call) => (call.body as { env: { istate?: unknown } }).env.istate)).toEqual([
      undefined, { since: '"2024"' }, { since: '"2025"' },
    ]);
  });

  test('subscribe: after unsubscribe the channel goes to the app again, with an empty istate', async () => {
    const world = await seeded(SUBSCRIBED);
    world.peer.answer({ status: 1 }, { status: 1, transmissions: [APP_CONFIRM] });
    await sendWithRpc(world, unsubscribeCommand(CHAT));
    expect(await sendWithRpc(world, subscribeCommand(CHAT))).toEqual(out([APP_CONFIRM]));
    expect(world.peer.calls.map((call) => call.body)).toEqual([
      command('unsubscribe', { env: CHAT_ENV }),
      command('subscribe', { env: ENV }),
    ]);
  });

  test('message: a connection identified anonymously sends empty connection_identifiers', async () => {
    const world = makeRpcWorld();
    await putConnection(world, connectionRow({ channels: { [CHAT]: { state: {}, streams: [] } } }));
    world.peer.answer({ status: 1 });
    await sendWithRpc(world, messageCommand(CHAT, SPEAK));
    expect(world.peer.calls.map((call) => call.body)).toEqual([
      { command: 'message', identifier: CHAT, connection_identifiers: '', data: SPEAK, env: { url: '', headers: {} } },
    ]);
  });

  test.each([
    { name: 'unknown connection: subscribe is refused and closed without calling the app', frame: subscribeCommand(CHAT) },
    { name: 'unknown connection: message is refused and closed without calling the app', frame: messageCommand(CHAT, SPEAK) },
    { name: 'unknown connection: unsubscribe is refused and closed without calling the app', frame: unsubscribeCommand(CHAT) },
  ])('$name', async ({ frame }) => {
    const world = await seeded(SUBSCRIBED);
    const before = snapshot(world);
    // Rejected at $connect (no row) and let in only to be told so, or already cleaned up.
    expect(await sendWithRpc(world, frame, { connectionId: 'never-connected' })).toEqual({
      frames: [], transmissions: ['{"type":"disconnect","reason":"unauthorized","reconnect":false}'], close: true,
    });
    expect(world.peer.calls).toEqual([]);
    expect(snapshot(world)).toEqual(before);
    const { command: name } = JSON.parse(frame) as { command: string };
    expect(world.logger.entries).toEqual([warn('command.unknown_connection', { connectionId: 'never-connected', command: name, identifier: CHAT })]);
  });

  test('unsubscribe: the channel\'s recorded streams are passed to remove (the DynamoDB store deletes them by key: its index may lag)', async () => {
    const world = await seeded(SUBSCRIBED);
    const remove = jest.spyOn(world.subscriptions, 'remove');
    world.peer.answer({ status: 1 });
    await sendWithRpc(world, unsubscribeCommand(CHAT));
    expect(remove.mock.calls).toEqual([[CONNECTION_ID, CHAT, CHAT_RECORD.streams]]);
  });

  test('an ERROR answer: logged with the app\'s error message', async () => {
    const world = await seeded(SUBSCRIBED);
    world.peer.answer({ status: 0, error_msg: 'boom' });
    await sendWithRpc(world, messageCommand(CHAT, SPEAK));
    expect(world.logger.entries).toEqual([
      { level: 'error', event: 'command.rpc_error', fields: { connectionId: CONNECTION_ID, command: 'message', identifier: CHAT, errorMsg: 'boom' } },
    ]);
  });

  test('a call failing: logged with its reason, status and message', async () => {
    const world = await seeded(SUBSCRIBED);
    world.peer.answer(rpcError('http_error'));
    await sendWithRpc(world, messageCommand(CHAT, SPEAK));
    expect(world.logger.entries).toEqual([
      expect.objectContaining({ level: 'error', event: 'command.rpc_failed', fields: expect.objectContaining({ connectionId: CONNECTION_ID, command: 'message', identifier: CHAT, reason: 'http_error' }) }),
    ]);
  });
});

/** performAppCommand itself: what history-replay.ts reads of its result for an ext client (a row with a sid). */
describe('performAppCommand: subscribed, for an ext client\'s history replay', () => {
  const SID = 'AAAAAAAAAAAAAAAAAAAAAA';

  async function extWorld(channels: Record<string, ChannelRecord>): Promise<RpcWorld> {
    const world = makeRpcWorld();
    await putConnection(world, connectionRow({ sid: SID, channels }));
    return world;
  }

  const run = (world: RpcWorld, frame: string) => performAppCommand(
    appDeps(world) as AppChannelDeps, CONNECTION_ID, JSON.parse(frame) as Parameters<typeof performAppCommand>[2],
  );

  test('subscribe confirmed: the channel\'s streams, not closed', async () => {
    const world = await extWorld({});
    world.peer.answer({ status: 1, streams: ['chat:lobby'], transmissions: [APP_CONFIRM] });
    expect(await run(world, subscribeCommand(CHAT))).toEqual({ transmissions: [APP_CONFIRM], close: false, subscribed: { streams: ['chat:lobby'] } });
  });

  test('message: no subscribed', async () => {
    const world = await extWorld({ [CHAT]: { state: {}, streams: ['chat:lobby'] } });
    world.peer.answer({ status: 1, streams: ['chat:hall'] });
    expect(await run(world, messageCommand(CHAT, SPEAK))).toStrictEqual({ transmissions: [], close: false });
  });

  test('subscribe answered after the connection was removed: no subscribed, and the state not kept is logged', async () => {
    const world = await extWorld({});
    world.peer.answer(async () => {
      await world.connections.delete(CONNECTION_ID);
      return { status: 1, streams: ['chat:lobby'], transmissions: [APP_CONFIRM] };
    });
    expect(await run(world, subscribeCommand(CHAT))).toStrictEqual({ transmissions: [APP_CONFIRM], close: false });
    expect(world.logger.entries).toEqual([info('command.state_not_kept', { connectionId: CONNECTION_ID, identifier: CHAT, outcome: 'connection_gone' })]);
  });

  test('subscribe rejected after the connection was removed: only the rejection is logged (an empty cstate is no state to keep: no write)', async () => {
    const world = await extWorld({});
    world.peer.answer(async () => {
      await world.connections.delete(CONNECTION_ID);
      return { status: 2, env: { cstate: {} } };
    });
    await run(world, subscribeCommand(CHAT));
    expect(world.logger.events()).toEqual(['subscribe.rejected']);
  });
});

/**
 * Two invocations for one connection may run at once: the app's answer to one command can arrive
 * after another invocation has unsubscribed the channel or `$disconnect` has removed the
 * connection. The late answer must not leave rows behind for what is gone (ports.ts: "a late
 * command must not bring back an unsubscribed channel"). The interleaving is made by the scripted
 * app, which lets the other invocation finish while it "handles" the call.
 */
describe('late answers', () => {
  test('late answers: streams a message starts for a channel unsubscribed meanwhile leave no rows', async () => {
    const world = await seeded(SUBSCRIBED);
    world.peer.answer(
      async () => {
        await sendWithRpc(world, unsubscribeCommand(CHAT));
        return { status: 1, streams: ['chat:hall'] };
      },
      { status: 1 },
    );

    expect(await sendWithRpc(world, messageCommand(CHAT, SPEAK))).toEqual(out([]));

    expect(world.peer.calls.map((call) => (call.body as { command: string }).command)).toEqual(['message', 'unsubscribe']);
    expect(world.connections.records.get(CONNECTION_ID)?.channels).toEqual({ [NOTES]: NOTES_RECORD });
    expect(rows(world).filter((r) => r.connectionId === CONNECTION_ID)).toEqual(rowsOf(CONNECTION_ID, { [NOTES]: NOTES_RECORD }));
  });

  test('late answers: streams a subscribe starts for a connection removed meanwhile leave no rows', async () => {
    const world = await seeded({});
    world.peer.answer(async () => {
      await world.subscriptions.removeAll(CONNECTION_ID);
      await world.connections.delete(CONNECTION_ID);
      return { status: 1, streams: ['chat:lobby'], transmissions: [APP_CONFIRM] };
    });

    await sendWithRpc(world, subscribeCommand(CHAT));

    expect(world.connections.records.has(CONNECTION_ID)).toBe(false);
    expect(rows(world).filter((r) => r.connectionId === CONNECTION_ID)).toEqual([]);
  });
});

describe('built-in channels with RPC configured', () => {
  const TURBO = turboIdentifier(signStream('room:1', SECRET));
  const PUBSUB = pubsubIdentifier({ signed_stream_name: signStream('news', SECRET) });

  test.each([
    { name: 'built-in: Turbo::StreamsChannel is confirmed by cdk-cable, not the app', identifier: TURBO, stream: 'room:1' },
    { name: 'built-in: $pubsub is confirmed by cdk-cable, not the app', identifier: PUBSUB, stream: 'news' },
  ])('$name', async ({ identifier, stream }) => {
    const world = await seeded({});
    const result = await sendWithRpc(world, subscribeCommand(identifier));
    expect(result).toEqual({ frames: [{ type: 'confirm_subscription', identifier }], close: false });
    expect(rows(world)).toEqual([{ stream, connectionId: CONNECTION_ID, identifier }]);
    expect(world.connections.records.get(CONNECTION_ID)?.channels).toEqual({});

    expect(await sendWithRpc(world, messageCommand(identifier, SPEAK))).toEqual({ frames: [], close: false });
    expect(await sendWithRpc(world, unsubscribeCommand(identifier))).toEqual({ frames: [], close: false });
    expect(rows(world)).toEqual([]);
    expect(world.peer.calls).toEqual([]);
  });

  test('built-in: a Turbo identifier with a bad signature is rejected by cdk-cable, not sent to the app', async () => {
    const world = await seeded({});
    const identifier = turboIdentifier(signStream('room:1', 'wrong-secret'));
    expect(await sendWithRpc(world, subscribeCommand(identifier))).toEqual({ frames: [{ type: 'reject_subscription', identifier }], close: false });
    expect(world.peer.calls).toEqual([]);
  });
});

describe('app channels without RPC', () => {
  test('without rpc: an app channel is rejected, as before', async () => {
    const world = await seeded({});
    const result = await sendWithRpc(world, subscribeCommand(CHAT), { withRpc: false });
    expect(result).toEqual({ frames: [{ type: 'reject_subscription', identifier: CHAT }], close: false });
    expect(world.peer.calls).toEqual([]);
    expect(rows(world)).toEqual([]);
  });
});
