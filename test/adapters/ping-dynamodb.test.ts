import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoConnectionStore } from '../../lambda/adapters/dynamodb/dynamo-connection-store';
import { DynamoSubscriptionStore } from '../../lambda/adapters/dynamodb/dynamo-subscription-store';
import { CONNECTIONS } from '../../lambda/adapters/dynamodb/schema';
import { resolveConfig } from '../../lambda/core/config';
import { pingRound } from '../../lambda/core/ping';
import { ConnectionRecord } from '../../lambda/core/ports';
import { RecordingTransport } from '../core/ping-support';
import { FakeClock, START_MS } from '../core/support';
import { useDynalite } from '../support/dynalite';
import { RecordingLogger } from '../support/recording-logger';

const dynamo = useDynalite();
let tables: { connectionsTable: string; subscriptionsTable: string };

beforeEach(async () => {
  tables = await dynamo.createTables();
});

function row(connectionId: string, extra: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    connectionId,
    connectedAt: START_MS,
    expiresAt: Math.floor(START_MS / 1000) + 10_800,
    subprotocol: 'actioncable-v1-json',
    headers: { cookie: 'x'.repeat(4_000), origin: 'https://app.example' },
    query: { token: 'abc' },
    ...extra,
  };
}

const ids = Array.from({ length: 60 }, (_, i) => `Conn${String(i).padStart(3, '0')}=`);

describe('DynamoConnectionStore.listForPing (the pings index)', () => {
  test.each([
    { segments: 1, pageSize: undefined },
    { segments: 4, pageSize: undefined },
    { segments: 4, pageSize: 7 },
    { segments: 3, pageSize: 1 },
  ])('listForPing: $segments segments, pages of $pageSize: every connection exactly once', async ({ segments, pageSize }) => {
    const store = new DynamoConnectionStore(dynamo.doc, tables.connectionsTable, { pingPageSize: pageSize });
    for (const id of ids) await store.put(row(id, id.endsWith('7=') ? { pingIntervalSeconds: 30 } : {}));

    const seen: string[] = [];
    let pages = 0;
    for (let segment = 0; segment < segments; segment++) {
      let cursor: string | undefined;
      do {
        const page = await store.listForPing(segment, segments, cursor);
        pages++;
        if (pageSize !== undefined) expect(page.items.length).toBeLessThanOrEqual(pageSize);
        seen.push(...page.items.map((item) => item.connectionId));
        for (const item of page.items) {
          expect(item).toEqual({ connectionId: item.connectionId, connectedAt: START_MS, ...(item.connectionId.endsWith('7=') ? { pingIntervalSeconds: 30 } : {}) });
        }
        cursor = page.cursor;
      } while (cursor !== undefined);
    }
    expect(seen.sort()).toEqual(ids);
    if (pageSize !== undefined) expect(pages).toBeGreaterThanOrEqual(Math.ceil(ids.length / pageSize));
  });

  test('pings index: holds only the key, connectedAt and pingIntervalSeconds (a round reads no headers)', async () => {
    const store = new DynamoConnectionStore(dynamo.doc, tables.connectionsTable);
    await store.put(row('A=', { pingIntervalSeconds: 9, identifiers: '{"user":"1"}', url: 'wss://x/prod' }));
    const { Items } = await dynamo.doc.send(new ScanCommand({ TableName: tables.connectionsTable, IndexName: CONNECTIONS.pingsIndex }));
    expect(Items).toEqual([{ connectionId: 'A=', connectedAt: START_MS, pingIntervalSeconds: 9 }]);
  });

  test('listForPing: a bad segment or cursor is refused before any request', async () => {
    const store = new DynamoConnectionStore(dynamo.doc, tables.connectionsTable);
    await expect(store.listForPing(4, 4)).rejects.toThrow(/segment/);
    await expect(store.listForPing(0, 1, 'not-a-cursor')).rejects.toThrow(/cursor/);
  });

  test('put/get: pingIntervalSeconds and identifiers round-trip, and stay absent when unset', async () => {
    const store = new DynamoConnectionStore(dynamo.doc, tables.connectionsTable);
    await store.put(row('A=', { pingIntervalSeconds: 30, identifiers: '{"user":"1"}' }));
    await store.put(row('B='));
    expect(await store.get('A=')).toMatchObject({ pingIntervalSeconds: 30, identifiers: '{"user":"1"}' });
    const plain = await store.get('B=');
    expect(plain).not.toHaveProperty('pingIntervalSeconds');
    expect(plain).not.toHaveProperty('identifiers');
  });
});

describe('DynamoConnectionStore.findByIdentifiers (the sparse byIdentifiers index)', () => {
  test('findByIdentifiers: exactly the connections with those identifiers', async () => {
    const store = new DynamoConnectionStore(dynamo.doc, tables.connectionsTable);
    const alice = JSON.stringify({ current_user: 'gid://app/User/1' });
    for (const id of ids.slice(0, 5)) await store.put(row(id, { identifiers: alice }));
    await store.put(row('Bob=', { identifiers: JSON.stringify({ current_user: 'gid://app/User/2' }) }));
    await store.put(row('Anonymous='));
    expect((await store.findByIdentifiers(alice)).sort()).toEqual(ids.slice(0, 5));
    expect(await store.findByIdentifiers('{"current_user":"gid://app/User/3"}')).toEqual([]);
    expect(await store.findByIdentifiers('')).toEqual([]);
  });

  test('put: identifiers over the 2,048-byte key limit, or empty, are stored and read back but not indexed', async () => {
    const store = new DynamoConnectionStore(dynamo.doc, tables.connectionsTable);
    const long = JSON.stringify({ big: 'x'.repeat(2_100) });
    await store.put(row('Long=', { identifiers: long }));
    await store.put(row('Empty=', { identifiers: '' }));
    await store.put(row('Indexed=', { identifiers: '{"user":"1"}' }));
    expect(await store.get('Long=')).toMatchObject({ identifiers: long });
    expect(await store.get('Empty=')).toMatchObject({ identifiers: '' });
    expect(await store.findByIdentifiers(long)).toEqual([]);
    expect(await store.findByIdentifiers('')).toEqual([]);
    expect(await store.findByIdentifiers('{"user":"1"}')).toEqual(['Indexed=']);
    const { Items } = await dynamo.doc.send(new ScanCommand({ TableName: tables.connectionsTable, IndexName: CONNECTIONS.byIdentifiersIndex }));
    expect(Items?.map((item) => item[CONNECTIONS.partitionKey])).toEqual(['Indexed=']);
  });
});

describe('pingRound on DynamoDB', () => {
  test('410 from a ping: the connection row and its subscriptions are gone from both tables', async () => {
    const connections = new DynamoConnectionStore(dynamo.doc, tables.connectionsTable, { pingPageSize: 2 });
    const subscriptions = new DynamoSubscriptionStore(dynamo.doc, tables.subscriptionsTable);
    for (const id of ['Gone=', 'Here=', 'Other=']) {
      await connections.put(row(id));
      await subscriptions.add({ stream: 'room:1', connectionId: id, identifier: '{"channel":"Room"}', expiresAt: 0 });
      await subscriptions.add({ stream: 'room:2', connectionId: id, identifier: '{"channel":"Room2"}', expiresAt: 0 });
    }
    const clock = new FakeClock(START_MS + 30_000);
    const transport = new RecordingTransport(clock, { 'Gone=': 'gone' });
    const round = await pingRound(
      { connections, subscriptions, transport, clock, logger: new RecordingLogger(), config: resolveConfig({ ping: { segments: 2 } }) },
      { previousTick: START_MS + 27_000, now: START_MS + 30_000 },
    );
    expect(round).toMatchObject({ connections: 3, pinged: 2, gone: 1 });
    expect(await connections.get('Gone=')).toBeUndefined();
    expect(await connections.get('Here=')).toBeDefined();
    expect((await subscriptions.listByStream('room:1')).items.map((s) => s.connectionId).sort()).toEqual(['Here=', 'Other=']);
    expect((await subscriptions.listByStream('room:2')).items.map((s) => s.connectionId).sort()).toEqual(['Here=', 'Other=']);
  });
});
