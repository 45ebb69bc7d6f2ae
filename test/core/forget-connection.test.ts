import { connectionRow, makeRpcWorld, putConnection, rpcError, RpcWorld } from './rpc-support';
import { CONNECTION_ID } from './support';
import { fanOut } from '../../lambda/core/broadcast';
import { handleDisconnect } from '../../lambda/core/disconnect';
import { forgetConnection } from '../../lambda/core/forget-connection';
import { ChannelRecord } from '../../lambda/core/ports';
import { remoteDisconnect } from '../../lambda/core/remote-disconnect';

const IDENTIFIERS = '{"user":"ann"}';
const CHAT = JSON.stringify({ channel: 'ChatChannel', room: '1' });
const CHANNELS: Record<string, ChannelRecord> = { [CHAT]: { state: { typing: 'true' }, streams: ['room:1'] } };
const OK = { status: 1 };

/** CONNECTION_ID identified by the app and on `room:1`; its socket is gone (the memory transport answers 410). */
async function goneConnection(): Promise<RpcWorld> {
  const world = makeRpcWorld();
  await putConnection(world, connectionRow({ identifiers: IDENTIFIERS, url: 'wss://cable.example.com/cable', channels: CHANNELS }));
  return world;
}

function disconnectCalls(world: RpcWorld) {
  return world.peer.calls.filter((call) => call.method === 'disconnect');
}

describe('the app hears of a gone connection once, whoever finds it gone first', () => {
  test('fan-out first: a broadcast that gets 410 removes the connection and tells the app; the late $disconnect does not tell it again', async () => {
    const world = await goneConnection();
    world.peer.answer(OK);

    const result = await fanOut(world, { stream: 'room:1', data: '"hi"' });
    expect(result).toMatchObject({ gone: 1 });
    expect(world.connections.records.has(CONNECTION_ID)).toBe(false);
    expect(disconnectCalls(world)).toEqual([{
      method: 'disconnect',
      sid: CONNECTION_ID,
      body: {
        identifiers: IDENTIFIERS,
        subscriptions: [CHAT],
        env: { url: 'https://cable.example.com/cable', headers: {}, istate: { [CHAT]: '{"typing":"true"}' } },
      },
    }]);

    await handleDisconnect(world, CONNECTION_ID);
    expect(disconnectCalls(world)).toHaveLength(1);
  });

  test('$disconnect first: the app is told; a broadcast racing it finds no row and tells it nothing', async () => {
    const world = await goneConnection();
    world.peer.answer(OK);
    // The broadcast read its subscriber page before $disconnect removed the rows.
    const page = await world.subscriptions.listByStream('room:1');
    await handleDisconnect(world, CONNECTION_ID);
    for (const subscription of page.items) await world.subscriptions.add(subscription);

    await fanOut(world, { stream: 'room:1', data: '"hi"' });
    expect(disconnectCalls(world)).toHaveLength(1);
  });

  test('remote disconnect of a connection already gone: the app is told once', async () => {
    const world = await goneConnection();
    world.peer.answer(OK);

    expect(await remoteDisconnect(world, { command: 'disconnect', identifier: IDENTIFIERS, reconnect: false })).toMatchObject({ connections: 1, gone: 1 });
    await handleDisconnect(world, CONNECTION_ID);
    expect(disconnectCalls(world)).toHaveLength(1);
  });

  test('at the same moment: two clean-ups interleaved step by step (the pinger\'s and $disconnect) tell the app once', async () => {
    const world = await goneConnection();
    world.peer.answer(OK, OK);

    await Promise.all([forgetConnection(world, CONNECTION_ID), handleDisconnect(world, CONNECTION_ID)]);
    expect(disconnectCalls(world)).toHaveLength(1);
  });

  test('without rpc nothing is called and the clean-up is the same', async () => {
    const world = await goneConnection();
    await fanOut({ ...world, rpc: undefined }, { stream: 'room:1', data: '"hi"' });
    expect(world.connections.records.size).toBe(0);
    expect((await world.subscriptions.listByStream('room:1')).items).toEqual([]);
    expect(world.peer.calls).toEqual([]);
  });
});

describe('forgetConnection: the app\'s disconnect call', () => {
  test('a connection without identifiers (the app\'s connect answered none): disconnect carries empty identifiers, as anycable-go\'s session has', async () => {
    const world = makeRpcWorld();
    await putConnection(world, connectionRow({ channels: CHANNELS }));
    world.peer.answer(OK);

    await forgetConnection(world, CONNECTION_ID);

    expect(disconnectCalls(world)).toEqual([expect.objectContaining({ sid: CONNECTION_ID, body: expect.objectContaining({ identifiers: '', subscriptions: [CHAT] }) })]);
  });

  test('ERROR from the app: logged as disconnect.rpc_error with its error_msg; the clean-up stands', async () => {
    const world = await goneConnection();
    world.peer.answer({ status: 0, error_msg: 'boom' });

    expect(await forgetConnection(world, CONNECTION_ID)).toBe(1);

    expect(world.logger.entries).toContainEqual({ level: 'warn', event: 'disconnect.rpc_error', fields: { connectionId: CONNECTION_ID, errorMsg: 'boom' } });
    expect(world.connections.records.has(CONNECTION_ID)).toBe(false);
  });

  test('the call failed (HTTP 503): logged as disconnect.rpc_failed with the reason, status and message; not retried', async () => {
    const world = await goneConnection();
    world.peer.answer(rpcError('http_error'));

    await forgetConnection(world, CONNECTION_ID);

    expect(world.logger.entries).toContainEqual({
      level: 'warn', event: 'disconnect.rpc_failed', fields: { connectionId: CONNECTION_ID, reason: 'http_error', status: 503, message: 'scripted http_error' },
    });
    expect(disconnectCalls(world)).toHaveLength(1);
  });
});
