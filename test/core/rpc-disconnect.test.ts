import { connectionRow, IDENTIFIED_HEADERS, makeRpcWorld, putConnection, RPC_FAILURE_REASONS, rpcError, RpcAnswer, RpcCall, RpcWorld } from './rpc-support';
import { CONNECTION_ID, OTHER_CONNECTION_ID, rows, SECRET, send, subscribeCommand, turboIdentifier } from './support';
import { connect } from '../../lambda/core/connect';
import { DisconnectDeps, handleDisconnect } from '../../lambda/core/disconnect';
import { ChannelRecord } from '../../lambda/core/ports';
import { signStream } from '../../lambda/core/signed-stream';

const URL = 'wss://cable.example.com/prod';
/** What the app is told: anycable-go's http(s) form of the upgrade URL. */
const APP_URL = 'https://cable.example.com/prod';
const REMOTE_ADDRESS = '198.51.100.7';
const IDENTIFIERS = JSON.stringify({ current_user: 'Z2lkOi8vYXBwL1VzZXIvNDI' });
const CSTATE = { token: '"abc"' };
const CHAT = JSON.stringify({ channel: 'ChatChannel', room: 'lobby' });
const NOTES = JSON.stringify({ channel: 'NotesChannel' });
const CHANNELS: Record<string, ChannelRecord> = {
  [CHAT]: { state: { typing: 'true' }, streams: ['chat:lobby'] },
  [NOTES]: { state: { page: '3', title: '"Todo"' }, streams: ['notes:42', 'notes:43'] },
};
const TURBO = turboIdentifier(signStream('room:1', SECRET));

/** CONNECTION_ID identified, on two app channels and a Turbo stream; OTHER_CONNECTION_ID on the same chat stream. */
async function seeded(): Promise<RpcWorld> {
  const world = makeRpcWorld();
  await putConnection(world, connectionRow({
    identifiers: IDENTIFIERS,
    cstate: CSTATE,
    url: URL,
    remoteAddress: REMOTE_ADDRESS,
    headers: IDENTIFIED_HEADERS,
    channels: CHANNELS,
  }));
  await send(world, subscribeCommand(TURBO));
  await putConnection(world, connectionRow({ connectionId: OTHER_CONNECTION_ID, channels: { [CHAT]: CHANNELS[CHAT] } }));
  world.logger.entries.length = 0;
  return world;
}

function deps(world: RpcWorld, { withRpc = true } = {}): DisconnectDeps {
  const { connections, subscriptions, logger, config, rpc } = world;
  return { connections, subscriptions, logger, config, ...(withRpc ? { rpc } : {}) };
}

/**
 * The body with the order-free parts normalized: the subscriptions sorted (anycable-go lists them
 * from a map), each channel's state decoded from its JSON (Go's json.Marshal sorts the keys).
 */
function normalized(call: RpcCall): unknown {
  const body = call.body as { subscriptions: string[]; env: { istate?: Record<string, string> } };
  const istate = body.env.istate && Object.fromEntries(Object.entries(body.env.istate).map(([id, json]) => [id, JSON.parse(json)]));
  return { ...call, body: { ...body, subscriptions: [...body.subscriptions].sort(), env: { ...body.env, ...(istate ? { istate } : {}) } } };
}

/** CONNECTION_ID and every row of it are gone; the other connection keeps its own. */
function expectCleanedUp(world: RpcWorld): void {
  expect([...world.connections.records.keys()]).toEqual([OTHER_CONNECTION_ID]);
  expect(rows(world)).toEqual([{ stream: 'chat:lobby', connectionId: OTHER_CONNECTION_ID, identifier: CHAT }]);
}

describe('RPC disconnect', () => {
  test('rpc: after the rows and the connection are removed, the app gets identifiers, subscriptions, istate and cstate', async () => {
    const world = await seeded();
    const seenByApp: unknown[] = [];
    world.peer.answer(() => {
      seenByApp.push({ connection: world.connections.records.has(CONNECTION_ID), rows: rows(world).filter((r) => r.connectionId === CONNECTION_ID) });
      return { status: 1 };
    });

    expect(await handleDisconnect(deps(world), CONNECTION_ID)).toEqual({ removedSubscriptions: 4 });

    expect(seenByApp).toEqual([{ connection: false, rows: [] }]);
    expect(world.peer.calls.map(normalized)).toEqual([{
      method: 'disconnect',
      sid: CONNECTION_ID,
      body: {
        identifiers: IDENTIFIERS,
        subscriptions: [CHAT, NOTES].sort(),
        env: {
          url: APP_URL,
          headers: { cookie: 'user_id=42', REMOTE_ADDR: REMOTE_ADDRESS },
          cstate: CSTATE,
          istate: { [CHAT]: { typing: 'true' }, [NOTES]: { page: '3', title: '"Todo"' } },
        },
      },
    }]);
    expectCleanedUp(world);
    expect(world.logger.at('warn')).toEqual([]);
  });

  test('rpc: each channel\'s istate is a JSON string of its state map', async () => {
    const world = await seeded();
    world.peer.answer({ status: 1 });
    await handleDisconnect(deps(world), CONNECTION_ID);
    const { env } = world.peer.calls[0].body as { env: { istate: Record<string, unknown> } };
    expect(env.istate).toEqual({ [CHAT]: '{"typing":"true"}', [NOTES]: expect.any(String) });
    expect(JSON.parse(env.istate[NOTES] as string)).toEqual({ page: '3', title: '"Todo"' });
  });

  test('rpc: a connection without app channels sends no subscriptions and no istate', async () => {
    const world = makeRpcWorld();
    await putConnection(world, connectionRow({ identifiers: IDENTIFIERS, url: URL }));
    world.peer.answer({ status: 1 });
    await handleDisconnect(deps(world), CONNECTION_ID);
    expect(world.peer.calls).toEqual([{ method: 'disconnect', sid: CONNECTION_ID, body: { identifiers: IDENTIFIERS, subscriptions: [], env: { url: APP_URL, headers: {} } } }]);
  });

  test.each<{ name: string; answer: RpcAnswer }>([
    { name: 'rpc: ERROR (status 0) still cleans up, does not throw and logs a warning', answer: { status: 0, error_msg: 'boom' } },
    { name: 'rpc: an answer without status (anycable-rb\'s ERROR) still cleans up and logs a warning', answer: { error_msg: 'boom' } },
    { name: 'rpc: an answer that is not JSON still cleans up and logs a warning', answer: 'Bad Gateway' },
    ...RPC_FAILURE_REASONS.map((reason) => ({ name: `rpc: a call failing with ${reason} still cleans up, does not throw and logs a warning`, answer: rpcError(reason) })),
  ])('$name', async ({ answer }) => {
    const world = await seeded();
    world.peer.answer(answer);

    expect(await handleDisconnect(deps(world), CONNECTION_ID)).toEqual({ removedSubscriptions: 4 });

    expect(world.peer.calls).toHaveLength(1);
    expectCleanedUp(world);
    expect(world.logger.at('warn')).toEqual([expect.objectContaining({ fields: expect.objectContaining({ connectionId: CONNECTION_ID }) })]);
  });

  test('rpc: a connection with no row (refused at $connect) is not told to the app', async () => {
    const world = makeRpcWorld();
    world.peer.answer({ status: 2, transmissions: ['{"type":"disconnect","reason":"unauthorized","reconnect":false}'] });
    await connect(world, { connectionId: CONNECTION_ID, headers: { 'sec-websocket-protocol': 'actioncable-v1-json' }, query: {} });
    expect(world.connections.records.size).toBe(0);

    expect(await handleDisconnect(deps(world), CONNECTION_ID)).toEqual({ removedSubscriptions: 0 });
    expect(world.peer.calls.map((call) => call.method)).toEqual(['connect']);
  });

  test('rpc: an unknown connection is not told to the app', async () => {
    const world = await seeded();
    expect(await handleDisconnect(deps(world), 'never-seen')).toEqual({ removedSubscriptions: 0 });
    expect(world.peer.calls).toEqual([]);
    expect(world.connections.records.size).toBe(2);
  });

  test('rpc: a second $disconnect for the same connection does not call the app again', async () => {
    const world = await seeded();
    world.peer.answer({ status: 1 });
    await handleDisconnect(deps(world), CONNECTION_ID);
    await handleDisconnect(deps(world), CONNECTION_ID);
    expect(world.peer.calls).toHaveLength(1);
  });

  test('without rpc: the rows and the connection are removed and the app is not called', async () => {
    const world = await seeded();
    expect(await handleDisconnect(deps(world, { withRpc: false }), CONNECTION_ID)).toEqual({ removedSubscriptions: 4 });
    expect(world.peer.calls).toEqual([]);
    expectCleanedUp(world);
  });
});
