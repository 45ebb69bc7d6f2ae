import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { acknowledge } from './nag';
import { validateConnectionTtl } from './validation';
import type { CableWebSocketApiProps } from '../cable-websocket-api-props';
import { DEFAULT_TTL_SECONDS } from '../contract/defaults';
import { CONNECTIONS_TABLE, SUBSCRIPTIONS_TABLE } from '../contract/table-schema';

export interface TablesSettings {
  readonly removalPolicy: RemovalPolicy;
  readonly pointInTimeRecovery: boolean;
  readonly encryption: dynamodb.TableEncryption;
  readonly encryptionKey?: kms.IKey;
  /** How long rows live without being refreshed (DynamoDB TTL), in seconds. */
  readonly ttlSeconds: number;
}

export interface CableTables {
  readonly connections: dynamodb.Table;
  readonly subscriptions: dynamodb.Table;
}

export function settings(props: CableWebSocketApiProps): TablesSettings {
  const { tableEncryption, tableEncryptionKey } = props;
  if (tableEncryptionKey && tableEncryption && tableEncryption !== dynamodb.TableEncryption.CUSTOMER_MANAGED) {
    throw new Error(`\`tableEncryptionKey\` requires \`tableEncryption\` CUSTOMER_MANAGED, got ${tableEncryption}`);
  }
  return {
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    pointInTimeRecovery: props.pointInTimeRecovery ?? false,
    encryption: tableEncryption ?? (tableEncryptionKey ? dynamodb.TableEncryption.CUSTOMER_MANAGED : dynamodb.TableEncryption.AWS_MANAGED),
    encryptionKey: tableEncryptionKey,
    ttlSeconds: validateConnectionTtl(props.connectionTtl ?? Duration.seconds(DEFAULT_TTL_SECONDS)),
  };
}

/**
 * The two on-demand tables under `scope` with stable ids, keyed as the contract says
 * (src/contract/table-schema.ts documents every attribute and index).
 */
export function create(scope: Construct, options: TablesSettings): CableTables {
  const common = {
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    removalPolicy: options.removalPolicy,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: options.pointInTimeRecovery },
    encryption: options.encryption,
    encryptionKey: options.encryptionKey,
  };
  const c = CONNECTIONS_TABLE;
  const s = SUBSCRIPTIONS_TABLE;

  const connections = new dynamodb.Table(scope, 'ConnectionsTable', {
    ...common,
    partitionKey: { name: c.partitionKey, type: dynamodb.AttributeType.STRING },
    timeToLiveAttribute: c.ttl,
  });
  connections.addGlobalSecondaryIndex({
    indexName: c.pingsIndex,
    partitionKey: { name: c.partitionKey, type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.INCLUDE,
    nonKeyAttributes: [...c.pingsIndexAttributes],
  });
  connections.addGlobalSecondaryIndex({
    indexName: c.byIdentifiersIndex,
    partitionKey: { name: c.byIdentifiersPartitionKey, type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.KEYS_ONLY,
  });

  const subscriptions = new dynamodb.Table(scope, 'SubscriptionsTable', {
    ...common,
    partitionKey: { name: s.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: { name: s.sortKey, type: dynamodb.AttributeType.STRING },
    timeToLiveAttribute: s.ttl,
  });
  subscriptions.addGlobalSecondaryIndex({
    indexName: s.byConnectionIndex,
    partitionKey: { name: s.byConnectionPartitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: { name: s.byConnectionSortKey, type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.KEYS_ONLY,
  });

  if (!options.pointInTimeRecovery) {
    for (const table of [connections, subscriptions]) {
      acknowledge(table, [{
        id: 'AwsSolutions-DDB3',
        reason: 'Rows are ephemeral connection state (at most a few hours old, recreated on reconnect); point-in-time recovery would restore nothing useful. Enable it with pointInTimeRecovery: true.',
      }]);
    }
  }
  return { connections, subscriptions };
}
