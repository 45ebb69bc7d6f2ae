import { DynamoPresenceStore } from '../../lambda/adapters/dynamodb/dynamo-presence-store';
import { DynamoSubscriptionStore } from '../../lambda/adapters/dynamodb/dynamo-subscription-store';
import { MemoryPresenceStore } from '../../lambda/adapters/memory/memory-presence-store';
import { PresenceEntry, PresenceStore } from '../../lambda/core/presence';
import { startDynalite, TestDynamo } from '../support/dynalite';

let dynamo: TestDynamo;
let table: string;

beforeAll(async () => {
  dynamo = await startDynalite();
});

afterAll(async () => {
  await dynamo.close();
});

beforeEach(async () => {
  table = (await dynamo.createTables()).subscriptionsTable;
});

const NOW = 1_700_000_000_000;
const LIVE = NOW / 1000 + 10_800;
const ROOM = 'room:1';
const CHANNEL = '{"channel":"$pubsub","stream_name":"room:1"}';

function entry(sessionKey: string, id: string, overrides: Partial<PresenceEntry> = {}): PresenceEntry {
  return { stream: ROOM, sessionKey, identifier: CHANNEL, connectionId: `conn-${sessionKey}`, id, ...overrides };
}

describe.each<[string, () => PresenceStore]>([
  ['DynamoPresenceStore', () => new DynamoPresenceStore(dynamo.doc, table)],
  ['MemoryPresenceStore', () => new MemoryPresenceStore()],
])('%s', (_name, make) => {
  test('join: the first session of an id is joined, the next present; info has the id once, with the latest info', async () => {
    const store = make();
    expect(await store.join(entry('s1', 'u1', { info: '{"name":"a"}' }), NOW, LIVE)).toBe('joined');
    expect(await store.join(entry('s2', 'u1', { info: '{"name":"b"}' }), NOW + 1, LIVE)).toBe('present');
    expect(await store.join(entry('s3', 'u2'), NOW + 2, LIVE)).toBe('joined');
    const records = await store.info(ROOM, NOW + 3);
    expect(records.sort((a, b) => a.id.localeCompare(b.id))).toEqual([{ id: 'u1', info: '{"name":"b"}' }, { id: 'u2' }]);
    expect(await store.info('room:2', NOW)).toEqual([]);
  });

  test('join: a session holding another id on the identifier is refused, and nothing changes', async () => {
    const store = make();
    await store.join(entry('s1', 'u1'), NOW, LIVE);
    expect(await store.join(entry('s1', 'u2'), NOW, LIVE)).toBe('id_mismatch');
    expect(await store.info(ROOM, NOW)).toEqual([{ id: 'u1' }]);
  });

  test('leave: the last session of an id is last; a leave without a join is undefined', async () => {
    const store = make();
    await store.join(entry('s1', 'u1'), NOW, LIVE);
    await store.join(entry('s2', 'u1'), NOW, LIVE);
    expect(await store.leave('s1', CHANNEL, NOW)).toEqual({ stream: ROOM, id: 'u1', last: false });
    expect(await store.leave('s2', CHANNEL, NOW)).toEqual({ stream: ROOM, id: 'u1', last: true });
    expect(await store.leave('s2', CHANNEL, NOW)).toBeUndefined();
    expect(await store.info(ROOM, NOW)).toEqual([]);
  });

  test('finish: what the connection joined expires at the given time, not before; another connection\'s join is kept', async () => {
    const store = make();
    await store.join(entry('s1', 'u1'), NOW, LIVE);
    await store.join(entry('s2', 'u2'), NOW, LIVE);
    await store.finish('s1', 'conn-s1', NOW / 1000 + 15);
    // s2's session restored on a new connection that joined again before the old one's disconnect.
    await store.join(entry('s2', 'u2', { connectionId: 'conn-new' }), NOW, LIVE);
    await store.finish('s2', 'conn-s2', NOW / 1000 + 15);

    expect((await store.info(ROOM, NOW + 14_000)).map((r) => r.id).sort()).toEqual(['u1', 'u2']);
    expect(await store.info(ROOM, NOW + 15_000)).toEqual([{ id: 'u2' }]);
    // Rejoining within the TTL keeps it (a restore): present, not a new join.
    await store.join(entry('s3', 'u3'), NOW, LIVE);
    await store.finish('s3', 'conn-s3', NOW / 1000 + 15);
    expect(await store.join(entry('s3', 'u3', { connectionId: 'conn-s3b' }), NOW + 5_000, LIVE)).toBe('present');
    expect((await store.info(ROOM, NOW + 20_000)).map((r) => r.id).sort()).toEqual(['u2', 'u3']);
  });
});

describe('DynamoPresenceStore', () => {
  test('its items are not subscriptions: a stream\'s subscribers and a connection\'s subscriptions do not see them', async () => {
    const store = new DynamoPresenceStore(dynamo.doc, table);
    await store.join(entry('s1', 'u1'), NOW, LIVE);
    const subscriptions = new DynamoSubscriptionStore(dynamo.doc, table);
    expect((await subscriptions.listByStream(ROOM)).items).toEqual([]);
    expect(await subscriptions.removeAll('conn-s1')).toEqual([]);
  });
});
