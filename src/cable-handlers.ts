import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CableFunctionName, FUNCTION_HANDLER, FUNCTIONS_DIR, functionBundleName } from './contract/functions';
import { acknowledge } from './private/nag';

/** The bundled functions (src/contract/functions.ts), built by `projen bundle` into assets/ and shipped in the npm package. */
export type HandlerName = CableFunctionName;

/** assets/ sits beside lib/ (compiled) and src/ (ts-node), so one relative path serves both. */
export function handlerAssetPath(name: HandlerName): string {
  return path.join(__dirname, '..', 'assets', FUNCTIONS_DIR, functionBundleName(name));
}

export interface CableHandlerOptions {
  readonly runtime: lambda.Runtime;
  readonly architecture: lambda.Architecture;
  readonly memorySize: number;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  readonly environment: Record<string, string>;
  /** Whether `runtime` is the construct's default (only then is the cdk-nag L1 finding ours to explain). */
  readonly defaultRuntime: boolean;
}

/** Stable: renaming one replaces the function. */
const CONSTRUCT_IDS: Record<HandlerName, string> = {
  connect: 'ConnectHandler',
  message: 'MessageHandler',
  disconnect: 'DisconnectHandler',
  deliver: 'DeliverHandler',
  broadcast: 'BroadcastHandler',
  fanout: 'FanOutHandler',
  ping: 'PingHandler',
};

const DESCRIPTIONS: Record<HandlerName, string> = {
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
const TIMEOUTS: Record<HandlerName, Duration> = {
  connect: Duration.seconds(10),
  message: Duration.seconds(10),
  disconnect: Duration.seconds(10),
  deliver: Duration.seconds(20),
  broadcast: Duration.seconds(60),
  fanout: Duration.seconds(60),
  // Rounds run for about 55 s of each minute; the margin covers the last round's posts.
  ping: Duration.seconds(90),
};

export function createCableHandler(scope: Construct, name: HandlerName, options: CableHandlerOptions): lambda.Function {
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
    code: lambda.Code.fromAsset(handlerAssetPath(name)),
    handler: FUNCTION_HANDLER,
    logGroup,
    environment: {
      ...options.environment,
      // Stack traces point into lambda/ sources instead of the minified bundle.
      NODE_OPTIONS: '--enable-source-maps',
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
