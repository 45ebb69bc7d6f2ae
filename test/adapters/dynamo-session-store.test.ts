import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoSessionStore } from '../../lambda/adapters/dynamodb/dynamo-session-store';
import { DynamoSubscriptionStore } from '../../lambda/adapters/dynamodb/dynamo-subscription-store';
import { MemorySessionStore } from '../../lambda/adapters/memory/memory-session-store';
import { SessionSnapshot, SessionStore } from '../../lambda/core/session-restore';
import { SESSIONS, sessionPartition, SUBSCRIPTIONS_TABLE } from '../../src/contract/table-schema';
import { useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
let table: string;

beforeEach(async () => {
  table = (await dynamo.createTables()).subscriptionsTable;
});

const NOW = 1_700_000_000_000;
const EXPIRES = NOW / 1000 + 300;
const SNAPSHOT: SessionSnapshot = {
  identifiers: '{"user":"ann"}',
  cstate: { token: 'abc' },
  channels: { '{"channel":"ChatChannel"}': { state: { page: '1' }, streams: ['chat:1'] } },
  subscriptions: [{ identifier: '{"channel":"ChatChannel"}', stream: 'chat:1' }, { identifier: '{"channel":"$pubsub","stream_name":"a"}', stream: 'a' }],
};

describe.each<[string, () => SessionStore]>([
  ['DynamoSessionStore', () => new DynamoSessionStore(dynamo.doc, table)],
  ['MemorySessionStore', () => new MemorySessionStore()],
])('%s', (_name, make) => {
  test('save, take: the snapshot comes back whole, once', async () => {
    const store = make();
    await store.save('key-a', SNAPSHOT, EXPIRES);
    expect(await store.take('key-a', NOW)).toEqual(SNAPSHOT);
    expect(await store.take('key-a', NOW)).toBeUndefined();
  });

  test('take: concurrent restores with one sid: exactly one gets the session', async () => {
    const store = make();
    await store.save('key-a', SNAPSHOT, EXPIRES);
    const taken = await Promise.all([1, 2, 3, 4].map(() => store.take('key-a', NOW)));
    expect(taken.filter((t) => t !== undefined)).toEqual([SNAPSHOT]);
  });

  test('take: an expired session is gone even before TTL deletes it; another key is unknown', async () => {
    const store = make();
    await store.save('key-a', SNAPSHOT, EXPIRES);
    expect(await store.take('key-b', NOW)).toBeUndefined();
    expect(await store.take('key-a', EXPIRES * 1000)).toBeUndefined();
  });
});

describe('DynamoSessionStore: layout', () => {
  test('one reserved partition per session in the subscriptions table, with expiresAt for TTL; no subscriber of a stream sees it', async () => {
    await new DynamoSessionStore(dynamo.doc, table).save('key-a', SNAPSHOT, EXPIRES);
    const { Item: item } = await dynamo.doc.send(new GetCommand({
      TableName: table, Key: { [SUBSCRIPTIONS_TABLE.partitionKey]: sessionPartition('key-a'), [SUBSCRIPTIONS_TABLE.sortKey]: SESSIONS.sortKey },
    }));
    expect(item).toEqual({ stream: '\u0000cdk-cable:session#key-a', subscriber: 'session', snapshot: JSON.stringify(SNAPSHOT), expiresAt: EXPIRES });
    const subscriptions = new DynamoSubscriptionStore(dynamo.doc, table);
    expect((await subscriptions.listByStream('key-a')).items).toEqual([]);
  });
});
