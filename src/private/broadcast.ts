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
 * AnyCable's HTTP broadcast API; the stack may also invoke it directly), and what Lambda does with
 * a fan-out event (one shard of a large stream) that failed.
 */
export function create(_scope: Construct, wiring: {
  readonly broadcast: lambda.Function;
  readonly fanout: lambda.Function;
  readonly onFailure?: lambda.IDestination;
}): lambda.FunctionUrl {
  // A shard that failed is not run again: it may have posted the frame to some of its subscribers
  // before failing, and a re-run would send it to them twice (a repeated Turbo Stream append shows
  // twice). Lambda still retries, within maxEventAge, what failed before the function ran
  // (throttles, Lambda's own errors), which sent nothing; posts inside a shard retry on their own
  // (broadcastRetry). Lambda's asynchronous queue may still, rarely, deliver one event twice.
  // A shard that gives up goes to `asyncFailureDestination` when one is set.
  wiring.fanout.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(5), onFailure: wiring.onFailure });
  // Authorization is the bearer key checked in code, as anycable-go checks it: the URL is public.
  // `broadcastReservedConcurrency` bounds what a flood of requests to it can take.
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
