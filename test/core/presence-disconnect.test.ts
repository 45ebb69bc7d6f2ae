import { CONNECTION_ID, makeWorld, OTHER_CONNECTION_ID, pubsubIdentifier, send, subscribeCommand, World } from './support';
import { MemoryPresenceStore } from '../../lambda/adapters/memory/memory-presence-store';
import { connect } from '../../lambda/core/connect';
import { handleDisconnect } from '../../lambda/core/disconnect';
import { presenceSessionKey } from '../../lambda/core/presence';
import { LocalShardDispatcher } from '../../lambda/local/local-shard-dispatcher';

/*
 * A connection's first join marks its row (presence.ts), and only a marked connection's clean-up
 * reads its presence (forget-connection.ts): one that never joined costs no presence Query.
 */

const EXT = 'actioncable-v1-ext-json';
const PUBLIC = pubsubIdentifier({ stream_name: 'chat:42' });
const OTHER = pubsubIdentifier({ stream_name: 'chat:43' });

function presenceWorld() {
  const world = makeWorld({ secret: 'x', publicStreams: true, presenceTtlSeconds: 15 });
  const presence = new MemoryPresenceStore();
  return { ...world, presence, shards: new LocalShardDispatcher(world) };
}

async function subscribed(world: World, connectionId: string, ...identifiers: string[]): Promise<void> {
  await connect(world, { connectionId, headers: { 'sec-websocket-protocol': EXT }, query: {} });
  world.transport.open(connectionId);
  for (const identifier of identifiers) expect((await send(world, subscribeCommand(identifier), connectionId)).frames).toHaveLength(1);
}

const join = (identifier: string, id: string) => JSON.stringify({ command: 'join', identifier, presence: { id } });

describe('presence: what a disconnect reads', () => {
  test('never joined: the disconnect makes no presence call', async () => {
    const world = presenceWorld();
    await subscribed(world, CONNECTION_ID, PUBLIC);
    const finish = jest.spyOn(world.presence, 'finish');
    await handleDisconnect(world, CONNECTION_ID);
    expect(finish).not.toHaveBeenCalled();
    expect(await world.connections.get(CONNECTION_ID)).toBeUndefined();
  });

  test('joined: the first join marks the row once; the disconnect lets what it joined expire after the presence TTL', async () => {
    const world = presenceWorld();
    await subscribed(world, CONNECTION_ID, PUBLIC, OTHER);
    await subscribed(world, OTHER_CONNECTION_ID, PUBLIC);
    const mark = jest.spyOn(world.connections, 'markPresence');
    expect((await world.connections.get(CONNECTION_ID))!.presenceJoined).toBeUndefined();

    await send(world, join(PUBLIC, 'u1'), CONNECTION_ID);
    await send(world, join(OTHER, 'u1'), CONNECTION_ID);
    expect(mark.mock.calls).toEqual([[CONNECTION_ID]]);
    const record = (await world.connections.get(CONNECTION_ID))!;
    expect(record.presenceJoined).toBe(true);
    expect((await world.connections.get(OTHER_CONNECTION_ID))!.presenceJoined).toBeUndefined();

    const finish = jest.spyOn(world.presence, 'finish');
    await handleDisconnect(world, CONNECTION_ID);
    expect(finish.mock.calls).toEqual([[presenceSessionKey(record), CONNECTION_ID, Math.floor(world.clock.now() / 1000) + 15]]);
  });

  test('refused join: a join the server refuses (not subscribed) does not mark the row', async () => {
    const world = presenceWorld();
    await subscribed(world, CONNECTION_ID, PUBLIC);
    await send(world, join(OTHER, 'u1'), CONNECTION_ID);
    expect((await world.connections.get(CONNECTION_ID))!.presenceJoined).toBeUndefined();
  });
});
