import { FailureLog } from './failure-log';
import { Logger } from './ports';

/** What one ping round came to. */
export interface PingRoundResult {
  /** Connections read (every segment, every page). */
  readonly connections: number;
  readonly pinged: number;
  /** Over `maxConnectionAgeSeconds`: sent `server_restart` and closed. */
  readonly expired: number;
  /** Answered 410: the connection row and its subscriptions were removed. */
  readonly gone: number;
  /** Answered 410 while younger than the welcome's delivery deadline: still in its handshake, left alone. */
  readonly notOpen: number;
  /** Not pinged or not closed for another reason (retries exhausted, permanent error). */
  readonly failed: number;
  /** Sends after a first attempt. */
  readonly retries: number;
  readonly pages: number;
}

/**
 * Counts of one round and its logging: one summary line (`ping.round`) when the round did more
 * than ping (ended, cleaned up or failed to reach a connection, or failed to read), plus at most
 * `MAX_FAILURE_LOGS` per-connection warnings, as `FanOutTally` does for a broadcast: a round over
 * 100,000 connections must not write a line per connection.
 */
export class PingTally {
  connections = 0;
  pinged = 0;
  expired = 0;
  gone = 0;
  notOpen = 0;
  retries = 0;
  pages = 0;
  private readonly failures: FailureLog;

  constructor(
    private readonly logger: Logger,
    private readonly window: { readonly previousTick: number; readonly now: number },
    private readonly startedAt: number,
  ) {
    this.failures = new FailureLog(logger, 'ping');
  }

  fail(connectionId: string, what: 'ping' | 'disconnect' | 'close', error: unknown, attempts: number): void {
    this.failures.sendFailed(error, { connectionId, what, attempts });
  }

  cleanupFailed(connectionId: string, error: unknown): void {
    this.failures.cleanupFailed(error, { connectionId });
  }

  /** Logs the summary (warn when anything failed, error when a read failed) and returns the counts. */
  finish(now: number, readError?: unknown): PingRoundResult {
    const result: PingRoundResult = {
      connections: this.connections,
      pinged: this.pinged,
      expired: this.expired,
      gone: this.gone,
      notOpen: this.notOpen,
      failed: this.failures.failed,
      retries: this.retries,
      pages: this.pages,
    };
    // A round that only pinged says nothing: rounds run every few seconds, and the invocation's
    // `ping.period` line carries the totals once a minute.
    const noteworthy = this.failures.troubled || readError !== undefined || this.expired > 0 || this.gone > 0 || this.notOpen > 0;
    if (!noteworthy) return result;
    this.logger[this.failures.level(readError)]('ping.round', {
      ...result,
      from: this.window.previousTick,
      to: this.window.now,
      ms: now - this.startedAt,
      ...this.failures.summary(readError),
    });
    return result;
  }
}
