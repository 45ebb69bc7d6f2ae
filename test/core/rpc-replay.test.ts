import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appDeps, connectionRow, makeRpcWorld, putConnection, rowsOf, RpcWorld, sortedStreams } from './rpc-support';
import { expectValidFrames, messageCommand, rows, SECRET, START_MS, subscribeCommand, unsubscribeCommand } from './support';
import { CableSettings } from '../../lambda/core/config';
import { connect, ConnectResult } from '../../lambda/core/connect';
import { handleDisconnect } from '../../lambda/core/disconnect';
import { handleMessage, MessageResult } from '../../lambda/core/message';
import { ChannelRecord, ConnectionRecord, DeliveryRequest } from '../../lambda/core/ports';
import {
  decodeCommandResponse, decodeConnectResponse, decodeDisconnectResponse, RpcCommandResponse, RpcConnectResponse, RpcDisconnectResponse, RpcMethod,
} from '../../lambda/core/rpc-protocol';

/**
 * Replays the recorded exchanges of test/fixtures/anycable-rpc (README.md there): the core is
 * driven so that it makes the recorded call, the body it sends must be the one anycable-go sends,
 * and the app's recorded answer must come out as anycable-go would apply it. Bodies are compared
 * as JSON values: the README's only difference allowed is key order (encoding/json sorts map keys).
 */

const FIXTURES = join(__dirname, '..', 'fixtures', 'anycable-rpc');

interface Fixture {
  readonly method: RpcMethod;
  readonly meta: { readonly sid: string; readonly protov: string };
  readonly request: unknown;
  readonly response: Record<string, unknown>;
}

function load(file: string): Fixture {
  return JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as Fixture;
}

const FILES = readdirSync(FIXTURES).filter((file) => file.endsWith('.json')).sort();

// The values of the fixtures (README.md "How they were made"), written out rather than read back.
const CABLE_URL = 'http://example.io/cable?token=123';
const REMOTE_ADDR = '192.0.2.1';
const JOHN = '{"current_user":"Z2lkOi8vZHVtbXkvVXNlci8x","url":"http://example.io/cable?token=123"}';
const DISCO = '{"current_user":"Z2lkOi8vZHVtbXkvVXNlci8y","url":"http://example.io/cable?token=123"}';
const JOHN_CSTATE = { __ltags__: '["ActionCable","john"]', token: '"123"' };
const TEST_CHANNEL = '{"channel":"TestChannel"}';
const WHISPERING: ChannelRecord = { state: { $w: 'test' }, streams: ['test'] };

/** John's connection as `$connect` left it after connect-success.json. */
function johnRow(sid: string, channels: Record<string, ChannelRecord>): ConnectionRecord {
  return connectionRow({
    connectionId: sid,
    headers: { 'sec-websocket-protocol': 'actioncable-v1-json', 'host': 'example.io', 'cookie': 'username=john' },
    query: { token: '123' },
    url: CABLE_URL,
    remoteAddress: REMOTE_ADDR,
    identifiers: JOHN,
    cstate: JOHN_CSTATE,
    channels,
  });
}

function upgrade(sid: string, cookie: string | undefined, url = CABLE_URL): Parameters<typeof connect>[1] {
  return {
    connectionId: sid,
    headers: { 'sec-websocket-protocol': 'actioncable-v1-json', 'host': 'example.io', ...(cookie !== undefined ? { cookie } : {}) },
    query: Object.fromEntries(new URL(url).searchParams),
    url,
    remoteAddress: REMOTE_ADDR,
  };
}

interface ConnectReplay {
  readonly kind: 'connect';
  readonly settings?: CableSettings;
  readonly cookie?: string;
  /** default: CABLE_URL */
  readonly url?: string;
  readonly result: ConnectResult;
  /** The stored row's RPC fields; absent: nothing stored. */
  readonly stored?: Partial<ConnectionRecord>;
  readonly deliveries: Omit<DeliveryRequest, 'connectionId' | 'deadline'>[];
}

interface CommandReplay {
  readonly kind: 'command';
  readonly channels: Record<string, ChannelRecord>;
  readonly frame: string;
  readonly result: MessageResult;
  readonly channelsAfter: Record<string, ChannelRecord>;
  readonly cstateAfter: Record<string, string>;
}

interface DisconnectReplay {
  readonly kind: 'disconnect';
  readonly row: ConnectionRecord;
  readonly removedSubscriptions: number;
}

type Replay = ConnectReplay | CommandReplay | DisconnectReplay;

const ACCEPT: ConnectResult = { kind: 'accept', subprotocol: 'actioncable-v1-json' };

const REPLAYS: Record<string, Replay> = {
  'connect-success.json': {
    kind: 'connect',
    cookie: 'username=john',
    result: ACCEPT,
    stored: { identifiers: JOHN, cstate: JOHN_CSTATE, remoteAddress: REMOTE_ADDR, url: CABLE_URL, channels: {} },
    deliveries: [{ frames: ['{"type":"welcome","sid":"x2022"}'] }],
  },
  'connect-rejected.json': {
    kind: 'connect',
    result: ACCEPT,
    deliveries: [{ frames: ['{"type":"disconnect","reason":"unauthorized","reconnect":false}'], close: true }],
  },
  'connect-error.json': {
    kind: 'connect',
    // rpcCookies shapes the trailing ";" anycable-go's parseCookies writes.
    settings: { secret: SECRET, rpcCookies: ['username'] },
    cookie: 'username=john; _session_id=0f3c',
    url: 'http://example.io/cable?raise=sudden_connect_error',
    result: { kind: 'refuse', status: 500, reason: expect.any(String) as string },
    deliveries: [],
  },
  'command-subscribe.json': {
    kind: 'command',
    channels: {},
    frame: subscribeCommand(TEST_CHANNEL),
    result: { frames: [], transmissions: ['{"identifier":"{\\"channel\\":\\"TestChannel\\"}","type":"confirm_subscription"}'], close: false },
    channelsAfter: { [TEST_CHANNEL]: WHISPERING },
    cstateAfter: JOHN_CSTATE,
  },
  'command-subscribe-rejected.json': {
    kind: 'command',
    channels: {},
    frame: subscribeCommand(TEST_CHANNEL),
    result: { frames: [], transmissions: ['{"identifier":"{\\"channel\\":\\"TestChannel\\"}","type":"reject_subscription"}'], close: false },
    channelsAfter: {},
    cstateAfter: JOHN_CSTATE,
  },
  'command-error.json': {
    kind: 'command',
    channels: {},
    frame: subscribeCommand('{"channel":"FakeChannel"}'),
    // anycable-go sends nothing; cdk-cable rejects, or the client would re-send subscribe every
    // 500 ms, each a paid invocation and RPC call (app-channel.ts, docs/rpc.md).
    result: { frames: [], transmissions: ['{"type":"reject_subscription","identifier":"{\\"channel\\":\\"FakeChannel\\"}"}'], close: false },
    channelsAfter: {},
    cstateAfter: JOHN_CSTATE,
  },
  'command-message.json': {
    kind: 'command',
    channels: { [TEST_CHANNEL]: WHISPERING },
    frame: messageCommand(TEST_CHANNEL, '{"action":"add","a":1,"b":2}'),
    result: { frames: [], transmissions: ['{"identifier":"{\\"channel\\":\\"TestChannel\\"}","message":{"result":3}}'], close: false },
    channelsAfter: { [TEST_CHANNEL]: WHISPERING },
    cstateAfter: JOHN_CSTATE,
  },
  'command-message-istate.json': {
    kind: 'command',
    channels: { [TEST_CHANNEL]: WHISPERING },
    frame: messageCommand(TEST_CHANNEL, '{"action":"itick"}'),
    result: { frames: [], transmissions: ['{"identifier":"{\\"channel\\":\\"TestChannel\\"}","message":{"result":1}}'], close: false },
    channelsAfter: { [TEST_CHANNEL]: { state: { $w: 'test', counter: '1' }, streams: ['test'] } },
    cstateAfter: JOHN_CSTATE,
  },
  'command-stop-streams-and-disconnect.json': {
    kind: 'command',
    channels: { [TEST_CHANNEL]: { state: { $w: 'test' }, streams: ['test', 'all'] } },
    frame: messageCommand(TEST_CHANNEL, '{"action":"unfollow_all"}'),
    result: { frames: [], transmissions: ['{"type":"disconnect","reason":"remote","reconnect":false}'], close: true },
    channelsAfter: { [TEST_CHANNEL]: { state: { $w: 'test' }, streams: [] } },
    cstateAfter: JOHN_CSTATE,
  },
  'command-unsubscribe.json': {
    kind: 'command',
    channels: { [TEST_CHANNEL]: WHISPERING },
    frame: unsubscribeCommand(TEST_CHANNEL),
    result: { frames: [], transmissions: [], close: false },
    channelsAfter: {},
    cstateAfter: JOHN_CSTATE,
  },
  'disconnect.json': {
    kind: 'disconnect',
    row: connectionRow({
      connectionId: 'x2024',
      headers: { 'sec-websocket-protocol': 'actioncable-v1-json', 'host': 'example.io', 'cookie': 'username=disco;' },
      query: { token: '123' },
      url: CABLE_URL,
      remoteAddress: REMOTE_ADDR,
      identifiers: DISCO,
      cstate: { __ltags__: '["ActionCable","disco"]', token: '"123"' },
      channels: {
        '{"channel":"TestChannel","id":1}': { state: { name: '"teddy"' }, streams: ['test'] },
        '{"channel":"TestChannel","id":2}': { state: { name: '"bear"' }, streams: ['test'] },
      },
    }),
    removedSubscriptions: 2,
  },
};

/** What each recorded response decodes to. */
const DECODED: Record<string, RpcConnectResponse | RpcCommandResponse | RpcDisconnectResponse> = {
  'connect-success.json': {
    status: 1,
    identifiers: JOHN,
    transmissions: ['{"type":"welcome","sid":"x2022"}'],
    errorMsg: '',
    env: { cstate: { token: '"123"', __ltags__: '["ActionCable","john"]' } },
  },
  'connect-rejected.json': {
    status: 2, identifiers: '', transmissions: ['{"type":"disconnect","reason":"unauthorized","reconnect":false}'], errorMsg: '', env: {},
  },
  'connect-error.json': { status: 0, identifiers: '', transmissions: [], errorMsg: 'sudden_connect_error', env: {} },
  'command-subscribe.json': {
    status: 1,
    disconnect: false,
    stopStreams: false,
    streams: ['test'],
    stoppedStreams: [],
    transmissions: ['{"identifier":"{\\"channel\\":\\"TestChannel\\"}","type":"confirm_subscription"}'],
    errorMsg: '',
    env: { istate: { $w: 'test' } },
  },
  'command-subscribe-rejected.json': {
    status: 2,
    disconnect: false,
    stopStreams: true,
    streams: [],
    stoppedStreams: [],
    transmissions: ['{"identifier":"{\\"channel\\":\\"TestChannel\\"}","type":"reject_subscription"}'],
    errorMsg: '',
    env: {},
  },
  'command-error.json': {
    status: 0, disconnect: false, stopStreams: false, streams: [], stoppedStreams: [], transmissions: [], errorMsg: 'Channel not found: FakeChannel', env: {},
  },
  'command-message.json': {
    status: 1,
    disconnect: false,
    stopStreams: false,
    streams: [],
    stoppedStreams: [],
    transmissions: ['{"identifier":"{\\"channel\\":\\"TestChannel\\"}","message":{"result":3}}'],
    errorMsg: '',
    env: {},
  },
  'command-message-istate.json': {
    status: 1,
    disconnect: false,
    stopStreams: false,
    streams: [],
    stoppedStreams: [],
    transmissions: ['{"identifier":"{\\"channel\\":\\"TestChannel\\"}","message":{"result":1}}'],
    errorMsg: '',
    env: { istate: { counter: '1' } },
  },
  'command-stop-streams-and-disconnect.json': {
    status: 1,
    disconnect: true,
    stopStreams: true,
    streams: [],
    stoppedStreams: ['all'],
    transmissions: ['{"type":"disconnect","reason":"remote","reconnect":false}'],
    errorMsg: '',
    env: {},
  },
  'command-unsubscribe.json': {
    status: 1, disconnect: false, stopStreams: true, streams: [], stoppedStreams: [], transmissions: [], errorMsg: '', env: { istate: { $w: '' } },
  },
  'disconnect.json': { status: 1, errorMsg: '' },
};

async function replayConnect(world: RpcWorld, fixture: Fixture, replay: ConnectReplay): Promise<void> {
  const result = await connect(world, upgrade(fixture.meta.sid, replay.cookie, replay.url));
  expect(result).toEqual(replay.result);
  const row = world.connections.records.get(fixture.meta.sid);
  if (replay.stored) expect(row).toEqual(expect.objectContaining(replay.stored));
  else expect(row).toBeUndefined();
  const deadline = START_MS + world.config.deliveryDeadlineMs;
  expect(world.delivery.requests).toEqual(replay.deliveries.map((delivery) => ({ connectionId: fixture.meta.sid, deadline, ...delivery })));
  for (const delivery of world.delivery.requests) expectValidFrames(delivery.frames);
}

async function replayCommand(world: RpcWorld, fixture: Fixture, replay: CommandReplay): Promise<void> {
  const sid = fixture.meta.sid;
  await putConnection(world, johnRow(sid, replay.channels));
  const result = await handleMessage(appDeps(world), { connectionId: sid, body: replay.frame, binary: false });
  expect(result).toEqual(replay.result);
  const row = world.connections.records.get(sid);
  expect(sortedStreams(row?.channels)).toEqual(sortedStreams(replay.channelsAfter));
  expect(row?.cstate).toEqual(replay.cstateAfter);
  expect(rows(world)).toEqual(rowsOf(sid, replay.channelsAfter));
}

async function replayDisconnect(world: RpcWorld, replay: DisconnectReplay): Promise<void> {
  await putConnection(world, replay.row);
  const { connections, subscriptions, logger, config, rpc } = world;
  const result = await handleDisconnect({ connections, subscriptions, logger, config, rpc }, replay.row.connectionId);
  expect(result).toEqual({ removedSubscriptions: replay.removedSubscriptions });
  expect(world.connections.records.size).toBe(0);
  expect(rows(world)).toEqual([]);
  expect(world.logger.at('warn')).toEqual([]);
}

describe('replay of recorded anycable-rb exchanges', () => {
  test('fixtures: every recorded exchange has a replay and a decoding', () => {
    expect(Object.keys(REPLAYS).sort()).toEqual(FILES);
    expect(Object.keys(DECODED).sort()).toEqual(FILES);
  });

  test.each(FILES)('replay: %s — our request is the recorded one, and the recorded response applies as anycable-go applies it', async (file) => {
    const fixture = load(file);
    const replay = REPLAYS[file];
    expect(replay.kind).toBe(fixture.method);
    const world = makeRpcWorld(replay.kind === 'connect' ? replay.settings : undefined);
    world.peer.answer(fixture.response);

    if (replay.kind === 'connect') await replayConnect(world, fixture, replay);
    else if (replay.kind === 'command') await replayCommand(world, fixture, replay);
    else await replayDisconnect(world, replay);

    expect(world.peer.calls).toEqual([{ method: fixture.method, sid: fixture.meta.sid, body: fixture.request }]);
  });

  test.each(FILES)('decode: %s — the recorded response decodes without error', (file) => {
    const fixture = load(file);
    const body = JSON.stringify(fixture.response);
    const decode = { connect: decodeConnectResponse, command: decodeCommandResponse, disconnect: decodeDisconnectResponse }[fixture.method];
    expect(decode(body)).toEqual(DECODED[file]);
  });
});
