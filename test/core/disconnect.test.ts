import { CONNECTION_ID, makeWorld, OTHER_CONNECTION_ID, rows, SECRET, send, snapshot, subscribeCommand, turboIdentifier, World } from './support';
import { connect } from '../../lambda/core/connect';
import { handleDisconnect } from '../../lambda/core/disconnect';
import { signStream } from '../../lambda/core/signed-stream';

const ROOM_1 = turboIdentifier(signStream('room:1', SECRET));
const ROOM_2 = turboIdentifier(signStream('room:2', SECRET));

/** Two connected clients: CONNECTION_ID on rooms 1 and 2, OTHER_CONNECTION_ID on room 1. */
async function seeded(): Promise<World> {
  const world = makeWorld();
  for (const connectionId of [CONNECTION_ID, OTHER_CONNECTION_ID]) {
    await connect(world, { connectionId, headers: { 'sec-websocket-protocol': 'actioncable-v1-json' }, query: {} });
  }
  await send(world, subscribeCommand(ROOM_1));
  await send(world, subscribeCommand(ROOM_2));
  await send(world, subscribeCommand(ROOM_1), OTHER_CONNECTION_ID);
  world.logger.entries.length = 0;
  return world;
}

describe('disconnect', () => {
  test('disconnect: removes the connection and all its subscriptions, and leaves other connections\' rows', async () => {
    const world = await seeded();
    const other = world.connections.records.get(OTHER_CONNECTION_ID);

    const result = await handleDisconnect(world, CONNECTION_ID);

    expect(result).toEqual({ removedSubscriptions: 2 });
    expect([...world.connections.records.keys()]).toEqual([OTHER_CONNECTION_ID]);
    expect(world.connections.records.get(OTHER_CONNECTION_ID)).toBe(other);
    expect(rows(world)).toEqual([{ stream: 'room:1', connectionId: OTHER_CONNECTION_ID, identifier: ROOM_1 }]);
    expect(await world.subscriptions.listByStream('room:2')).toEqual({ items: [], cursor: undefined });
    expect(world.logger.entries).toEqual([{ level: 'info', event: 'disconnect', fields: { connectionId: CONNECTION_ID, removedSubscriptions: 2 } }]);
  });

  test('disconnect: a connection without subscriptions removes its row only', async () => {
    const world = await seeded();
    await connect(world, { connectionId: 'lonely', headers: { 'sec-websocket-protocol': 'actioncable-v1-json' }, query: {} });
    const subscriptionsBefore = rows(world);

    expect(await handleDisconnect(world, 'lonely')).toEqual({ removedSubscriptions: 0 });
    expect(world.connections.records.has('lonely')).toBe(false);
    expect(rows(world)).toEqual(subscriptionsBefore);
  });

  test('disconnect: an unknown or already-removed connection is not an error and changes nothing', async () => {
    const world = await seeded();
    await handleDisconnect(world, CONNECTION_ID);
    const before = snapshot(world);

    expect(await handleDisconnect(world, CONNECTION_ID)).toEqual({ removedSubscriptions: 0 });
    expect(await handleDisconnect(world, 'never-seen')).toEqual({ removedSubscriptions: 0 });
    expect(snapshot(world)).toEqual(before);
  });

  test('disconnect: sends nothing to either connection', async () => {
    const world = await seeded();
    await handleDisconnect(world, CONNECTION_ID);
    expect(world.transport.sent.size).toBe(0);
    expect(world.transport.closed.size).toBe(0);
  });
});
