import { Duration, Token } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { CableWebSocketApiProps } from '../cable-websocket-api-props';
import { DEFAULT_DELIVERY } from '../contract/defaults';
import type { CableFunctionEnvironment } from '../contract/environment';

/**
 * How frames reach many connections (`broadcastConcurrency`, `broadcastShardSize`,
 * `broadcastRetry`): every function that posts to many connections gets them (broadcast,
 * fan-out, ping). Retry settings that were not given are left to the runtime's defaults.
 */
export interface DeliverySettings {
  readonly concurrency: number;
  readonly shardSize: number;
  readonly maxAttempts?: number;
  readonly baseDelay?: Duration;
  readonly maxDelay?: Duration;
}

export function settings(props: CableWebSocketApiProps): DeliverySettings {
  const resolved: DeliverySettings = {
    concurrency: props.broadcastConcurrency ?? DEFAULT_DELIVERY.concurrency,
    shardSize: props.broadcastShardSize ?? DEFAULT_DELIVERY.shardSize,
    maxAttempts: props.broadcastRetry?.maxAttempts,
    baseDelay: props.broadcastRetry?.baseDelay,
    maxDelay: props.broadcastRetry?.maxDelay,
  };
  validate(resolved);
  return resolved;
}

export function deliveryEnvironment(options: DeliverySettings): CableFunctionEnvironment {
  return {
    delivery: {
      concurrency: options.concurrency,
      shardSize: options.shardSize,
      maxAttempts: options.maxAttempts,
      baseDelayMs: options.baseDelay?.toMilliseconds(),
      maxDelayMs: options.maxDelay?.toMilliseconds(),
    },
  };
}

/**
 * The broadcast entry point's public URL (a Lambda Function URL answering `POST /_broadcast`,
 * AnyCable's HTTP broadcast API; the stack may also invoke it directly), and the retry of the
 * fan-out worker that delivers the shards of large streams in parallel.
 */
export function create(_scope: Construct, wiring: { readonly broadcast: lambda.Function; readonly fanout: lambda.Function }): lambda.FunctionUrl {
  // A shard that failed as a whole is retried once by Lambda; posts inside it retry on their own.
  wiring.fanout.configureAsyncInvoke({ retryAttempts: 1, maxEventAge: Duration.minutes(5) });
  // Authorization is the bearer key checked in code, as anycable-go checks it: the URL is public.
  return wiring.broadcast.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
}

function validate(options: DeliverySettings): void {
  const positive = (name: string, value: number, min: number) => {
    if (!Token.isUnresolved(value) && (!Number.isInteger(value) || value < min)) {
      throw new Error(`\`${name}\` must be a whole number of at least ${min}, got ${value}`);
    }
  };
  positive('broadcastConcurrency', options.concurrency, 1);
  positive('broadcastShardSize', options.shardSize, 100);
  if (options.maxAttempts !== undefined) positive('broadcastRetry.maxAttempts', options.maxAttempts, 1);
  const { baseDelay, maxDelay } = options;
  if (baseDelay && maxDelay && !Token.isUnresolved(baseDelay.toMilliseconds()) && baseDelay.toMilliseconds() > maxDelay.toMilliseconds()) {
    throw new Error(`\`broadcastRetry.baseDelay\` (${baseDelay.toHumanString()}) must not exceed \`broadcastRetry.maxDelay\` (${maxDelay.toHumanString()})`);
  }
}
