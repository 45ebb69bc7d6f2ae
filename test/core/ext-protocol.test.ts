import { CONNECTION_ID, makeWorld, pubsubIdentifier, send, subscribeCommand, World } from './support';
import { fanOut } from '../../lambda/core/broadcast';
import { connect } from '../../lambda/core/connect';
import { parseHistoryRequest } from '../../lambda/core/ext-protocol';
import { ConnectRequest } from '../../lambda/core/request';

const EXT = 'actioncable-v1-ext-json';
const PLAIN = 'actioncable-v1-json';
const ROOM = 'room:1';
const IDENTIFIER = pubsubIdentifier({ stream_name: ROOM });

function request(protocols: string, connectionId = CONNECTION_ID): ConnectRequest {
  return { connectionId, headers: { 'sec-websocket-protocol': protocols }, query: {}, url: 'wss://cable.example.com/prod' };
}

async function connected(world: World, protocols: string, connectionId = CONNECTION_ID) {
  const result = await connect(world, request(protocols, connectionId));
  world.transport.open(connectionId);
  const welcome = world.delivery.requests.filter((r) => r.connectionId === connectionId).flatMap((r) => r.frames).map((f) => JSON.parse(f));
  return { result, welcome, record: await world.connections.get(connectionId) };
}

describe('ext protocol: negotiation', () => {
  test.each([
    { offered: EXT, chosen: EXT },
    { offered: `${EXT}, ${PLAIN}`, chosen: EXT },
    { offered: `${PLAIN}, ${EXT}`, chosen: PLAIN },
    { offered: `graphql-ws, ${EXT}`, chosen: EXT },
  ])('subprotocol: "$offered" chooses $chosen (the client\'s order decides) and stores it on the row', async ({ offered, chosen }) => {
    const world = makeWorld();
    const { result, record } = await connected(world, offered);
    expect(result).toEqual({ kind: 'accept', subprotocol: chosen });
    expect(record?.subprotocol).toBe(chosen);
  });

  test('sid: an ext client\'s welcome carries 128 random bits, not the connection id, stored on its row and never logged', async () => {
    const world = makeWorld();
    const first = await connected(world, EXT, 'conn-a=');
    const second = await connected(world, EXT, 'conn-b=');
    const sid = first.welcome[0].sid as string;
    expect(first.welcome).toEqual([{ type: 'welcome', sid }]);
    expect(sid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(sid, 'base64url')).toHaveLength(16);
    expect(sid).not.toBe('conn-a=');
    expect(second.welcome[0].sid).not.toBe(sid);
    expect(first.record?.sid).toBe(sid);
    expect(JSON.stringify(world.logger.entries)).not.toContain(sid);
  });

  test('sid: a plain client\'s welcome is unchanged (no sid) and its row has none', async () => {
    const world = makeWorld();
    const { welcome, record } = await connected(world, PLAIN);
    expect(welcome).toEqual([{ type: 'welcome' }]);
    expect(record?.sid).toBeUndefined();
  });
});

describe('ext protocol: commands', () => {
  test('pong: the ext client\'s answer to a ping gets no reply and is not an invalid frame', async () => {
    const world = makeWorld({ secret: 'secret', limits: { maxInvalidFrames: 1 } });
    await connected(world, EXT);
    expect(await send(world, JSON.stringify({ command: 'pong' }))).toEqual({ frames: [], close: false });
    expect(await world.connections.countInvalidFrame(CONNECTION_ID)).toBe(1);
  });

  test('subscribe: an ext client\'s subscription row carries its sid', async () => {
    const world = makeWorld({ secret: 'secret', publicStreams: true });
    const { welcome } = await connected(world, EXT);
    await send(world, subscribeCommand(IDENTIFIER));
    expect(world.subscriptions.all().map((s) => s.sid)).toEqual([welcome[0].sid]);
  });

  test('exclude_socket: the sid an ext client got excludes it; a plain client is still excluded by its connection id', async () => {
    const world = makeWorld({ secret: 'secret', publicStreams: true });
    const ext = await connected(world, EXT, 'ext=');
    await connected(world, PLAIN, 'plain=');
    await connected(world, PLAIN, 'other=');
    for (const id of ['ext=', 'plain=', 'other=']) await send(world, subscribeCommand(IDENTIFIER), id);
    const broadcast = { stream: ROOM, data: '"hi"' };
    await fanOut(world, { ...broadcast, excludeConnectionId: ext.welcome[0].sid });
    await fanOut(world, { ...broadcast, excludeConnectionId: 'plain=' });
    expect([...world.transport.sent.keys()].sort()).toEqual(['ext=', 'other=', 'plain=']);
    expect(world.transport.framesOf('ext=')).toHaveLength(1);
    expect(world.transport.framesOf('plain=')).toHaveLength(1);
    expect(world.transport.framesOf('other=')).toHaveLength(2);
  });
});

describe('ext protocol: history requests', () => {
  test.each<{ input: unknown; expected: unknown }>([
    { input: { since: 1700000000 }, expected: { since: 1700000000, streams: {} } },
    { input: { streams: { a: { offset: 3, epoch: 'e' } } }, expected: { streams: { a: { offset: 3, epoch: 'e' } } } },
    { input: 'x', expected: 'history_not_an_object' },
    { input: [], expected: 'history_not_an_object' },
    { input: null, expected: 'history_not_an_object' },
    { input: { since: 'yesterday' }, expected: 'invalid_since' },
    { input: { since: -1 }, expected: 'invalid_since' },
    { input: { streams: [] }, expected: 'invalid_streams' },
    { input: { since: 1700000000, streams: null }, expected: 'invalid_streams' },
    { input: { streams: { a: { offset: 0, epoch: 'e' } } }, expected: { streams: { a: { offset: 0, epoch: 'e' } } } },
    { input: { streams: { a: { offset: -1, epoch: 'e' } } }, expected: 'invalid_position' },
    { input: { streams: { a: { offset: 1.5, epoch: 'e' } } }, expected: 'invalid_position' },
    { input: { streams: { a: { offset: 1 } } }, expected: 'invalid_position' },
    { input: { streams: { a: null } }, expected: 'invalid_position' },
    { input: {}, expected: 'empty_history_request' },
  ])('parseHistoryRequest: $input', ({ input, expected }) => {
    expect(parseHistoryRequest(input)).toEqual(expected);
  });
});
