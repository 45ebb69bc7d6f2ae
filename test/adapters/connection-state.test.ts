import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoConnectionStore } from '../../lambda/adapters/dynamodb/dynamo-connection-store';
import { DynamoSubscriptionStore } from '../../lambda/adapters/dynamodb/dynamo-subscription-store';
import { MemoryConnectionStore } from '../../lambda/adapters/memory/memory-connection-store';
import { MemorySubscriptionStore } from '../../lambda/adapters/memory/memory-subscription-store';
import { ChannelRecord, ConnectionRecord, ConnectionStore, SubscriptionStore } from '../../lambda/core/ports';
import { useDynalite } from '../support/dynalite';

/**
 * The RPC state a connection keeps between commands (`cstate`, app channels and their streams),
 * as one contract that the DynamoDB adapter (on dynalite) and the memory adapter both meet.
 */

const dynamo = useDynalite();

const connectionStores: Array<[string, () => Promise<ConnectionStore>]> = [
  ['DynamoConnectionStore', async () => new DynamoConnectionStore(dynamo.doc, (await dynamo.createTables('state')).connectionsTable)],
  ['MemoryConnectionStore', async () => new MemoryConnectionStore()],
];

const subscriptionStores: Array<[string, () => Promise<SubscriptionStore>]> = [
  ['DynamoSubscriptionStore', async () => new DynamoSubscriptionStore(dynamo.doc, (await dynamo.createTables('streams')).subscriptionsTable)],
  ['MemorySubscriptionStore', async () => new MemorySubscriptionStore()],
];

const CHAT = '{"channel":"ChatChannel","room":"1"}';
const NESTED = '{"channel":"Chat::RoomChannel","filter":{"tags":["a.b","c d"],"q":"x\\"y#z"},"n":[1,{"k":null}]}';
const PRESENCE = '{"channel":"PresenceChannel"}';
/** Keys DynamoDB would take for paths or placeholders if they were not passed as literal names. */
const ODD_KEYS = ['a.b', 'with space', '#hash', '#k0', ':v0', 'channels.x', 'list[0]', 'ключ', '🔑 key'];

function connection(connectionId: string, extra: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    connectionId,
    connectedAt: 1_700_000_000_123,
    expiresAt: 1_700_010_800,
    subprotocol: 'actioncable-v1-json',
    headers: { origin: 'https://app.example' },
    query: {},
    identifiers: '{"current_user":"gid://app/User/1"}',
    ...extra,
  };
}

function channel(state: Record<string, string>, streams: string[]): ChannelRecord {
  return { state, streams };
}

describe.each(connectionStores)('%s: connection state', (_name, create) => {
  let store: ConnectionStore;

  beforeEach(async () => {
    store = await create();
  });

  test('put/get: remoteAddress, cstate and channels round-trip', async () => {
    const record = connection('A=', {
      remoteAddress: '2001:db8::7',
      cstate: { 'user': 'u1', 'a.b': 'dotted' },
      channels: { [CHAT]: channel({ count: '2' }, ['chat:1', 'chat:1:typing']), [PRESENCE]: channel({}, []) },
    });
    await store.put(record);
    expect(await store.get('A=')).toEqual(record);
  });

  test('delete: returns the row it removed to the one caller that removed it; a second delete returns undefined', async () => {
    await store.put(connection('conn-d', { identifiers: '{"user":"ann"}', channels: { [CHAT]: channel({ typing: 'true' }, ['room:1']) } }));
    const [first, second] = await Promise.all([store.delete('conn-d'), store.delete('conn-d')]);
    const removed = [first, second].filter((record) => record !== undefined);
    expect(removed).toHaveLength(1);
    expect(removed[0]).toMatchObject({ connectionId: 'conn-d', identifiers: '{"user":"ann"}', channels: { [CHAT]: { state: { typing: 'true' }, streams: ['room:1'] } } });
    expect(await store.get('conn-d')).toBeUndefined();
    expect(await store.delete('conn-d')).toBeUndefined();
  });

  test('put/get: a record put without remoteAddress comes back without it', async () => {
    await store.put(connection('A='));
    expect(await store.get('A=')).not.toHaveProperty('remoteAddress');
  });

  test('cstate: keys are set, overwritten and deleted by an empty value, each key on its own', async () => {
    await store.put(connection('A=', { cstate: { kept: 'k', changed: 'old', dropped: 'd' } }));
    expect(await store.updateState('A=', { cstate: { changed: 'new', added: 'a', dropped: '' } })).toBe('updated');
    expect((await store.get('A='))?.cstate).toEqual({ kept: 'k', changed: 'new', added: 'a' });
  });

  test('cstate: a record put without cstate takes keys, and deleting an absent key is not an error', async () => {
    await store.put(connection('A='));
    expect(await store.updateState('A=', { cstate: { user: 'u1', never: '' } })).toBe('updated');
    expect((await store.get('A='))?.cstate).toEqual({ user: 'u1' });
  });

  test('cstate: keys with dots, spaces, #, placeholders-lookalikes and unicode are literal keys', async () => {
    await store.put(connection('A='));
    const values = Object.fromEntries(ODD_KEYS.map((key, index) => [key, `value ${index}`]));
    expect(await store.updateState('A=', { cstate: values })).toBe('updated');
    expect((await store.get('A='))?.cstate).toEqual(values);
    expect(await store.updateState('A=', { cstate: { 'a.b': '', '#k0': '', 'ключ': 'new' } })).toBe('updated');
    const { 'a.b': _dotted, '#k0': _placeholder, ...rest } = values;
    expect((await store.get('A='))?.cstate).toEqual({ ...rest, ключ: 'new' });
  });

  test('cstate: two concurrent updates of different keys both land', async () => {
    await store.put(connection('A=', { cstate: { kept: 'k' } }));
    const outcomes = await Promise.all([
      store.updateState('A=', { cstate: { first: '1' } }),
      store.updateState('A=', { cstate: { second: '2' }, channel: { identifier: CHAT, record: channel({}, ['chat:1']) } }),
    ]);
    expect(outcomes).toEqual(['updated', 'updated']);
    const record = await store.get('A=');
    expect(record?.cstate).toEqual({ kept: 'k', first: '1', second: '2' });
    expect(record?.channels).toEqual({ [CHAT]: channel({}, ['chat:1']) });
  });

  test('channel: two concurrent updates of different channels both land', async () => {
    await store.put(connection('A='));
    const outcomes = await Promise.all([
      store.updateState('A=', { channel: { identifier: CHAT, record: channel({ a: '1' }, ['chat:1']) } }),
      store.updateState('A=', { channel: { identifier: PRESENCE, record: channel({ b: '2' }, ['presence']) } }),
    ]);
    expect(outcomes).toEqual(['updated', 'updated']);
    expect((await store.get('A='))?.channels).toEqual({
      [CHAT]: channel({ a: '1' }, ['chat:1']),
      [PRESENCE]: channel({ b: '2' }, ['presence']),
    });
  });

  test('channel: a record is set, replaced as a whole, and removed, other channels untouched', async () => {
    await store.put(connection('A=', { channels: { [PRESENCE]: channel({ p: '1' }, ['presence']) } }));
    expect(await store.updateState('A=', { channel: { identifier: CHAT, record: channel({ a: '1', b: '2' }, ['chat:1', 'chat:2']) } })).toBe('updated');
    expect((await store.get('A='))?.channels).toEqual({
      [PRESENCE]: channel({ p: '1' }, ['presence']),
      [CHAT]: channel({ a: '1', b: '2' }, ['chat:1', 'chat:2']),
    });

    expect(await store.updateState('A=', { channel: { identifier: CHAT, record: channel({ c: '3' }, ['chat:3']) } })).toBe('updated');
    expect((await store.get('A='))?.channels).toEqual({
      [PRESENCE]: channel({ p: '1' }, ['presence']),
      [CHAT]: channel({ c: '3' }, ['chat:3']),
    });

    expect(await store.updateState('A=', { channel: { identifier: CHAT } })).toBe('updated');
    expect((await store.get('A='))?.channels).toEqual({ [PRESENCE]: channel({ p: '1' }, ['presence']) });
  });

  test('channel: removing a channel that is not there is not an error', async () => {
    await store.put(connection('A='));
    expect(await store.updateState('A=', { channel: { identifier: CHAT } })).toBe('updated');
    expect((await store.get('A='))?.channels ?? {}).toEqual({});
  });

  test('channel: identifiers with JSON punctuation are literal keys', async () => {
    await store.put(connection('A='));
    expect(await store.updateState('A=', { channel: { identifier: CHAT, record: channel({ x: '1' }, ['chat:1']) } })).toBe('updated');
    expect(await store.updateState('A=', { channel: { identifier: NESTED, record: channel({ 'a.b': '2' }, ['room#1']) } })).toBe('updated');
    expect((await store.get('A='))?.channels).toEqual({
      [CHAT]: channel({ x: '1' }, ['chat:1']),
      [NESTED]: channel({ 'a.b': '2' }, ['room#1']),
    });
    expect(await store.updateState('A=', { channel: { identifier: NESTED, record: channel({}, []), onlyIfSubscribed: true } })).toBe('updated');
    expect(await store.updateState('A=', { channel: { identifier: CHAT } })).toBe('updated');
    expect((await store.get('A='))?.channels).toEqual({ [NESTED]: channel({}, []) });
  });

  test('onlyIfSubscribed: a subscribed channel is written, cstate with it', async () => {
    await store.put(connection('A=', { channels: { [CHAT]: channel({ n: '1' }, ['chat:1']) } }));
    const outcome = await store.updateState('A=', { cstate: { user: 'u1' }, channel: { identifier: CHAT, record: channel({ n: '2' }, ['chat:1', 'chat:2']), onlyIfSubscribed: true } });
    expect(outcome).toBe('updated');
    expect(await store.get('A=')).toMatchObject({ cstate: { user: 'u1' }, channels: { [CHAT]: channel({ n: '2' }, ['chat:1', 'chat:2']) } });
  });

  test('onlyIfSubscribed: a channel not subscribed is channel_gone and nothing is written, cstate included', async () => {
    // A look-alike identifier (other spacing) is another channel.
    const lookAlike = '{"channel": "ChatChannel", "room": "1"}';
    await store.put(connection('A=', { cstate: { user: 'u1' }, channels: { [CHAT]: channel({ n: '1' }, ['chat:1']) } }));
    const before = await store.get('A=');
    for (const identifier of [PRESENCE, lookAlike]) {
      const outcome = await store.updateState('A=', {
        cstate: { user: 'u2', added: 'a' },
        channel: { identifier, record: channel({ n: '9' }, ['late']), onlyIfSubscribed: true },
      });
      expect(outcome).toBe('channel_gone');
    }
    expect(await store.get('A=')).toEqual(before);
  });

  test.each(['constructor', 'toString'])('onlyIfSubscribed: a channel %p (named like an Object.prototype member) not subscribed is channel_gone', async (identifier) => {
    await store.put(connection('A=', { channels: {} }));
    const outcome = await store.updateState('A=', { cstate: { user: 'u1' }, channel: { identifier, record: channel({}, ['late']), onlyIfSubscribed: true } });
    expect(outcome).toBe('channel_gone');
    expect(await store.get('A=')).toMatchObject({ channels: {} });
    expect((await store.get('A='))?.cstate ?? {}).toEqual({});
  });

  test('onlyIfSubscribed: a channel unsubscribed meanwhile is not brought back', async () => {
    await store.put(connection('A=', { channels: { [CHAT]: channel({}, ['chat:1']) } }));
    expect(await store.updateState('A=', { channel: { identifier: CHAT } })).toBe('updated');
    expect(await store.updateState('A=', { channel: { identifier: CHAT, record: channel({}, ['chat:1', 'chat:2']), onlyIfSubscribed: true } })).toBe('channel_gone');
    expect((await store.get('A='))?.channels).toEqual({});
  });

  test('updateState: an unknown connection is connection_gone and no row is created', async () => {
    await store.put(connection('A='));
    const updates = [
      { cstate: { user: 'u1' } },
      { cstate: { user: '' } },
      { channel: { identifier: CHAT, record: channel({}, ['chat:1']) } },
      { channel: { identifier: CHAT } },
      { cstate: { user: 'u1' }, channel: { identifier: CHAT, record: channel({}, ['chat:1']), onlyIfSubscribed: true } },
      {},
    ];
    for (const update of updates) expect(await store.updateState('Nobody=', update)).toBe('connection_gone');
    expect(await store.get('Nobody=')).toBeUndefined();
  });

  test('updateState: a deleted connection is connection_gone and stays deleted', async () => {
    await store.put(connection('A=', { channels: { [CHAT]: channel({}, ['chat:1']) } }));
    await store.delete('A=');
    expect(await store.updateState('A=', { cstate: { user: 'u1' }, channel: { identifier: CHAT, record: channel({}, []), onlyIfSubscribed: true } })).toBe('connection_gone');
    expect(await store.get('A=')).toBeUndefined();
  });

  test('updateState: neither cstate nor channel is updated on an existing row, changing nothing, and connection_gone on a missing one', async () => {
    // Both maps given: the adapters may differ in whether a map put absent comes back absent or empty.
    await store.put(connection('A=', { remoteAddress: '203.0.113.7', cstate: { user: 'u1' }, channels: { [CHAT]: channel({}, ['chat:1']) } }));
    const before = await store.get('A=');
    expect(await store.updateState('A=', {})).toBe('updated');
    expect(await store.updateState('A=', { cstate: {} })).toBe('updated');
    expect(await store.get('A=')).toEqual(before);
    expect(await store.updateState('Nobody=', {})).toBe('connection_gone');
    expect(await store.updateState('Nobody=', { cstate: {} })).toBe('connection_gone');
    expect(await store.get('Nobody=')).toBeUndefined();
  });

  test('updateState: the rest of the record is left as put', async () => {
    const record = connection('A=', { remoteAddress: '203.0.113.7', pingIntervalSeconds: 30, url: 'wss://ws.example/prod' });
    await store.put(record);
    await store.updateState('A=', { cstate: { user: 'u1' }, channel: { identifier: CHAT, record: channel({}, ['chat:1']) } });
    expect(await store.get('A=')).toEqual({ ...record, cstate: { user: 'u1' }, channels: { [CHAT]: channel({}, ['chat:1']) } });
    expect(await store.findByIdentifiers(record.identifiers!)).toEqual(['A=']);
  });
});

describe.each(subscriptionStores)('%s: removeStreams', (_name, create) => {
  let store: SubscriptionStore;

  beforeEach(async () => {
    store = await create();
  });

  async function add(stream: string, connectionId: string, identifier: string): Promise<void> {
    expect(await store.add({ stream, connectionId, identifier, expiresAt: 1_700_010_800 })).toBe('created');
  }

  /** `<connectionId> <identifier>` of each subscriber of the stream, sorted. */
  async function subscribers(stream: string): Promise<string[]> {
    return (await store.listByStream(stream)).items.map((s) => `${s.connectionId} ${s.identifier}`).sort();
  }

  test('removeStreams: removes only the listed streams of that connection and identifier', async () => {
    for (const stream of ['chat:1', 'chat:2', 'chat:3']) await add(stream, 'A=', CHAT);
    await add('chat:1', 'A=', NESTED);
    await add('chat:1', 'B=', CHAT);
    await add('chat:2', 'B=', CHAT);

    await store.removeStreams('A=', CHAT, ['chat:1', 'chat:2']);

    expect(await subscribers('chat:1')).toEqual([`A= ${NESTED}`, `B= ${CHAT}`].sort());
    expect(await subscribers('chat:2')).toEqual([`B= ${CHAT}`]);
    expect(await subscribers('chat:3')).toEqual([`A= ${CHAT}`]);
  });

  test('removeStreams: unknown streams, repeated streams, an unknown connection and no streams are no error', async () => {
    await add('chat:1', 'A=', CHAT);
    await add('chat:2', 'A=', CHAT);
    await store.removeStreams('A=', CHAT, ['never-started', 'chat:1', 'chat:1']);
    await store.removeStreams('A=', PRESENCE, ['chat:2']);
    await store.removeStreams('Nobody=', CHAT, ['chat:2']);
    await store.removeStreams('A=', CHAT, []);
    expect(await subscribers('chat:1')).toEqual([]);
    expect(await subscribers('chat:2')).toEqual([`A= ${CHAT}`]);
  });

  test('removeStreams: more streams than one batch of deletes are all removed', async () => {
    const streams = Array.from({ length: 30 }, (_, i) => `feed:${i}`);
    for (const stream of streams) await add(stream, 'A=', CHAT);
    await store.removeStreams('A=', CHAT, streams.slice(0, 27));
    const left: string[] = [];
    for (const stream of streams) if ((await subscribers(stream)).length > 0) left.push(stream);
    expect(left).toEqual(streams.slice(27));
  });
});

describe('DynamoConnectionStore: rows written before rows carried cstate and channels', () => {
  test('updateState: a row without the maps (a connection opened before an upgrade) gets them, and the update lands', async () => {
    const table = (await dynamo.createTables('legacy')).connectionsTable;
    const store = new DynamoConnectionStore(dynamo.doc, table);
    // The row as the previous version's put wrote it: no cstate, no channels.
    await dynamo.doc.send(new PutCommand({
      TableName: table,
      Item: { connectionId: 'old-1', connectedAt: 1, expiresAt: 2, subprotocol: 'actioncable-v1-json', headers: {}, query: {}, identifiers: '{"user":"ann"}' },
    }));

    expect(await store.updateState('old-1', { cstate: { locale: 'en' }, channel: { identifier: CHAT, record: channel({ typing: 'true' }, ['room:1']) } })).toBe('updated');
    expect(await store.get('old-1')).toMatchObject({ cstate: { locale: 'en' }, channels: { [CHAT]: { state: { typing: 'true' }, streams: ['room:1'] } } });
    expect(await store.updateState('old-1', { channel: { identifier: PRESENCE, record: channel({}, []), onlyIfSubscribed: true } })).toBe('channel_gone');
    expect(await store.updateState('missing', { cstate: { a: 'b' } })).toBe('connection_gone');
  });
});
