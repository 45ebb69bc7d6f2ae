import { CableConfig } from './config';
import { ConnectionGoneError, TransientSendError } from './errors';
import { Clock, Transport } from './ports';
import { RateLimiter } from './rate-limiter';

export interface RetryingSenderDeps {
  readonly transport: Pick<Transport, 'send'>;
  readonly clock: Clock;
  readonly config: Pick<CableConfig, 'delivery'>;
  /** Source of the retry jitter, in [0, 1). @default Math.random */
  readonly random?: () => number;
  /**
   * Taken before every attempt, retries included, so that retries count against the ceiling too.
   * @default - no ceiling
   */
  readonly limiter?: Pick<RateLimiter, 'take'>;
}

/**
 * How one send ended, after `attempts` calls of `transport.send` (retries are `attempts - 1`):
 * delivered, answered 410 (`ConnectionGoneError`, never retried: the caller decides what a gone
 * connection means), or failed for good with the last error (a permanent error, or a
 * `TransientSendError` on the last allowed attempt).
 */
export type SendOutcome =
  | { readonly kind: 'sent'; readonly attempts: number }
  | { readonly kind: 'gone'; readonly attempts: number }
  | { readonly kind: 'failed'; readonly attempts: number; readonly error: unknown };

/**
 * Sends a frame to one connection, retrying a `TransientSendError` up to `delivery.maxAttempts`
 * attempts in all, with capped exponential backoff and full jitter slept on the clock. The one
 * retry loop of broadcast fan-out and ping rounds; never throws, every ending is a `SendOutcome`.
 */
export class RetryingSender {
  private readonly random: () => number;

  constructor(private readonly deps: RetryingSenderDeps) {
    this.random = deps.random ?? Math.random;
  }

  async send(connectionId: string, frame: string): Promise<SendOutcome> {
    const { maxAttempts } = this.deps.config.delivery;
    for (let attempt = 1; ; attempt++) {
      if (this.deps.limiter) await this.deps.limiter.take();
      try {
        await this.deps.transport.send(connectionId, frame);
        return { kind: 'sent', attempts: attempt };
      } catch (error) {
        if (error instanceof ConnectionGoneError) return { kind: 'gone', attempts: attempt };
        if (!(error instanceof TransientSendError) || attempt >= maxAttempts) return { kind: 'failed', attempts: attempt, error };
        await this.deps.clock.sleep(this.backoff(attempt));
      }
    }
  }

  /** Full jitter: uniform in [0, min(maxDelayMs, baseDelayMs * 2^(attempt-1))). */
  private backoff(attempt: number): number {
    const { baseDelayMs, maxDelayMs } = this.deps.config.delivery;
    return Math.floor(this.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)));
  }
}
