import { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { CONNECTIONS, SUBSCRIPTIONS } from '../../lambda/adapters/dynamodb/schema';

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
