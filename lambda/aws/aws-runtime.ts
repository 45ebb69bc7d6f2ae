import { randomUUID } from 'node:crypto';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { settingsFromEnvironment } from './environment-settings';
import { pingPostsPerSecondPerInvocation } from '../../src/contract/defaults';
import { CableFunctionEnvironment, ENVIRONMENT_VARIABLES as VARIABLES, readEnvironment, SecretName } from '../../src/contract/environment';
import { required } from '../../src/contract/environment-values';
import { CABLE_METRIC_DETAIL_DIMENSIONS, CABLE_METRIC_NAMES } from '../../src/contract/metric-names';
import { ApiGatewayTransport } from '../adapters/apigw/api-gateway-transport';
import { executeApiRegion, SignedConnectionsTransport } from '../adapters/apigw/signed-connections-transport';
import { ConsoleLogger, parseLogLevel } from '../adapters/console-logger';
import { DynamoConnectionStore } from '../adapters/dynamodb/dynamo-connection-store';
import { DynamoPingerState } from '../adapters/dynamodb/dynamo-pinger-state';
import { DynamoPresenceStore } from '../adapters/dynamodb/dynamo-presence-store';
import { DynamoSessionStore } from '../adapters/dynamodb/dynamo-session-store';
import { DynamoStreamHistory } from '../adapters/dynamodb/dynamo-stream-history';
import { DynamoSubscriptionStore } from '../adapters/dynamodb/dynamo-subscription-store';
import { emitMetrics } from '../adapters/emf-metrics';
import { LambdaDeferredDelivery } from '../adapters/lambda/lambda-deferred-delivery';
import { LambdaPingLauncher } from '../adapters/lambda/lambda-ping-launcher';
import { LambdaShardDispatcher } from '../adapters/lambda/lambda-shard-dispatcher';
import { readSecretValue } from '../adapters/secrets/read-secret-value';
import { CableConfig, resolveConfig } from '../core/config';
import { CableConfigError } from '../core/errors';
import { PingCoordination } from '../core/ping-invocation';
import { PingKeepalive } from '../core/ping-lease';
import { DEFAULT_PING_PERIOD_MS } from '../core/ping-schedule';
import type { RpcClient } from '../core/rpc-client';
import { HandlerOptions } from '../handlers/guard';

/*
 * The only place that reads `process.env` (through the contract's `readEnvironment`) and builds
 * AWS clients: the pieces a Lambda handler is built from, each created once per execution environment
 * (cold start) and only when a handler asks for it. Plain functions, so esbuild drops the AWS
 * SDK clients a handler never uses from its bundle.
 */

let environment: CableFunctionEnvironment | undefined;
let logger: ConsoleLogger | undefined;
let document: DynamoDBDocumentClient | undefined;
let connections: DynamoConnectionStore | undefined;
let subscriptions: DynamoSubscriptionStore | undefined;
let history: DynamoStreamHistory | undefined;
let sessions: DynamoSessionStore | undefined;
let presence: DynamoPresenceStore | undefined;
let transport: ApiGatewayTransport | undefined;
let fanOut: SignedConnectionsTransport | undefined;
let delivery: LambdaDeferredDelivery | undefined;
let shards: LambdaShardDispatcher | undefined;
let pinger: DynamoPingerState | undefined;
let lambda: LambdaClient | undefined;
let settingsOnly: CableConfig | undefined;
let rpc: RpcClient | undefined;
let withSecrets: Promise<CableConfig> | undefined;

/** What the handlers pass on whatever happens: the `ApiId` dimension of their metrics. */
export function handlerOptions(): HandlerOptions {
  // Read alone: a malformed variable elsewhere must not keep a failure from being counted.
  return { apiId: process.env[VARIABLES.apiId] || undefined };
}

export function cableEnvironment(): CableFunctionEnvironment {
  return environment ??= readEnvironment(process.env);
}

export function cableLogger(): ConsoleLogger {
  return logger ??= new ConsoleLogger(parseLogLevel(cableEnvironment().logLevel));
}

/** Settings without the secrets (for handlers that never verify a stream name). */
export function cableSettings(): CableConfig {
  return settingsOnly ??= resolveConfig(settingsFromEnvironment(cableEnvironment()));
}

/**
 * For handlers that need secrets only to tell the app of gone connections (fan-out, ping): the
 * settings alone without RPC, settings and secrets (the RPC key) with it.
 */
export async function cableConfigForRpc(): Promise<CableConfig> {
  return cableEnvironment().rpc ? cableConfig() : cableSettings();
}

/** Settings and secrets; secrets given as ARNs are read from Secrets Manager once. */
export function cableConfig(): Promise<CableConfig> {
  withSecrets ??= resolveSecrets(cableEnvironment()).then(
    (secrets) => resolveConfig({ ...settingsFromEnvironment(cableEnvironment()), ...secrets }),
    (error) => {
      withSecrets = undefined; // retried on the next event
      throw error;
    },
  );
  return withSecrets;
}

export function connectionStore(): DynamoConnectionStore {
  return connections ??= new DynamoConnectionStore(dynamoDocument(), required(VARIABLES.connectionsTable, cableEnvironment().connectionsTable));
}

export function subscriptionStore(): DynamoSubscriptionStore {
  if (subscriptions) return subscriptions;
  const table = required(VARIABLES.subscriptionsTable, cableEnvironment().subscriptionsTable);
  return subscriptions = new DynamoSubscriptionStore(dynamoDocument(), table);
}

/** Stream positions and history (ext protocol), in the subscriptions table's reserved partitions. */
export function streamHistory(): DynamoStreamHistory {
  return history ??= new DynamoStreamHistory(dynamoDocument(), required(VARIABLES.subscriptionsTable, cableEnvironment().subscriptionsTable));
}

/** Resumable sessions (ext protocol), in the subscriptions table's reserved partitions. */
export function presenceStore(): DynamoPresenceStore {
  return presence ??= new DynamoPresenceStore(dynamoDocument(), required(VARIABLES.subscriptionsTable, cableEnvironment().subscriptionsTable));
}

export function sessionStore(): DynamoSessionStore {
  return sessions ??= new DynamoSessionStore(dynamoDocument(), required(VARIABLES.subscriptionsTable, cableEnvironment().subscriptionsTable));
}

/**
 * The transport for fan-out (broadcast, fan-out and ping functions): one SigV4-signed request a
 * post, about a quarter of the SDK client's CPU (bench/transport.ts), which bounds these
 * functions' rate. No retries of its own (fan-out retries throttled posts with its own policy
 * and counts them); as many sockets kept alive as posts may be in flight. Signed for the API's
 * region (in the callback URL's host), else the function's, with the function's credentials.
 */
export function fanOutTransport(concurrency: number): SignedConnectionsTransport {
  if (fanOut) return fanOut;
  const callbackUrl = required(VARIABLES.callbackUrl, cableEnvironment().callbackUrl);
  return fanOut = new SignedConnectionsTransport({ callbackUrl, region: executeApiRegion(callbackUrl) ?? process.env.AWS_REGION, concurrency });
}

export function apiGatewayTransport(): ApiGatewayTransport {
  return transport ??= new ApiGatewayTransport(new ApiGatewayManagementApiClient({
    endpoint: required(VARIABLES.callbackUrl, cableEnvironment().callbackUrl),
  }));
}

/** The pinger's schedule period in ms; undefined: the default minute. */
export function pingPeriodMs(): number | undefined {
  const seconds = cableEnvironment().pingPeriodSeconds;
  if (seconds === undefined) return undefined;
  if (seconds < 1) throw new CableConfigError(`${VARIABLES.pingPeriodSeconds} must be at least 1 (seconds), got ${seconds}`);
  return seconds * 1000;
}

/**
 * The app's AnyCable RPC (an HTTP URL or a Lambda function), with the RPC secret of `config`;
 * undefined when neither is set. Its code (rpc-runtime.ts: the client, its transports and the
 * Lambda client) is imported on first use, a chunk of its own that a function without RPC never loads.
 */
export async function rpcClient(config: CableConfig): Promise<RpcClient | undefined> {
  const target = cableEnvironment().rpc;
  if (!target) return undefined;
  if (rpc) return rpc;
  // '.js': TypeScript's spelling of an ES module import; esbuild resolves it to rpc-runtime.ts.
  const { createRpcClient } = await import('./rpc-runtime.js');
  // The reason is in the flow's own log line (`connect.rpc_failed`, `command.rpc_error`, ...).
  const countFailure = (method: string) => emitMetrics(cableLogger(), cableEnvironment().apiId, { [CABLE_METRIC_NAMES.rpcErrors]: 1 }, {
    name: CABLE_METRIC_DETAIL_DIMENSIONS.rpcErrors,
    value: method,
  });
  return rpc ??= createRpcClient(target, config.rpc.secret, lambdaEndpoint(), countFailure);
}

/**
 * The ping function's workers and lease: the state item in the subscriptions table, and its own
 * name (Lambda's `AWS_LAMBDA_FUNCTION_NAME`, so the template needs no self-reference) to start
 * workers with; sized by the posts per second its memory sustains.
 */
export function pingCoordination(): PingCoordination {
  const self = process.env.AWS_LAMBDA_FUNCTION_NAME;
  const memoryMb = Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE) || 256;
  return {
    state: pingerState(),
    launcher: self ? new LambdaPingLauncher(lambdaClient(), self) : undefined,
    postsPerSecondPerWorker: cableEnvironment().ping?.workerPostsPerSecond ?? pingPostsPerSecondPerInvocation(memoryMb),
  };
}

/** What `$connect` needs to start a pinger when none holds the lease; undefined without `CABLE_PING_FUNCTION`. */
export function pingKeepalive(): PingKeepalive | undefined {
  const functionName = cableEnvironment().pingFunction;
  if (!functionName) return undefined;
  return {
    state: pingerState(),
    launcher: new LambdaPingLauncher(lambdaClient(), functionName),
    periodMs: pingPeriodMs() ?? DEFAULT_PING_PERIOD_MS,
    token: randomUUID,
  };
}

function pingerState(): DynamoPingerState {
  return pinger ??= new DynamoPingerState(dynamoDocument(), required(VARIABLES.subscriptionsTable, cableEnvironment().subscriptionsTable));
}

export function deferredDelivery(): LambdaDeferredDelivery {
  return delivery ??= new LambdaDeferredDelivery(lambdaClient(), required(VARIABLES.deliverFunction, cableEnvironment().deliverFunction));
}

export function shardDispatcher(): LambdaShardDispatcher {
  return shards ??= new LambdaShardDispatcher(lambdaClient(), required(VARIABLES.fanOutFunction, cableEnvironment().fanOutFunction));
}

function lambdaClient(): LambdaClient {
  return lambda ??= new LambdaClient(lambdaEndpoint());
}

function lambdaEndpoint(): { endpoint?: string } {
  const endpoint = cableEnvironment().lambdaEndpoint;
  return endpoint ? { endpoint } : {};
}

function dynamoDocument(): DynamoDBDocumentClient {
  const endpoint = cableEnvironment().dynamodbEndpoint;
  return document ??= DynamoDBDocumentClient.from(new DynamoDBClient(endpoint ? { endpoint } : {}), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

async function resolveSecrets(env: CableFunctionEnvironment): Promise<Partial<Record<SecretName, string>>> {
  const secrets = env.secrets ?? {};
  const names = Object.keys(secrets) as SecretName[];
  const needsClient = names.some((name) => !secrets[name]?.value && secrets[name]?.arn);
  const client = needsClient ? new SecretsManagerClient({}) : undefined;
  const resolved: Partial<Record<SecretName, string>> = {};
  await Promise.all(names.map(async (name) => {
    const { value, arn } = secrets[name] ?? {};
    resolved[name] = value || (arn && client ? await readSecretValue(client, arn) : undefined);
  }));
  return resolved;
}
