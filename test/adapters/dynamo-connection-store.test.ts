import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoConnectionStore } from '../../lambda/adapters/dynamodb/dynamo-connection-store';
import { ConnectionRecord, ConnectionStore } from '../../lambda/core/ports';
import { useDynalite } from '../support/dynalite';

const dynamo = useDynalite();
let table: string;
let store: DynamoConnectionStore;

beforeEach(async () => {
  table = (await dynamo.createTables()).connectionsTable;
  store = new DynamoConnectionStore(dynamo.doc, table) satisfies ConnectionStore;
});

const record: ConnectionRecord = {
  connectionId: 'Abc123=',
  connectedAt: 1_700_000_000_123,
  expiresAt: 1_700_010_800,
  subprotocol: 'actioncable-v1-json',
  headers: { 'origin': 'https://app.example', 'cookie': 'session=x; other=y', 'x-empty': '' },
  query: { token: 'a b&c' },
  url: 'wss://ws.example/prod?token=a+b%26c',
};

describe('DynamoConnectionStore', () => {
  test('put/get: round-trips every field, cstate and channels coming back empty when put without', async () => {
    await store.put(record);
    expect(await store.get(record.connectionId)).toEqual({ ...record, cstate: {}, channels: {} });
  });

  test('put/get: a record without url comes back without url', async () => {
    const { url: _url, ...withoutUrl } = record;
    await store.put(withoutUrl);
    const stored = await store.get(record.connectionId);
    expect(stored).toEqual({ ...withoutUrl, cstate: {}, channels: {} });
    expect(stored).not.toHaveProperty('url');
  });

  test('put/get: empty headers and query round-trip as empty maps', async () => {
    await store.put({ ...record, headers: {}, query: {} });
    expect(await store.get(record.connectionId)).toMatchObject({ headers: {}, query: {} });
  });

  test('get: an unknown connection is undefined', async () => {
    await store.put(record);
    expect(await store.get('someone-else')).toBeUndefined();
  });

  test('get: asks for a strongly consistent read', async () => {
    // dynalite is always consistent, so the request itself is what can be checked.
    const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const inputs: unknown[] = [];
    client.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'GetItemCommand') inputs.push(args.input);
      return next(args);
    }, { step: 'initialize' });
    try {
      await new DynamoConnectionStore(DynamoDBDocumentClient.from(client), table).get(record.connectionId);
      expect(inputs).toEqual([expect.objectContaining({ TableName: table, ConsistentRead: true })]);
    } finally {
      client.destroy();
    }
  });

  test('delete: removes the row, and deleting again is not an error', async () => {
    await store.put(record);
    await store.put({ ...record, connectionId: 'kept' });
    await store.delete(record.connectionId);
    await store.delete(record.connectionId);
    expect(await store.get(record.connectionId)).toBeUndefined();
    expect(await store.get('kept')).toEqual({ ...record, connectionId: 'kept', cstate: {}, channels: {} });
  });

  test('schema: the row is keyed by connectionId with a numeric expiresAt (TTL), map headers/query and always-present cstate/channels maps', async () => {
    await store.put(record);
    const { Item: item } = await dynamo.client.send(new GetItemCommand({ TableName: table, Key: { connectionId: { S: record.connectionId } } }));
    expect(item).toEqual({
      connectionId: { S: record.connectionId },
      connectedAt: { N: String(record.connectedAt) },
      expiresAt: { N: String(record.expiresAt) },
      subprotocol: { S: record.subprotocol },
      headers: { M: { 'origin': { S: 'https://app.example' }, 'cookie': { S: 'session=x; other=y' }, 'x-empty': { S: '' } } },
      query: { M: { token: { S: 'a b&c' } } },
      url: { S: record.url },
      cstate: { M: {} },
      channels: { M: {} },
    });
  });

  test('schema: cstate and channels are maps keyed by the literal key and identifier, a channel\'s streams a list', async () => {
    const identifier = '{"channel":"ChatChannel","room":"1"}';
    await store.put({ ...record, remoteAddress: '203.0.113.7', cstate: { 'a.b': '1' }, channels: { [identifier]: { state: { x: 'y' }, streams: ['chat:1', 'chat:2'] } } });
    const { Item: item } = await dynamo.client.send(new GetItemCommand({ TableName: table, Key: { connectionId: { S: record.connectionId } } }));
    expect(item).toMatchObject({
      remoteAddress: { S: '203.0.113.7' },
      cstate: { M: { 'a.b': { S: '1' } } },
      channels: { M: { [identifier]: { M: { state: { M: { x: { S: 'y' } } }, streams: { L: [{ S: 'chat:1' }, { S: 'chat:2' }] } } } } },
    });
  });
});

describe('DynamoConnectionStore limits', () => {
  async function attributes(): Promise<Record<string, unknown>> {
    const { Item: item } = await dynamo.client.send(new GetItemCommand({ TableName: table, Key: { connectionId: { S: record.connectionId } } }));
    return item ?? {};
  }

  test('reserveSubscription: takes slots up to max, then refuses without a write', async () => {
    await store.put(record);
    expect(await store.reserveSubscription(record.connectionId, 2)).toBe(true);
    expect(await store.reserveSubscription(record.connectionId, 2)).toBe(true);
    expect(await store.reserveSubscription(record.connectionId, 2)).toBe(false);
    expect(await attributes()).toMatchObject({ subscriptionCount: { N: '2' } });
  });

  test('reserveSubscription: concurrent reservations take exactly max slots (one conditional update each)', async () => {
    await store.put(record);
    const taken = await Promise.all(Array.from({ length: 20 }, () => store.reserveSubscription(record.connectionId, 7)));
    expect(taken.filter(Boolean)).toHaveLength(7);
    expect(await attributes()).toMatchObject({ subscriptionCount: { N: '7' } });
  });

  test('reserveSubscription: a connection without a row is refused and no row appears', async () => {
    expect(await store.reserveSubscription('gone', 5)).toBe(false);
    expect(await store.get('gone')).toBeUndefined();
  });

  test('releaseSubscription: gives a slot back, never below zero, and a gone connection is no error', async () => {
    await store.put(record);
    await store.reserveSubscription(record.connectionId, 1);
    await store.releaseSubscription(record.connectionId);
    await store.releaseSubscription(record.connectionId);
    expect(await attributes()).toMatchObject({ subscriptionCount: { N: '0' } });
    expect(await store.reserveSubscription(record.connectionId, 1)).toBe(true);
    await expect(store.releaseSubscription('gone')).resolves.toBeUndefined();
    expect(await store.get('gone')).toBeUndefined();
  });

  test('countInvalidFrame: counts 1, 2, 3 on the row; a connection without a row is undefined and gets none', async () => {
    await store.put(record);
    expect([await store.countInvalidFrame(record.connectionId), await store.countInvalidFrame(record.connectionId)]).toEqual([1, 2]);
    expect(await store.countInvalidFrame(record.connectionId)).toBe(3);
    expect(await attributes()).toMatchObject({ invalidFrames: { N: '3' } });
    expect(await store.countInvalidFrame('gone')).toBeUndefined();
    expect(await store.get('gone')).toBeUndefined();
  });

  test('forbidRestore: the row says noRestore, and so do get and delete; a connection without a row gets none', async () => {
    await store.put(record);
    expect((await store.get(record.connectionId))?.noRestore).toBeUndefined();
    await store.forbidRestore(record.connectionId);
    expect(await attributes()).toMatchObject({ noRestore: { BOOL: true } });
    expect(await store.get(record.connectionId)).toEqual({ ...record, cstate: {}, channels: {}, noRestore: true });
    expect((await store.delete(record.connectionId))?.noRestore).toBe(true);
    await store.forbidRestore('gone');
    expect(await store.get('gone')).toBeUndefined();
  });

  test('counts: the rest of the row is untouched, and get still returns the record', async () => {
    await store.put(record);
    await store.reserveSubscription(record.connectionId, 3);
    await store.countInvalidFrame(record.connectionId);
    expect(await store.get(record.connectionId)).toEqual({ ...record, cstate: {}, channels: {} });
  });
});
