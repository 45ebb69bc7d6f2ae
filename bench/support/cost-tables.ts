import { AddressInfo } from 'node:net';
import { CreateTableCommand, CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CONNECTIONS, SUBSCRIPTIONS } from '../../lambda/adapters/dynamodb/schema';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite');

/** dynalite in this process on a loopback port, with the cable's two tables as the construct creates them. */
export interface CostDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly connectionsTable: string;
  readonly subscriptionsTable: string;
  close(): Promise<void>;
}

process.env.AWS_ACCESS_KEY_ID ??= 'bench';
process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
process.env.AWS_REGION ??= 'us-east-1';

/**
 * The key schema and indexes of lambda/adapters/dynamodb/schema.ts: connections with the slim
 * `pings` index (INCLUDE connectedAt, pingIntervalSeconds) and the sparse keys-only
 * `byIdentifiers` index; subscriptions with the keys-only `byConnection` index. Index writes
 * are part of what a write costs, so the indexes must be there for the counts to be right.
 */
export function tableDefinitions(connectionsTable: string, subscriptionsTable: string): CreateTableCommandInput[] {
  const [connectedAt, pingInterval] = CONNECTIONS.pingsIndexAttributes;
  return [{
    TableName: connectionsTable,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: CONNECTIONS.partitionKey, AttributeType: 'S' },
      { AttributeName: CONNECTIONS.byIdentifiersPartitionKey, AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: CONNECTIONS.partitionKey, KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [{
      IndexName: CONNECTIONS.pingsIndex,
      KeySchema: [{ AttributeName: CONNECTIONS.partitionKey, KeyType: 'HASH' }],
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [connectedAt, pingInterval] },
    }, {
      IndexName: CONNECTIONS.byIdentifiersIndex,
      KeySchema: [{ AttributeName: CONNECTIONS.byIdentifiersPartitionKey, KeyType: 'HASH' }],
      Projection: { ProjectionType: 'KEYS_ONLY' },
    }],
  }, {
    TableName: subscriptionsTable,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: SUBSCRIPTIONS.partitionKey, AttributeType: 'S' },
      { AttributeName: SUBSCRIPTIONS.sortKey, AttributeType: 'S' },
      { AttributeName: SUBSCRIPTIONS.byConnectionPartitionKey, AttributeType: 'S' },
      { AttributeName: SUBSCRIPTIONS.byConnectionSortKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: SUBSCRIPTIONS.partitionKey, KeyType: 'HASH' },
      { AttributeName: SUBSCRIPTIONS.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [{
      IndexName: SUBSCRIPTIONS.byConnectionIndex,
      KeySchema: [
        { AttributeName: SUBSCRIPTIONS.byConnectionPartitionKey, KeyType: 'HASH' },
        { AttributeName: SUBSCRIPTIONS.byConnectionSortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'KEYS_ONLY' },
    }],
  }];
}

export async function startCostDynamo(): Promise<CostDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  const connectionsTable = `cost-connections-${process.pid}`;
  const subscriptionsTable = `cost-subscriptions-${process.pid}`;
  for (const definition of tableDefinitions(connectionsTable, subscriptionsTable)) await client.send(new CreateTableCommand(definition));
  return {
    endpoint,
    client,
    connectionsTable,
    subscriptionsTable,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
