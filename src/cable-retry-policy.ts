import { Duration } from 'aws-cdk-lib';

/**
 * How a broadcast (or a ping round) retries a post that API Gateway throttled or failed with a server error.
 */
export interface CableRetryPolicy {
  /**
   * Attempts per post, the first included (1: no retry).
   * @default 4
   */
  readonly maxAttempts?: number;

  /**
   * Delay before the first retry; doubled on each retry, with full jitter.
   * @default Duration.millis(50)
   */
  readonly baseDelay?: Duration;

  /**
   * Longest delay between two attempts.
   * @default Duration.seconds(1)
   */
  readonly maxDelay?: Duration;
}
