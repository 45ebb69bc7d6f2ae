import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from './nag';
import { validateMemorySize, validateReservedConcurrency } from './validation';
import type { CableWebSocketApiProps } from '../cable-websocket-api-props';
import { CableFunctionEnvironment, writeEnvironment } from '../contract/environment';
import { CableFunctionName, FUNCTION_BUNDLE_FILE, FUNCTION_HANDLER, FUNCTION_SOURCE_MAP_GLOB, FUNCTIONS_DIR, functionBundleName } from '../contract/functions';

/** Memory of each function unless `memorySize` says otherwise, MB. */
export const DEFAULT_MEMORY_SIZE = 256;

/** The cable's functions, by their name in the contract (src/contract/functions.ts). */
export type CableFunctions = Readonly<Record<CableFunctionName, lambda.Function>>;

/** assets/ sits beside lib/ (compiled) and src/ (ts-node), so one relative path serves both. */
export function handlerAssetPath(name: CableFunctionName): string {
  return path.join(__dirname, '..', '..', 'assets', FUNCTIONS_DIR, functionBundleName(name));
}

export interface FunctionsSettings {
  readonly runtime: lambda.Runtime;
  readonly architecture: lambda.Architecture;
  readonly memorySize: number;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  /** Whether `runtime` is the construct's default (only then is the cdk-nag L1 finding ours to explain). */
  readonly defaultRuntime: boolean;
  /** Reserved concurrency by function (`broadcastReservedConcurrency`); unset: the account's unreserved pool. */
  readonly reservedConcurrency: Partial<Record<CableFunctionName, number>>;
  /** Where Lambda sends the asynchronous events it gave up on (deliver, fan-out, ping). */
  readonly asyncFailureDestination?: lambda.IDestination;
  /** Ship the source maps and turn on Node's --enable-source-maps (`sourceMaps`). */
  readonly sourceMaps: boolean;
}

export interface FunctionsWiring {
  readonly settings: FunctionsSettings;
  readonly webSocketApi: apigwv2.WebSocketApi;
  /** The environment of `name`; it may refer to the functions created before it (`CREATION_ORDER`). */
  readonly environment: (name: CableFunctionName, created: Partial<CableFunctions>) => CableFunctionEnvironment;
}

/** Stable: renaming one replaces the function. */
const CONSTRUCT_IDS: Record<CableFunctionName, string> = {
  connect: 'ConnectHandler',
  message: 'MessageHandler',
  disconnect: 'DisconnectHandler',
  deliver: 'DeliverHandler',
  broadcast: 'BroadcastHandler',
  fanout: 'FanOutHandler',
  ping: 'PingHandler',
};

/**
 * Each function is created after those its environment names: `$connect` starts deliver and ping,
 * message (whispers), broadcast and ping (expired presence's leave) start fan-out.
 */
const CREATION_ORDER: CableFunctionName[] = ['deliver', 'fanout', 'ping', 'connect', 'message', 'disconnect', 'broadcast'];

const DESCRIPTIONS: Record<CableFunctionName, string> = {
  connect: 'cdk-cable $connect: negotiates actioncable-v1-json, checks Origin, records the connection',
  message: 'cdk-cable $default: ActionCable commands (subscribe, unsubscribe, message)',
  disconnect: 'cdk-cable $disconnect: removes the connection and its subscriptions',
  deliver: 'cdk-cable deferred delivery: sends the welcome once the socket is open',
  broadcast: 'cdk-cable broadcasts: AnyCable HTTP broadcast API (POST /_broadcast) and in-stack invocations',
  fanout: 'cdk-cable fan-out worker: delivers one shard of a large stream',
  ping: 'cdk-cable keepalive: pings open connections, ends them before the 2-hour cut',
};

// The deliver function waits up to the delivery deadline (10 s) for the socket to open; a
// broadcast delivers a shard (5,000 subscribers by default) before it answers.
const TIMEOUTS: Record<CableFunctionName, Duration> = {
  connect: Duration.seconds(10),
  message: Duration.seconds(10),
  disconnect: Duration.seconds(10),
  deliver: Duration.seconds(20),
  broadcast: Duration.seconds(60),
  fanout: Duration.seconds(60),
  // Rounds run for about 55 s of each minute; the margin covers the last round's posts.
  ping: Duration.seconds(90),
};

/** The routes API Gateway sends to a function, with the integrations' stable ids. */
const ROUTES: Array<[string, CableFunctionName, string]> = [
  ['$connect', 'connect', 'ConnectIntegration'],
  ['$default', 'message', 'MessageIntegration'],
  ['$disconnect', 'disconnect', 'DisconnectIntegration'],
];

export function settings(props: CableWebSocketApiProps): FunctionsSettings {
  const memorySize = props.memorySize ?? DEFAULT_MEMORY_SIZE;
  validateMemorySize(memorySize);
  const runtime = props.runtime ?? lambda.Runtime.NODEJS_22_X;
  if (runtime.family !== lambda.RuntimeFamily.NODEJS) {
    throw new Error(`\`runtime\` must be a Node.js runtime (the handlers are JavaScript bundles), got ${runtime.name}`);
  }
  return {
    runtime,
    architecture: props.architecture ?? lambda.Architecture.ARM_64,
    memorySize,
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    logRemovalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    defaultRuntime: props.runtime === undefined,
    reservedConcurrency: { broadcast: validateReservedConcurrency('broadcastReservedConcurrency', props.broadcastReservedConcurrency) },
    asyncFailureDestination: props.asyncFailureDestination,
    sourceMaps: validateSourceMaps(props.sourceMaps ?? false),
  };
}

/**
 * The maps are built beside the bundles (`projen bundle`) but left out of the npm package, where
 * they were 40 % of its packed size (docs/benchmarks.md, "Package"): `sourceMaps` needs a build
 * of cdk-cable that has them.
 */
export function validateSourceMaps(sourceMaps: boolean, assetPath: (name: CableFunctionName) => string = handlerAssetPath): boolean {
  if (!sourceMaps) return false;
  const missing = CREATION_ORDER.filter((name) => !fs.existsSync(path.join(assetPath(name), `${FUNCTION_BUNDLE_FILE}.map`)));
  if (missing.length > 0) {
    throw new Error(`\`sourceMaps\` is true, but this copy of cdk-cable has no source maps (${missing.map((name) => `${name}-function`).join(', ')}): `
      + 'the npm package leaves them out to halve its size. Build cdk-cable from its repository at the same version '
      + '(`npx projen bundle`) and depend on that build, or leave `sourceMaps` off: the bundles keep their function names.');
  }
  return true;
}

/** The bundled functions (built by `projen bundle` into assets/, shipped in the npm package) and the routes to them. */
export function create(scope: Construct, wiring: FunctionsWiring): CableFunctions {
  const created: Partial<Record<CableFunctionName, lambda.Function>> = {};
  for (const name of CREATION_ORDER) {
    created[name] = createFunction(scope, name, wiring.settings, wiring.environment(name, created));
  }
  const functions = created as CableFunctions;
  // A failed welcome delivery is not retried late: the client reconnects after 6 s of silence.
  functions.deliver.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1), onFailure: wiring.settings.asyncFailureDestination });

  for (const [routeKey, name, integrationId] of ROUTES) {
    const route = wiring.webSocketApi.addRoute(routeKey, { integration: new WebSocketLambdaIntegration(integrationId, functions[name]) });
    acknowledge(route, [{
      id: 'AwsSolutions-APIG4',
      reason: 'ActionCable authorizes per subscription: Turbo and $pubsub stream names are HMAC-signed by the app, and Origin is checked when allowedOrigins is set.',
    }]);
  }
  return functions;
}

function createFunction(
  scope: Construct, name: CableFunctionName, options: FunctionsSettings, environment: CableFunctionEnvironment,
): lambda.Function {
  const id = CONSTRUCT_IDS[name];
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: options.logRetention,
    removalPolicy: options.logRemovalPolicy,
  });
  const fn = new lambda.Function(scope, id, {
    description: DESCRIPTIONS[name],
    runtime: options.runtime,
    architecture: options.architecture,
    memorySize: options.memorySize,
    timeout: TIMEOUTS[name],
    reservedConcurrentExecutions: options.reservedConcurrency[name],
    // The folder: index.mjs and the chunks it imports; its source maps only when they are used.
    code: lambda.Code.fromAsset(handlerAssetPath(name), options.sourceMaps ? {} : { exclude: [FUNCTION_SOURCE_MAP_GLOB] }),
    handler: FUNCTION_HANDLER,
    logGroup,
    environment: {
      ...writeEnvironment(environment),
      // Stack traces point into lambda/ sources instead of the minified bundle, at the price of
      // parsing the maps at each cold start (bench/results/bundles.json): only when asked.
      ...options.sourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {},
    },
  });
  acknowledge(fn.role!, [{
    id: 'AwsSolutions-IAM4',
    reason: 'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs.',
    appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
  }]);
  if (options.defaultRuntime) {
    acknowledge(fn, [{
      id: 'AwsSolutions-L1',
      reason: 'The default runtime is the newest Node.js runtime of the oldest aws-cdk-lib cdk-cable supports; pass `runtime` to use a newer one.',
    }]);
  }
  return fn;
}
