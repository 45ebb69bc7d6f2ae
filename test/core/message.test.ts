import {
  CONNECTION_ID, expectValidFrames, makeWorld, messageCommand, openConnections, OTHER_CONNECTION_ID, rows, SECRET, send, snapshot,
  subscribeCommand, turboIdentifier, unsubscribeCommand, World,
} from './support';
import { connect } from '../../lambda/core/connect';
import { handleMessage, MessageResult } from '../../lambda/core/message';
import { MAX_MESSAGE_BYTES } from '../../lambda/core/protocol';
import { ConnectRequest } from '../../lambda/core/request';
import { signStream } from '../../lambda/core/signed-stream';

const ROOM_1 = turboIdentifier(signStream('room:1', SECRET));
const ROOM_2 = turboIdentifier(signStream('room:2', SECRET));

/** CONNECTION_ID on room 1 and room 2, OTHER_CONNECTION_ID on room 1. */
async function seeded(): Promise<World> {
  const world = makeWorld();
  await openConnections(world, CONNECTION_ID, OTHER_CONNECTION_ID);
  await send(world, subscribeCommand(ROOM_1));
  await send(world, subscribeCommand(ROOM_2));
  await send(world, subscribeCommand(ROOM_1), OTHER_CONNECTION_ID);
  world.logger.entries.length = 0;
  return world;
}

/** A body of exactly `bytes` bytes that is a valid `unsubscribe`. */
function unsubscribeOfBytes(bytes: number): string {
  const envelope = unsubscribeCommand('');
  return unsubscribeCommand('x'.repeat(bytes - Buffer.byteLength(envelope)));
}

const INVALID_REQUEST: MessageResult = { frames: [{ type: 'disconnect', reason: 'invalid_request', reconnect: false }], close: true };
const NOTHING: MessageResult = { frames: [], close: false };

describe('unsubscribe', () => {
  test('unsubscribe: removes only that identifier\'s rows of that connection and sends nothing', async () => {
    const world = await seeded();
    const result = await send(world, unsubscribeCommand(ROOM_1));

    expect(result).toEqual(NOTHING);
    expect(rows(world)).toEqual([
      { stream: 'room:1', connectionId: OTHER_CONNECTION_ID, identifier: ROOM_1 },
      { stream: 'room:2', connectionId: CONNECTION_ID, identifier: ROOM_2 },
    ]);
  });

  test('unsubscribe: an identifier never subscribed sends nothing and changes nothing', async () => {
    const world = await seeded();
    const before = snapshot(world);
    expect(await send(world, unsubscribeCommand(turboIdentifier(signStream('room:3', SECRET))))).toEqual(NOTHING);
    expect(snapshot(world)).toEqual(before);
  });

  test('unsubscribe: then subscribe again makes the row again', async () => {
    const world = await seeded();
    await send(world, unsubscribeCommand(ROOM_1));
    const result = await send(world, subscribeCommand(ROOM_1));
    expect(result.frames).toEqual([{ type: 'confirm_subscription', identifier: ROOM_1 }]);
    expect(rows(world).filter((r) => r.connectionId === CONNECTION_ID)).toHaveLength(2);
  });
});

describe('message', () => {
  test('message: a message to a built-in channel sends nothing and changes nothing', async () => {
    const world = await seeded();
    const before = snapshot(world);

    const result = await send(world, messageCommand(ROOM_1, JSON.stringify({ action: 'speak', body: 'hi' })));

    expect(result).toEqual(NOTHING);
    expect(snapshot(world)).toEqual(before);
    expect(world.logger.entries).toEqual([{
      level: 'warn',
      event: 'message.ignored',
      fields: { connectionId: CONNECTION_ID, reason: 'no_actions_on_builtin_channels', identifier: ROOM_1, count: 1 },
    }]);
  });
});

describe('bad input', () => {
  test.each<{ name: string; body: string; reason: string }>([
    { name: 'bad input: non-JSON text is ignored', body: 'hello', reason: 'invalid_json' },
    { name: 'bad input: an empty body is ignored', body: '', reason: 'invalid_json' },
    { name: 'bad input: a JSON array is ignored', body: JSON.stringify([{ command: 'subscribe', identifier: ROOM_1 }]), reason: 'not_an_object' },
    { name: 'bad input: JSON null is ignored', body: 'null', reason: 'not_an_object' },
    { name: 'bad input: a JSON string is ignored', body: JSON.stringify(subscribeCommand(ROOM_1)), reason: 'not_an_object' },
    { name: 'bad input: an unknown command is ignored', body: JSON.stringify({ command: 'perform', identifier: ROOM_1 }), reason: 'unknown_command' },
    { name: 'bad input: a missing command is ignored', body: JSON.stringify({ identifier: ROOM_1 }), reason: 'unknown_command' },
    { name: 'bad input: an unknown command without an identifier is ignored as an unknown command', body: JSON.stringify({ command: 'perform' }), reason: 'unknown_command' },
    { name: 'bad input: a missing identifier is ignored', body: JSON.stringify({ command: 'subscribe' }), reason: 'invalid_identifier' },
    { name: 'bad input: an empty identifier is ignored', body: JSON.stringify({ command: 'subscribe', identifier: '' }), reason: 'invalid_identifier' },
    {
      name: 'bad input: an identifier that is an object, not a string, is ignored',
      body: JSON.stringify({ command: 'subscribe', identifier: JSON.parse(ROOM_1) }),
      reason: 'invalid_identifier',
    },
    {
      name: 'bad input: an unsubscribe with a non-string identifier is ignored',
      body: JSON.stringify({ command: 'unsubscribe', identifier: 42 }),
      reason: 'invalid_identifier',
    },
    { name: 'bad input: a message without data is ignored', body: JSON.stringify({ command: 'message', identifier: ROOM_1 }), reason: 'invalid_data' },
    {
      name: 'bad input: a message whose data is an object, not a string, is ignored',
      body: JSON.stringify({ command: 'message', identifier: ROOM_1, data: { action: 'speak' } }),
      reason: 'invalid_data',
    },
  ])('$name', async ({ body, reason }) => {
    const world = await seeded();
    const before = snapshot(world);

    const result = await send(world, body);

    expect(result).toEqual(NOTHING);
    expect(snapshot(world)).toEqual(before);
    expect(world.logger.entries).toEqual([{ level: 'warn', event: 'message.ignored', fields: { connectionId: CONNECTION_ID, reason, count: 1 } }]);
  });

  test.each<{ name: string; body: string; binary: boolean; reason: string }>([
    { name: 'bad input: a binary frame ends the connection with invalid_request', body: subscribeCommand(ROOM_1), binary: true, reason: 'binary_frame' },
    {
      name: 'bad input: a body over 128 KB ends the connection with invalid_request',
      body: unsubscribeOfBytes(MAX_MESSAGE_BYTES + 1),
      binary: false,
      reason: 'message_too_large',
    },
    {
      name: 'bad input: a body over 128 KB in bytes but not in characters ends the connection',
      body: 'é'.repeat(MAX_MESSAGE_BYTES / 2 + 1),
      binary: false,
      reason: 'message_too_large',
    },
  ])('$name', async ({ body, binary, reason }) => {
    const world = await seeded();
    const before = snapshot(world);

    const result = await handleMessage(world, { connectionId: CONNECTION_ID, body, binary });

    expectValidFrames(result.frames);
    expect(result).toEqual(INVALID_REQUEST);
    expect(snapshot(world)).toEqual(before);
    expect(world.logger.entries).toEqual([{ level: 'warn', event: 'message.invalid_request', fields: { connectionId: CONNECTION_ID, reason } }]);
  });

  test('bad input: a body of exactly 128 KB is processed', async () => {
    const world = await seeded();
    const body = unsubscribeOfBytes(MAX_MESSAGE_BYTES);
    expect(Buffer.byteLength(body)).toBe(MAX_MESSAGE_BYTES);

    expect(await send(world, body)).toEqual(NOTHING);
    expect(world.logger.at('warn')).toEqual([]);
  });

  // The reply echoes the identifier, and a few bytes more than the command that carried it.
  function subscribeWithReplyOfBytes(bytes: number): { body: string; identifier: string } {
    const envelope = Buffer.byteLength(JSON.stringify({ type: 'reject_subscription', identifier: '' }));
    const identifier = 'x'.repeat(bytes - envelope);
    return { body: subscribeCommand(identifier), identifier };
  }

  test('bad input: a subscribe whose reply would exceed 128 KB ends the connection with invalid_request (reply_too_large)', async () => {
    const world = await seeded();
    const { body } = subscribeWithReplyOfBytes(MAX_MESSAGE_BYTES + 1);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);

    expect(await send(world, body)).toEqual(INVALID_REQUEST);
    expect(world.logger.at('warn')).toEqual([{ level: 'warn', event: 'message.invalid_request', fields: { connectionId: CONNECTION_ID, reason: 'reply_too_large' } }]);
  });

  test('bad input: a subscribe whose reply is exactly 128 KB is answered', async () => {
    const world = await seeded();
    const { body, identifier } = subscribeWithReplyOfBytes(MAX_MESSAGE_BYTES);

    expect(await send(world, body)).toEqual({ frames: [{ type: 'reject_subscription', identifier }], close: false });
  });
});

describe('frames', () => {
  test.each<{ name: string; frame: string }>([
    { name: 'frames: a disconnect without reconnect fails the shared frame check', frame: '{"type":"disconnect","reason":"remote"}' },
    { name: 'frames: a disconnect with a non-boolean reconnect fails the shared frame check', frame: '{"type":"disconnect","reason":"remote","reconnect":"false"}' },
    { name: 'frames: a frame over 128 KB fails the shared frame check', frame: JSON.stringify({ identifier: 'x', message: 'y'.repeat(MAX_MESSAGE_BYTES) }) },
  ])('$name', ({ frame }) => {
    expect(() => expectValidFrames([frame])).toThrow();
  });
});

/**
 * A client rejected at `$connect` is let in to be told why and closed by the deliver function a
 * moment later (connect.ts); it stores no row. Frames it sends in that window must not act.
 */
describe('rejected connections', () => {
  const UNAUTHORIZED_CLOSE: MessageResult = { frames: [{ type: 'disconnect', reason: 'unauthorized', reconnect: false }], close: true };
  const upgrade = (connectionId: string): ConnectRequest => ({
    connectionId, headers: { 'sec-websocket-protocol': 'actioncable-v1-json' }, query: {},
  });

  test('enforceJwt: a subscribe between the rejected $connect and its close subscribes to nothing and closes the socket', async () => {
    const world = makeWorld({ secret: SECRET, enforceJwt: true });
    expect(await connect(world, upgrade(CONNECTION_ID))).toEqual({ kind: 'accept', subprotocol: 'actioncable-v1-json' });
    expect(world.delivery.requests).toEqual([expect.objectContaining({ connectionId: CONNECTION_ID, close: true })]);

    expect(await send(world, subscribeCommand(ROOM_1))).toEqual(UNAUTHORIZED_CLOSE);
    expect(rows(world)).toEqual([]);
    expect(world.logger.entries.filter((entry) => entry.event === 'message.unknown_connection')).toEqual([
      { level: 'warn', event: 'message.unknown_connection', fields: { connectionId: CONNECTION_ID } },
    ]);
  });

  test('enforceJwt: an identified connection (it has its row) still subscribes', async () => {
    const world = makeWorld({ secret: SECRET, enforceJwt: true });
    await world.connections.put({ connectionId: CONNECTION_ID, connectedAt: 0, expiresAt: 0, subprotocol: 'actioncable-v1-json', headers: {}, query: {} });
    expect(await send(world, subscribeCommand(ROOM_1))).toEqual({ frames: [{ type: 'confirm_subscription', identifier: ROOM_1 }], close: false });
    expect(rows(world)).toHaveLength(1);
  });

  test('without required identification (no RPC, JWT not enforced) an anonymous connection subscribes with one read (its row says whether it speaks the ext protocol)', async () => {
    const world = makeWorld({ secret: SECRET });
    await openConnections(world, CONNECTION_ID);
    const get = jest.spyOn(world.connections, 'get');
    expect(await send(world, subscribeCommand(ROOM_1))).toEqual({ frames: [{ type: 'confirm_subscription', identifier: ROOM_1 }], close: false });
    expect(get).toHaveBeenCalledTimes(1);
  });
});
