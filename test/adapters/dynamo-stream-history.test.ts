import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoStreamHistory } from '../../lambda/adapters/dynamodb/dynamo-stream-history';
import { DynamoSubscriptionStore } from '../../lambda/adapters/dynamodb/dynamo-subscription-store';
import { MemoryStreamHistory } from '../../lambda/adapters/memory/memory-stream-history';
import { StreamHistoryStore } from '../../lambda/core/stream-history';
import { useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
let table: string;

beforeEach(async () => {
  table = (await dynamo.createTables()).subscriptionsTable;
});

const NOW = 1_700_000_000_000;
const TTL = 300;

describe.each<[string, () => StreamHistoryStore]>([
  ['DynamoStreamHistory', () => new DynamoStreamHistory(dynamo.doc, table)],
  ['MemoryStreamHistory', () => new MemoryStreamHistory()],
])('%s', (_name, make) => {
  test('append: offsets are consecutive per stream under one epoch; another stream counts on its own', async () => {
    const history = make();
    const positions = [];
    for (let i = 0; i < 5; i++) positions.push(await history.append('room', `"m${i}"`, { nowMs: NOW + i, ttlSeconds: TTL, newEpoch: `e${i}` }));
    expect(positions).toEqual([1, 2, 3, 4, 5].map((offset) => ({ offset, epoch: 'e0' })));
    expect(await history.append('other', '"x"', { nowMs: NOW, ttlSeconds: TTL, newEpoch: 'o' })).toEqual({ offset: 1, epoch: 'o' });
    expect(await history.position('room', NOW)).toEqual({ offset: 5, epoch: 'e0' });
  });

  test('append: concurrent broadcasts get distinct consecutive offsets', async () => {
    const history = make();
    const positions = await Promise.all(Array.from({ length: 10 }, (_, i) => history.append('room', `"m${i}"`, { nowMs: NOW, ttlSeconds: TTL, newEpoch: `e${i}` })));
    expect(positions.map((p) => p.offset).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(new Set(positions.map((p) => p.epoch)).size).toBe(1);
  });

  test('read: the messages in (after, through], in offset order', async () => {
    const history = make();
    for (let i = 1; i <= 12; i++) await history.append('room', `"m${i}"`, { nowMs: NOW + i, ttlSeconds: TTL, newEpoch: 'e' });
    expect((await history.read('room', 9, 12, NOW)).map((m) => [m.offset, m.data, m.storedAt])).toEqual([[10, '"m10"', NOW + 10], [11, '"m11"', NOW + 11], [12, '"m12"', NOW + 12]]);
    expect(await history.read('room', 12, 12, NOW)).toEqual([]);
  });

  test('expiry: after the history TTL the position is gone and the stream starts again at 1 under a new epoch', async () => {
    const history = make();
    await history.append('room', '"old"', { nowMs: NOW, ttlSeconds: TTL, newEpoch: 'first' });
    const later = NOW + TTL * 1000 + 1000;
    expect(await history.position('room', later)).toBeUndefined();
    expect(await history.read('room', 0, 1, later)).toEqual([]);
    expect(await history.append('room', '"new"', { nowMs: later, ttlSeconds: TTL, newEpoch: 'second' })).toEqual({ offset: 1, epoch: 'second' });
  });

  test('expiry: a message stored just before a whole second is still kept a whole TTL later, less a millisecond', async () => {
    const history = make();
    const storedAt = NOW + 999;
    await history.append('room', '"m"', { nowMs: storedAt, ttlSeconds: 1, newEpoch: 'e' });
    const almost = storedAt + 999;
    expect(await history.position('room', almost)).toEqual({ offset: 1, epoch: 'e' });
    expect(await history.read('room', 0, 1, almost)).toEqual([{ offset: 1, data: '"m"', storedAt }]);
  });
});

describe('MemoryStreamHistory', () => {
  test('a busy stream keeps only its TTL\'s worth of messages (expired ones go, as DynamoDB\'s TTL removes them)', async () => {
    const history = new MemoryStreamHistory();
    for (let i = 0; i < 100; i++) await history.append('room', `"m${i}"`, { nowMs: NOW + i * 1000, ttlSeconds: 10, newEpoch: 'e' });
    const kept = (history as unknown as { streams: Map<string, { messages: Map<number, unknown> }> }).streams.get('room')!.messages;
    expect([...kept.keys()]).toEqual([91, 92, 93, 94, 95, 96, 97, 98, 99, 100]);
  });
});

describe('DynamoStreamHistory keys', () => {
  test('history lives in a reserved partition of the subscriptions table, invisible to the stream\'s subscribers', async () => {
    const history = new DynamoStreamHistory(dynamo.doc, table);
    await history.append('room', '"m"', { nowMs: NOW, ttlSeconds: TTL, newEpoch: 'e' });
    expect((await new DynamoSubscriptionStore(dynamo.doc, table).listByStream('room')).items).toEqual([]);
    const { Items: items = [] } = await dynamo.doc.send(new QueryCommand({
      TableName: table,
      KeyConditionExpression: '#s = :s',
      ExpressionAttributeNames: { '#s': 'stream' },
      ExpressionAttributeValues: { ':s': '\u0000cdk-cable:history#room' },
    }));
    expect(items.map((item) => item.subscriber)).toEqual(['m#0000000000000001', 'position']);
  });
});

describe('DynamoSubscriptionStore: what a replay keeps on an ext subscriber\'s row', () => {
  test('sid, hold and release: listed and read back; hold of a missing row is false; release removes the hold and sets liveFrom', async () => {
    const store = new DynamoSubscriptionStore(dynamo.doc, table);
    const key = { stream: 'room', connectionId: 'c1=', identifier: '{"channel":"$pubsub","stream_name":"room"}' };
    await store.add({ ...key, expiresAt: 1, sid: 'the-sid', holdUntil: NOW });
    expect((await store.listByStream('room')).items).toEqual([{ ...key, expiresAt: 1, sid: 'the-sid', holdUntil: NOW }]);
    await store.release(key, 7);
    expect(await store.get(key)).toEqual({ ...key, expiresAt: 1, sid: 'the-sid', liveFrom: 7 });
    expect(await store.hold(key, NOW + 5)).toBe(true);
    expect((await store.get(key))?.holdUntil).toBe(NOW + 5);
    expect(await store.hold({ ...key, connectionId: 'gone=' }, NOW)).toBe(false);
    await store.release({ ...key, connectionId: 'gone=' });
    expect(await store.get({ ...key, connectionId: 'gone=' })).toBeUndefined();
  });
});
