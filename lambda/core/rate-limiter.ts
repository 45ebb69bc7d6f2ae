import { Clock } from './ports';

/**
 * A ceiling on calls per second shared by concurrent callers (a token bucket in its GCRA form):
 * `take()` reserves the next slot and waits for it, so over any span of t seconds at most
 * `perSecond × t + burst` calls pass. The burst, a tenth of a second's worth, spares a timer
 * per call at high rates. Reservations are synchronous, so callers are served in call order.
 */
export class RateLimiter {
  readonly burst: number;
  private readonly intervalMs: number;
  private readonly toleranceMs: number;
  /** When the next call would be due at the steady rate (GCRA's theoretical arrival time). */
  private nextAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly clock: Clock, readonly perSecond: number) {
    if (!(perSecond > 0)) throw new Error(`RateLimiter: perSecond must be positive, got ${perSecond}`);
    this.burst = Math.max(1, Math.ceil(perSecond / 10));
    this.intervalMs = 1000 / perSecond;
    this.toleranceMs = (this.burst - 1) * this.intervalMs;
  }

  /** Resolves when the caller may make its call. */
  async take(): Promise<void> {
    const now = this.clock.now();
    const due = Math.max(this.nextAt, now);
    this.nextAt = due + this.intervalMs;
    const wait = due - this.toleranceMs - now;
    if (wait > 0) await this.clock.sleep(wait);
  }
}
