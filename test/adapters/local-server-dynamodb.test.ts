import { DynamoConnectionStore } from '../../lambda/adapters/dynamodb/dynamo-connection-store';
import { DynamoSubscriptionStore } from '../../lambda/adapters/dynamodb/dynamo-subscription-store';
import { signStream } from '../../lambda/core/signed-stream';
import { startDynalite, TestDynamo } from '../support/dynalite';
import { closeServers, connectClient, eventually, SECRET, startTestServer, subscribeCommand } from '../support/local-server';

let dynamo: TestDynamo;

beforeAll(async () => {
  dynamo = await startDynalite();
});

afterEach(closeServers);

afterAll(async () => {
  await dynamo.close();
});

describe('store: dynamodb', () => {
  test('store: connections and subscriptions live in the tables, and $disconnect empties them', async () => {
    const tables = await dynamo.createTables('local');
    const server = await startTestServer({ store: { kind: 'dynamodb', endpoint: dynamo.endpoint, ...tables } });
    const connections = new DynamoConnectionStore(dynamo.doc, tables.connectionsTable);
    const subscriptions = new DynamoSubscriptionStore(dynamo.doc, tables.subscriptionsTable);
    const identifier = { channel: 'Turbo::StreamsChannel', signed_stream_name: signStream('room:1', SECRET) };

    const client = await connectClient(server.url);
    await client.welcome();
    client.send(subscribeCommand(identifier));
    await client.next((frame) => (frame as { type?: string }).type === 'confirm_subscription');

    const { items } = await subscriptions.listByStream('room:1');
    expect(items).toEqual([expect.objectContaining({ stream: 'room:1', identifier: JSON.stringify(identifier) })]);
    expect(await connections.get(items[0].connectionId)).toMatchObject({ connectionId: items[0].connectionId });

    await client.close();
    await eventually(async () => expect((await subscriptions.listByStream('room:1')).items).toEqual([]));
    await eventually(async () => expect(await connections.get(items[0].connectionId)).toBeUndefined());
  });
});
