import { DynamoDBClient, ScanCommand as RawScanCommand } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoSubscriptionStore, DynamoSubscriptionStoreOptions } from '../../lambda/adapters/dynamodb/dynamo-subscription-store';
import { Subscription, SubscriptionStore } from '../../lambda/core/ports';
import { useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
let table: string;
let store: DynamoSubscriptionStore;

beforeEach(async () => {
  table = (await dynamo.createTables()).subscriptionsTable;
  store = new DynamoSubscriptionStore(dynamo.doc, table) satisfies SubscriptionStore;
});

const EXPIRES_AT = 1_700_010_800;

function sub(stream: string, connectionId: string, identifier = turbo(stream)): Subscription {
  return { stream, connectionId, identifier, expiresAt: EXPIRES_AT };
}

function turbo(stream: string): string {
  return JSON.stringify({ channel: 'Turbo::StreamsChannel', signed_stream_name: `signed:${stream}` });
}

/** Every row, read back with Scan (the store itself never scans). */
async function rows(): Promise<Record<string, unknown>[]> {
  return dynamo.scanAll(table);
}

/** Seeds rows in the store's format, 25 at a time, faster than one add per row. */
async function seed(subscriptions: Subscription[]): Promise<void> {
  for (let i = 0; i < subscriptions.length; i += 25) {
    await dynamo.doc.send(new BatchWriteCommand({
      RequestItems: {
        [table]: subscriptions.slice(i, i + 25).map((s) => ({
          PutRequest: { Item: { ...s, subscriber: `${s.connectionId}#${s.identifier}` } },
        })),
      },
    }));
  }
}

async function listAll(stream: string, limit?: number): Promise<{ items: Subscription[]; pages: number }> {
  const items: Subscription[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.listByStream(stream, cursor, limit);
    pages++;
    items.push(...page.items);
    cursor = page.cursor;
  } while (cursor);
  return { items, pages };
}

/** Whether one Query of the `byConnection` index leaves rows of the connection for a next page. */
async function indexNeedsSeveralPages(connectionId: string): Promise<boolean> {
  const page = await dynamo.doc.send(new QueryCommand({
    TableName: table,
    IndexName: 'byConnection',
    KeyConditionExpression: 'connectionId = :c',
    ExpressionAttributeValues: { ':c': connectionId },
  }));
  return page.LastEvaluatedKey !== undefined;
}

/**
 * A store on its own client whose BatchWriteItem calls leave `unprocessed(call)` of their
 * delete requests undone and report them in `UnprocessedItems`, as DynamoDB does when throttled.
 */
function throttledStore(unprocessed: (call: number) => number, options: DynamoSubscriptionStoreOptions) {
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const doc = DynamoDBDocumentClient.from(client);
  const calls: number[] = [];
  client.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName !== 'BatchWriteItemCommand') return next(args);
    const input = args.input as { RequestItems: Record<string, unknown[]> };
    const requests = input.RequestItems[table];
    calls.push(requests.length);
    const held = requests.slice(requests.length - Math.min(unprocessed(calls.length), requests.length));
    const kept = requests.slice(0, requests.length - held.length);
    const result = kept.length > 0
      ? await next({ ...args, input: { RequestItems: { [table]: kept } } })
      : { output: { $metadata: {} }, response: {} };
    (result.output as { UnprocessedItems?: unknown }).UnprocessedItems = held.length > 0 ? { [table]: held } : {};
    return result;
  }, { step: 'initialize', name: 'throttleBatchWrites' });
  return { store: new DynamoSubscriptionStore(doc, table, options), calls, close: () => client.destroy() };
}

describe('add', () => {
  test('add: the first add creates a row, the second reports exists and changes nothing', async () => {
    expect(await store.add(sub('room:1', 'conn-a'))).toBe('created');
    expect(await store.add({ ...sub('room:1', 'conn-a'), expiresAt: EXPIRES_AT + 99 })).toBe('exists');
    expect(await rows()).toEqual([expect.objectContaining({ stream: 'room:1', connectionId: 'conn-a', expiresAt: EXPIRES_AT })]);
  });

  test('add: concurrent adds of one subscription create exactly one row', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => store.add(sub('room:1', 'conn-a'))));
    expect(results.filter((r) => r === 'created')).toHaveLength(1);
    expect(results.filter((r) => r === 'exists')).toHaveLength(19);
    expect(await rows()).toHaveLength(1);
  });

  test('add: same stream from another connection or another identifier is a new row', async () => {
    expect(await store.add(sub('room:1', 'conn-a'))).toBe('created');
    expect(await store.add(sub('room:1', 'conn-b'))).toBe('created');
    expect(await store.add(sub('room:1', 'conn-a', '{"channel":"$pubsub","stream_name":"room:1"}'))).toBe('created');
    expect(await rows()).toHaveLength(3);
  });

  test('add: rows carry the schema keys and a numeric expiresAt for TTL', async () => {
    await store.add(sub('room:1', 'conn-a'));
    const { Items: items } = await dynamo.client.send(new RawScanCommand({ TableName: table }));
    expect(items).toEqual([{
      stream: { S: 'room:1' },
      subscriber: { S: `conn-a#${turbo('room:1')}` },
      connectionId: { S: 'conn-a' },
      identifier: { S: turbo('room:1') },
      expiresAt: { N: String(EXPIRES_AT) },
    }]);
  });
});

describe('listByStream', () => {
  test('listByStream: pages through every subscriber of a stream exactly once, and no other stream', async () => {
    const subscribers = Array.from({ length: 57 }, (_, i) => sub('room:1', `conn-${String(i).padStart(3, '0')}`));
    await seed([...subscribers, sub('room:2', 'conn-000'), sub('room:10', 'conn-001')]);
    const { items, pages } = await listAll('room:1', 10);
    expect(pages).toBeGreaterThanOrEqual(6);
    expect(items).toHaveLength(57);
    expect(new Set(items.map((s) => s.connectionId)).size).toBe(57);
    expect(items).toEqual(expect.arrayContaining(subscribers));
  });

  test('listByStream: pages hold at most `limit` items and only the last page has no cursor', async () => {
    await seed(Array.from({ length: 25 }, (_, i) => sub('room:1', `conn-${i}`)));
    const first = await store.listByStream('room:1', undefined, 10);
    const second = await store.listByStream('room:1', first.cursor, 10);
    const third = await store.listByStream('room:1', second.cursor, 10);
    expect([first.items.length, second.items.length, third.items.length]).toEqual([10, 10, 5]);
    expect(first.cursor).toBeDefined();
    expect(second.cursor).toBeDefined();
    expect(third.cursor).toBeUndefined();
  });

  test('listByStream: the default page holds 1000 subscribers', async () => {
    await seed(Array.from({ length: 1001 }, (_, i) => sub('room:big', `conn-${i}`)));
    const first = await store.listByStream('room:big');
    expect(first.items).toHaveLength(1000);
    expect(first.cursor).toBeDefined();
    const rest = await store.listByStream('room:big', first.cursor);
    expect(rest.items).toHaveLength(1);
    expect(rest.cursor).toBeUndefined();
  });

  test('listByStream: the cursor is base64url JSON of the last evaluated key', async () => {
    await seed([sub('room:1', 'conn-a'), sub('room:1', 'conn-b')]);
    const page = await store.listByStream('room:1', undefined, 1);
    expect(page.cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(JSON.parse(Buffer.from(page.cursor!, 'base64url').toString('utf8'))).toEqual({
      stream: 'room:1',
      subscriber: `${page.items[0].connectionId}#${page.items[0].identifier}`,
    });
  });

  test('listByStream: asks for strongly consistent reads, so a just-confirmed subscriber gets the next broadcast', async () => {
    // dynalite is always consistent, so the request itself is what can be checked.
    const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const inputs: unknown[] = [];
    client.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'QueryCommand') inputs.push(args.input);
      return next(args);
    }, { step: 'initialize' });
    try {
      await new DynamoSubscriptionStore(DynamoDBDocumentClient.from(client), table).listByStream('room:1');
      expect(inputs).toEqual([expect.objectContaining({ TableName: table, ConsistentRead: true })]);
    } finally {
      client.destroy();
    }
  });

  test('listByStream: an unknown stream is one empty page', async () => {
    await seed([sub('room:1', 'conn-a')]);
    expect(await store.listByStream('room:nobody')).toEqual({ items: [], cursor: undefined });
  });

  test('listByStream: a cursor that is not base64url JSON is refused', async () => {
    await expect(store.listByStream('room:1', '%%%')).rejects.toThrow(/cursor/);
  });

  test('listByStream: a cursor from another stream is refused', async () => {
    await seed([sub('room:1', 'conn-a'), sub('room:1', 'conn-b')]);
    const { cursor } = await store.listByStream('room:1', undefined, 1);
    await expect(store.listByStream('room:2', cursor)).rejects.toThrow(/cursor.*room:2/);
  });

  test('listByStream: a limit below 1 is refused', async () => {
    await expect(store.listByStream('room:1', undefined, 0)).rejects.toThrow(/limit/);
  });
});

describe('has and delete', () => {
  test('has: true for a stored row only (same stream, connection and identifier)', async () => {
    await store.add(sub('room:1', 'c1'));
    expect(await store.has(sub('room:1', 'c1'))).toBe(true);
    expect(await store.has(sub('room:1', 'c2'))).toBe(false);
    expect(await store.has(sub('room:2', 'c1', turbo('room:1')))).toBe(false);
    expect(await store.has({ ...sub('room:1', 'c1'), identifier: turbo('room:9') })).toBe(false);
  });

  test('has: asks for a strongly consistent read, so a re-sent subscribe sees the first one\'s row', async () => {
    const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const inputs: unknown[] = [];
    client.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'GetItemCommand') inputs.push(args.input);
      return next(args);
    }, { step: 'initialize' });
    try {
      await new DynamoSubscriptionStore(DynamoDBDocumentClient.from(client), table).has(sub('room:1', 'c1'));
      expect(inputs).toEqual([expect.objectContaining({ TableName: table, ConsistentRead: true })]);
    } finally {
      client.destroy();
    }
  });

  test('delete: removes that row only, and tells only the one caller that removed it', async () => {
    await store.add(sub('room:1', 'c1'));
    await store.add(sub('room:1', 'c2'));
    const results = await Promise.all([1, 2, 3].map(() => store.delete(sub('room:1', 'c1'))));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await rows()).map((row) => row.connectionId)).toEqual(['c2']);
    expect(await store.delete(sub('room:1', 'c1'))).toBe(false);
  });
});

describe('remove', () => {
  test('remove: removes one identifier of one connection and leaves the others', async () => {
    const other = '{"channel":"$pubsub","stream_name":"room:1"}';
    await seed([sub('room:1', 'conn-a'), sub('room:1', 'conn-a', other), sub('room:1', 'conn-b'), sub('room:2', 'conn-a')]);
    expect(await store.remove('conn-a', turbo('room:1'))).toEqual(['room:1']);
    expect((await rows()).map((r) => r.subscriber).sort()).toEqual([
      `conn-a#${other}`,
      `conn-a#${turbo('room:2')}`,
      `conn-b#${turbo('room:1')}`,
    ]);
  });

  test('remove: returns every stream of an identifier that spans several streams', async () => {
    const identifier = '{"channel":"ChatChannel","room":"1"}';
    await seed([sub('room:1', 'conn-a', identifier), sub('room:1:typing', 'conn-a', identifier), sub('room:1', 'conn-b', identifier)]);
    expect((await store.remove('conn-a', identifier)).sort()).toEqual(['room:1', 'room:1:typing']);
    expect(await rows()).toEqual([expect.objectContaining({ connectionId: 'conn-b' })]);
  });

  test('remove: known streams are deleted by key even when the index does not show the row yet', async () => {
    // A row the byConnection index cannot see (no index keys), as a just-written row may be.
    await dynamo.doc.send(new BatchWriteCommand({
      RequestItems: { [table]: [{ PutRequest: { Item: { stream: 'room:1', subscriber: `conn-a#${turbo('room:1')}`, expiresAt: EXPIRES_AT } } }] },
    }));
    await seed([sub('room:1', 'conn-b')]);
    expect(await store.remove('conn-a', turbo('room:1'), ['room:1'])).toEqual(['room:1']);
    expect((await rows()).map((r) => r.subscriber)).toEqual([`conn-b#${turbo('room:1')}`]);
  });

  test('remove: an identifier that was never subscribed removes nothing', async () => {
    await seed([sub('room:1', 'conn-a')]);
    expect(await store.remove('conn-a', turbo('room:2'))).toEqual([]);
    expect(await rows()).toHaveLength(1);
  });

  test('remove: follows the index across pages and deletes in batches of 25', async () => {
    // ~3.8 KB of keys per row in the index: 300 rows need two 1 MB Query pages and 12 batches.
    const identifier = JSON.stringify({ channel: 'ChatChannel', pad: 'i'.repeat(850) });
    const streams = Array.from({ length: 300 }, (_, i) => `${'s'.repeat(1990)}:${i}`);
    await seed([...streams.map((s) => sub(s, 'conn-a', identifier)), sub(streams[0], 'conn-b', identifier)]);
    expect(await indexNeedsSeveralPages('conn-a')).toBe(true); // precondition

    expect((await store.remove('conn-a', identifier)).sort()).toEqual([...streams].sort());
    expect(await rows()).toEqual([expect.objectContaining({ connectionId: 'conn-b' })]);
  });
});

describe('removeAll', () => {
  test('removeAll: removes every row of the connection, returns their keys (identifiers with # too), leaves other connections', async () => {
    const odd = '{"channel":"$pubsub","stream_name":"room:1#x"}';
    await seed([sub('room:1', 'conn-a'), sub('room:2', 'conn-a'), sub('room:1', 'conn-a', odd), sub('room:1', 'conn-b')]);
    const removed = await store.removeAll('conn-a');
    expect([...removed].sort((a, b) => `${a.stream}${a.identifier}`.localeCompare(`${b.stream}${b.identifier}`))).toEqual([
      { stream: 'room:1', connectionId: 'conn-a', identifier: odd },
      { stream: 'room:1', connectionId: 'conn-a', identifier: turbo('room:1') },
      { stream: 'room:2', connectionId: 'conn-a', identifier: turbo('room:2') },
    ].sort((a, b) => `${a.stream}${a.identifier}`.localeCompare(`${b.stream}${b.identifier}`)));
    expect(await rows()).toEqual([expect.objectContaining({ stream: 'room:1', connectionId: 'conn-b' })]);
  });

  test('removeAll: a connection without subscriptions removes nothing', async () => {
    await seed([sub('room:1', 'conn-b')]);
    expect(await store.removeAll('conn-a')).toEqual([]);
    expect(await rows()).toHaveLength(1);
  });

  test('removeAll: removes more rows than one index page and one batch hold', async () => {
    const streams = Array.from({ length: 300 }, (_, i) => `${'s'.repeat(1990)}:${i}`);
    const pad = 'i'.repeat(850);
    await seed(streams.map((s, i) => sub(s, 'conn-a', JSON.stringify({ channel: 'ChatChannel', i, pad }))));
    expect(await indexNeedsSeveralPages('conn-a')).toBe(true); // precondition
    expect(await store.removeAll('conn-a')).toHaveLength(300);
    expect(await rows()).toEqual([]);
  });

  test('removeAll: re-sends unprocessed deletes until DynamoDB has processed them all', async () => {
    await seed(Array.from({ length: 30 }, (_, i) => sub(`room:${i}`, 'conn-a')));
    // The first two calls of each chunk leave 10, then 4 requests unprocessed.
    const throttled = throttledStore((call) => (call === 1 ? 10 : call === 2 ? 4 : 0), { batchBackoffMs: 1 });
    try {
      expect(await throttled.store.removeAll('conn-a')).toHaveLength(30);
      expect(throttled.calls).toEqual([25, 10, 4, 5]);
      expect(await rows()).toEqual([]);
    } finally {
      throttled.close();
    }
  });

  test('removeAll: gives up with an error naming the table when deletes stay unprocessed', async () => {
    await seed(Array.from({ length: 3 }, (_, i) => sub(`room:${i}`, 'conn-a')));
    const throttled = throttledStore(() => 1, { batchAttempts: 3, batchBackoffMs: 1 });
    try {
      await expect(throttled.store.removeAll('conn-a')).rejects.toThrow(new RegExp(`${table}: 1 subscription deletes still unprocessed after 3`));
      expect(throttled.calls).toEqual([3, 1, 1]);
      expect(await rows()).toHaveLength(1);
    } finally {
      throttled.close();
    }
  });
});
