import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ApiGatewayTransport } from '../adapters/apigw/api-gateway-transport';
import { ConsoleLogger, parseLogLevel } from '../adapters/console-logger';
import { DynamoConnectionStore } from '../adapters/dynamodb/dynamo-connection-store';
import { DynamoSubscriptionStore } from '../adapters/dynamodb/dynamo-subscription-store';
import { LambdaDeferredDelivery } from '../adapters/lambda/lambda-deferred-delivery';
import { readSecretValue } from '../adapters/secrets/read-secret-value';
import { CableConfig, resolveConfig } from '../core/config';
import { Clock, ConnectionStore, DeferredDelivery, Logger, SubscriptionStore, systemClock, Transport } from '../core/ports';
import { CableEnvironment, readEnvironment, required, SecretName } from './environment';

/** Everything a handler may need, built once per execution environment (cold start). */
export interface LambdaRuntime {
  readonly config: CableConfig;
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
  readonly transport: Transport;
  readonly delivery: DeferredDelivery;
  readonly clock: Clock;
  readonly logger: Logger;
}

let cached: Promise<LambdaRuntime> | undefined;

/** Lazily builds the runtime from `process.env`; a failed build is retried on the next event. */
export function lambdaRuntime(): Promise<LambdaRuntime> {
  cached ??= buildRuntime(readEnvironment(process.env)).catch((error) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

export async function buildRuntime(env: CableEnvironment): Promise<LambdaRuntime> {
  const logger = new ConsoleLogger(parseLogLevel(env.logLevel));
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(env.dynamodbEndpoint ? { endpoint: env.dynamodbEndpoint } : {}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const secrets = await resolveSecrets(env);
  return {
    config: resolveConfig({ ...env.settings, ...secrets }),
    // Tables and endpoints are required only by the handlers that use them: a missing one
    // fails on first use with its variable's name.
    connections: lazy(() => new DynamoConnectionStore(dynamo, required('CABLE_CONNECTIONS_TABLE', env.connectionsTable))),
    subscriptions: lazy(() => new DynamoSubscriptionStore(dynamo, required('CABLE_SUBSCRIPTIONS_TABLE', env.subscriptionsTable))),
    transport: lazy(() => new ApiGatewayTransport(new ApiGatewayManagementApiClient({ endpoint: required('CABLE_CALLBACK_URL', env.callbackUrl) }))),
    delivery: lazy(() => new LambdaDeferredDelivery(new LambdaClient({}), required('CABLE_DELIVER_FUNCTION', env.deliverFunction))),
    clock: systemClock,
    logger,
  };
}

async function resolveSecrets(env: CableEnvironment): Promise<Partial<Record<SecretName, string>>> {
  const names = Object.keys(env.secrets) as SecretName[];
  const arns = names.filter((name) => !env.secrets[name].value && env.secrets[name].arn);
  const client = arns.length > 0 ? new SecretsManagerClient({}) : undefined;
  const resolved: Partial<Record<SecretName, string>> = {};
  await Promise.all(names.map(async (name) => {
    const { value, arn } = env.secrets[name];
    resolved[name] = value || (arn && client ? await readSecretValue(client, arn) : undefined);
  }));
  return resolved;
}

/** A proxy that builds its target on first property access. */
function lazy<T extends object>(build: () => T): T {
  let target: T | undefined;
  return new Proxy({} as T, {
    get(_, property) {
      target ??= build();
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
