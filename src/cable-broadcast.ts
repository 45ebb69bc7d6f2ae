import { Duration, Token } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { HandlerName } from './cable-handlers';
import { CableRetryPolicy } from './cable-retry-policy';
import { CONNECTIONS_TABLE, SUBSCRIPTIONS_TABLE } from './contract/table-schema';
import { acknowledgeConnectionsWildcard } from './private/nag';

export interface BroadcastSettings {
  readonly concurrency: number;
  readonly shardSize: number;
  readonly retry: CableRetryPolicy;
}

export interface BroadcastWiring {
  readonly handler: (name: HandlerName, extra: Record<string, string>) => lambda.Function;
  readonly settings: BroadcastSettings;
  readonly secretEnvironment: Record<string, string>;
  readonly secrets: (secretsmanager.ISecret | undefined)[];
  readonly broadcastKey?: secretsmanager.ISecret;
  readonly connectionsTable: dynamodb.ITable;
  readonly subscriptionsTable: dynamodb.ITable;
  /** `method` on this stage's `@connections/*`. */
  readonly connectionsArn: (method: string) => string;
}

export interface BroadcastResources {
  readonly broadcastHandler: lambda.Function;
  readonly fanOutHandler: lambda.Function;
  readonly functionUrl: lambda.FunctionUrl;
}

/**
 * The broadcast entry point (a Lambda Function URL answering `POST /_broadcast`, AnyCable's
 * HTTP broadcast API, plus direct invocations from the stack) and the fan-out worker that
 * delivers the shards of large streams in parallel.
 */
export function createBroadcast(wiring: BroadcastWiring): BroadcastResources {
  const { settings } = wiring;
  const fanOutEnvironment: Record<string, string> = {
    CABLE_FANOUT_CONCURRENCY: String(settings.concurrency),
    CABLE_FANOUT_SHARD_SIZE: String(settings.shardSize),
    ...(settings.retry.maxAttempts !== undefined ? { CABLE_FANOUT_MAX_ATTEMPTS: String(settings.retry.maxAttempts) } : {}),
    ...(settings.retry.baseDelay ? { CABLE_FANOUT_BASE_DELAY_MS: String(settings.retry.baseDelay.toMilliseconds()) } : {}),
    ...(settings.retry.maxDelay ? { CABLE_FANOUT_MAX_DELAY_MS: String(settings.retry.maxDelay.toMilliseconds()) } : {}),
  };
  const fanOutHandler = wiring.handler('fanout', fanOutEnvironment);
  const broadcastHandler = wiring.handler('broadcast', {
    ...fanOutEnvironment,
    ...wiring.secretEnvironment,
    ...(wiring.broadcastKey ? { CABLE_BROADCAST_KEY_ARN: wiring.broadcastKey.secretArn } : {}),
    CABLE_FANOUT_FUNCTION: fanOutHandler.functionName,
  });
  // A shard that failed as a whole is retried once by Lambda; posts inside it retry on their own.
  fanOutHandler.configureAsyncInvoke({ retryAttempts: 1, maxEventAge: Duration.minutes(5) });

  const subscriptionsArn = wiring.subscriptionsTable.tableArn;
  for (const fn of [broadcastHandler, fanOutHandler]) {
    const allow = (actions: string[], resources: string[]) => fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
    allow(['dynamodb:Query', 'dynamodb:BatchWriteItem'], [subscriptionsArn]);
    // A connection found gone (410) is cleaned up: its subscriptions through the index, then its row.
    allow(['dynamodb:Query'], [`${subscriptionsArn}/index/${SUBSCRIPTIONS_TABLE.byConnectionIndex}`]);
    allow(['dynamodb:DeleteItem'], [wiring.connectionsTable.tableArn]);
    allow(['execute-api:ManageConnections'], [wiring.connectionsArn('POST')]);
    acknowledgeConnectionsWildcard(fn);
  }
  broadcastHandler.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fanOutHandler.functionArn] }));
  // AnyCable's remote disconnect: find the connections of an identifiers JSON, then close them.
  broadcastHandler.addToRolePolicy(new iam.PolicyStatement({
    actions: ['dynamodb:Query'],
    resources: [`${wiring.connectionsTable.tableArn}/index/${CONNECTIONS_TABLE.byIdentifiersIndex}`],
  }));
  broadcastHandler.addToRolePolicy(new iam.PolicyStatement({ actions: ['execute-api:ManageConnections'], resources: [wiring.connectionsArn('DELETE')] }));
  for (const secret of [...wiring.secrets, wiring.broadcastKey]) secret?.grantRead(broadcastHandler);

  // Authorization is the bearer key checked in code, as anycable-go checks it: the URL is public.
  const functionUrl = broadcastHandler.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
  return { broadcastHandler, fanOutHandler, functionUrl };
}

export function validateBroadcastSettings(settings: BroadcastSettings): void {
  const positive = (name: string, value: number, min: number) => {
    if (!Token.isUnresolved(value) && (!Number.isInteger(value) || value < min)) {
      throw new Error(`\`${name}\` must be a whole number of at least ${min}, got ${value}`);
    }
  };
  positive('broadcastConcurrency', settings.concurrency, 1);
  positive('broadcastShardSize', settings.shardSize, 100);
  if (settings.retry.maxAttempts !== undefined) positive('broadcastRetry.maxAttempts', settings.retry.maxAttempts, 1);
  const { baseDelay, maxDelay } = settings.retry;
  if (baseDelay && maxDelay && !Token.isUnresolved(baseDelay.toMilliseconds()) && baseDelay.toMilliseconds() > maxDelay.toMilliseconds()) {
    throw new Error(`\`broadcastRetry.baseDelay\` (${baseDelay.toHumanString()}) must not exceed \`broadcastRetry.maxDelay\` (${maxDelay.toHumanString()})`);
  }
}
