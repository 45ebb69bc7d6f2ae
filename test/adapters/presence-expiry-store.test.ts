import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoConnectionStore } from '../../lambda/adapters/dynamodb/dynamo-connection-store';
import { DynamoPresenceStore } from '../../lambda/adapters/dynamodb/dynamo-presence-store';
import { MemoryConnectionStore } from '../../lambda/adapters/memory/memory-connection-store';
import { MemoryPresenceStore } from '../../lambda/adapters/memory/memory-presence-store';
import { ConnectionStore } from '../../lambda/core/ports';
import { PresenceEntry, PresenceStore } from '../../lambda/core/presence';
import { PresenceExpiry, PresenceExpiryStore } from '../../lambda/core/presence-expiry';
import { PRESENCE } from '../../src/contract/table-schema';
import { startDynalite, TestDynamo } from '../support/dynalite';

let dynamo: TestDynamo;
let tables: { connectionsTable: string; subscriptionsTable: string };

beforeAll(async () => {
  dynamo = await startDynalite();
});

afterAll(async () => {
  await dynamo.close();
});

beforeEach(async () => {
  tables = await dynamo.createTables('expiry');
});

const NOW = 1_700_000_000_000;
const LIVE = NOW / 1000 + 10_800;
const DUE = NOW / 1000 + 15;
const ROOM = 'room:1';
const CHANNEL = '{"channel":"$pubsub","stream_name":"room:1"}';

function entry(sessionKey: string, id: string, overrides: Partial<PresenceEntry> = {}): PresenceEntry {
  return { stream: ROOM, sessionKey, identifier: CHANNEL, connectionId: `conn-${sessionKey}`, id, ...overrides };
}

const expiryOf = (sessionKey: string, id: string, dueAt = DUE): PresenceExpiry => ({ stream: ROOM, id, sessionKey, holder: `conn-${sessionKey}`, dueAt });

type Store = PresenceStore & PresenceExpiryStore;

describe.each<[string, () => Store]>([
  ['DynamoPresenceStore', () => new DynamoPresenceStore(dynamo.doc, tables.subscriptionsTable)],
  ['MemoryPresenceStore', () => new MemoryPresenceStore()],
])('%s: expiries', (_name, make) => {
  test('finish lists the expiry, due from its time on; expire removes it once and says the id was the last', async () => {
    const store = make();
    await store.join(entry('s1', 'u1'), NOW, LIVE);
    await store.finish('s1', 'conn-s1', DUE);
    expect(await store.dueExpiries(DUE * 1000 - 1)).toEqual([]);
    expect(await store.expire(expiryOf('s1', 'u1'), DUE * 1000 - 1)).toBeUndefined();
    expect(await store.dueExpiries(DUE * 1000)).toEqual([expiryOf('s1', 'u1')]);

    expect(await store.expire(expiryOf('s1', 'u1'), DUE * 1000)).toEqual({ stream: ROOM, id: 'u1', last: true });
    expect(await store.expire(expiryOf('s1', 'u1'), DUE * 1000)).toBeUndefined();
    expect(await store.dueExpiries(DUE * 1000 + 60_000)).toEqual([]);
    expect(await store.info(ROOM, DUE * 1000)).toEqual([]);
  });

  test('expire: another live session holding the id makes it not the last', async () => {
    const store = make();
    await store.join(entry('s1', 'u1'), NOW, LIVE);
    await store.join(entry('s2', 'u1'), NOW, LIVE);
    await store.finish('s1', 'conn-s1', DUE);
    expect(await store.expire(expiryOf('s1', 'u1'), DUE * 1000)).toEqual({ stream: ROOM, id: 'u1', last: false });
    expect(await store.info(ROOM, DUE * 1000)).toEqual([{ id: 'u1' }]);
    expect(await store.dueExpiries(DUE * 1000)).toEqual([]);
  });

  test('expire: the session joined again on a new connection (a restore) is nothing to announce, and the expiry goes', async () => {
    const store = make();
    await store.join(entry('s1', 'u1'), NOW, LIVE);
    await store.finish('s1', 'conn-s1', DUE);
    expect(await store.join(entry('s1', 'u1', { connectionId: 'conn-new' }), NOW + 5_000, LIVE)).toBe('present');
    expect(await store.expire(expiryOf('s1', 'u1'), DUE * 1000)).toBeUndefined();
    expect(await store.dueExpiries(DUE * 1000)).toEqual([]);
    expect(await store.info(ROOM, DUE * 1000)).toEqual([{ id: 'u1' }]);
  });

  test('expire: a session that left (after a restore) is nothing to announce', async () => {
    const store = make();
    await store.join(entry('s1', 'u1'), NOW, LIVE);
    await store.finish('s1', 'conn-s1', DUE);
    await store.join(entry('s1', 'u1', { connectionId: 'conn-new' }), NOW + 5_000, LIVE);
    expect(await store.leave('s1', CHANNEL, NOW + 6_000)).toEqual({ stream: ROOM, id: 'u1', last: true });
    expect(await store.expire(expiryOf('s1', 'u1'), DUE * 1000)).toBeUndefined();
  });

  test('finish: twice (a $disconnect, then a ping that found it gone) lists one expiry; another connection\'s join none', async () => {
    const store = make();
    await store.join(entry('s1', 'u1'), NOW, LIVE);
    await store.finish('s1', 'conn-s1', DUE);
    await store.finish('s1', 'conn-s1', DUE + 5);
    await store.join(entry('s2', 'u2', { connectionId: 'conn-new' }), NOW, LIVE);
    await store.finish('s2', 'conn-s2', DUE);
    expect(await store.dueExpiries(DUE * 1000 + 60_000)).toEqual([expiryOf('s1', 'u1')]);
  });

  test('dueExpiries: oldest first, those due only', async () => {
    const store = make();
    for (const [session, due] of [['s1', DUE + 2], ['s2', DUE], ['s3', DUE + 1], ['s4', DUE + 10]] as const) {
      await store.join(entry(session, session), NOW, LIVE);
      await store.finish(session, `conn-${session}`, due);
    }
    expect((await store.dueExpiries((DUE + 2) * 1000)).map((e) => [e.sessionKey, e.dueAt])).toEqual([['s2', DUE], ['s3', DUE + 1], ['s1', DUE + 2]]);
  });
});

describe('DynamoPresenceStore: expiries', () => {
  test('dueExpiries is one Query of the expiries partition, bounded by the due time (no scan)', async () => {
    const store = new DynamoPresenceStore(dynamo.doc, tables.subscriptionsTable);
    await store.join(entry('s1', 'u1'), NOW, LIVE);
    await store.finish('s1', 'conn-s1', DUE);
    const send = jest.spyOn(dynamo.doc, 'send');
    try {
      await store.dueExpiries(DUE * 1000);
      expect(send.mock.calls.map(([command]) => command.constructor.name)).toEqual(['QueryCommand']);
      expect((send.mock.calls[0][0] as QueryCommand).input).toMatchObject({
        KeyConditionExpression: '#pk = :pk AND #sk < :sk',
        ExpressionAttributeValues: { ':pk': PRESENCE.expiryPartition, ':sk': `${String(DUE + 1).padStart(10, '0')}#` },
      });
    } finally {
      send.mockRestore();
    }
  });

  test('an expiry item is kept an hour past due (DynamoDB TTL), for a sweep that comes late', async () => {
    const store = new DynamoPresenceStore(dynamo.doc, tables.subscriptionsTable);
    await store.join(entry('s1', 'u1'), NOW, LIVE);
    await store.finish('s1', 'conn-s1', DUE);
    const items = (await dynamo.scanAll(tables.subscriptionsTable)).filter((item) => item.stream === PRESENCE.expiryPartition);
    expect(items).toEqual([expect.objectContaining({ presenceStream: ROOM, id: 'u1', sessionKey: 's1', holder: 'conn-s1', expiresAt: DUE + 3600 })]);
  });
});

describe.each<[string, () => ConnectionStore]>([
  ['DynamoConnectionStore', () => new DynamoConnectionStore(dynamo.doc, tables.connectionsTable)],
  ['MemoryConnectionStore', () => new MemoryConnectionStore()],
])('%s: markPresence', (_name, make) => {
  test('markPresence: sets presenceJoined on the row, which get and delete return; a gone row is no error', async () => {
    const store = make();
    const row = { connectionId: 'c1', connectedAt: NOW, expiresAt: LIVE, subprotocol: 'actioncable-v1-ext-json', headers: {}, query: {} };
    await store.put(row);
    expect((await store.get('c1'))!.presenceJoined).toBeUndefined();
    await store.markPresence('c1');
    expect(await store.get('c1')).toMatchObject({ ...row, presenceJoined: true });
    expect((await store.delete('c1'))!.presenceJoined).toBe(true);
    await expect(store.markPresence('c1')).resolves.toBeUndefined();
    expect(await store.get('c1')).toBeUndefined();
  });
});
