import { connectionRow, makeRpcWorld, putConnection, RpcWorld, sendWithRpc } from './rpc-support';
import { CONNECTION_ID, rows, SECRET, subscribeCommand, turboIdentifier } from './support';
import { signStream } from '../../lambda/core/signed-stream';

/** How handleMessage routes with the app's RPC configured: app channels, built-in ones, connections without a row. */

const CHAT = JSON.stringify({ channel: 'ChatChannel', room: 'lobby' });
const APP_CONFIRM = `{"identifier":${JSON.stringify(CHAT)},"type":"confirm_subscription"}`;
const APP_DISCONNECT = '{"type":"disconnect","reason":"remote","reconnect":false}';
const ROOM = turboIdentifier(signStream('room:1', SECRET));

/** An ext client (its row has a sid): the only kind a subscribe's `history` is replayed for. */
async function extWorld(): Promise<RpcWorld> {
  const world = makeRpcWorld();
  await putConnection(world, connectionRow({ sid: 'sid-1', identifiers: '{"user":"john"}' }));
  return world;
}

describe('app channels through handleMessage', () => {
  test('subscribe without history from an ext client: the app\'s confirm only, no reject_history for a history never asked', async () => {
    const world = await extWorld();
    world.peer.answer({ status: 1, streams: ['chat:lobby'], transmissions: [APP_CONFIRM] });

    const { afterSent, ...result } = await sendWithRpc(world, subscribeCommand(CHAT));

    expect(result).toEqual({ frames: [], transmissions: [APP_CONFIRM], close: false });
    expect(afterSent).toBeUndefined();
    expect(world.logger.events()).not.toContain('history.rejected');
  });

  test('a command the app answers without disconnecting leaves the session restorable; one it answers with a disconnect does not', async () => {
    const world = await extWorld();
    world.peer.answer({ status: 1, streams: ['chat:lobby'], transmissions: [APP_CONFIRM] });
    await sendWithRpc(world, subscribeCommand(CHAT));
    expect((await world.connections.get(CONNECTION_ID))?.noRestore).toBeUndefined();

    world.peer.answer({ status: 1, disconnect: true, transmissions: [APP_DISCONNECT] });
    expect((await sendWithRpc(world, JSON.stringify({ command: 'message', identifier: CHAT, data: '{"action":"leave"}' }))).close).toBe(true);
    expect((await world.connections.get(CONNECTION_ID))?.noRestore).toBe(true);
  });

  test('a subscribe to a built-in channel from a connection without a row is refused as unauthorized and closed (identification is required with RPC)', async () => {
    const world = makeRpcWorld();

    expect(await sendWithRpc(world, subscribeCommand(ROOM))).toEqual({ frames: [{ type: 'disconnect', reason: 'unauthorized', reconnect: false }], close: true });
    expect(rows(world)).toEqual([]);
    expect(world.peer.calls).toEqual([]);
    expect(world.logger.entries).toEqual([{ level: 'warn', event: 'message.unknown_connection', fields: { connectionId: CONNECTION_ID } }]);
  });
});
