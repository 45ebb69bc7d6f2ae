import { Logger } from './ports';

/**
 * Per-connection warnings one fan-out logs before it only counts. A stream of 100,000 dead
 * subscribers must not write 100,000 lines (CloudWatch bills by the byte, and a flood hides the
 * cause): the first few show what went wrong, the summary line carries the totals, the count of
 * warnings left out (`unloggedFailures`), and failures by error name (`errors`).
 */
export const MAX_FAILURE_LOGS = 10;

/** Distinct error names counted in the summary; any further name is counted as `other`. */
const MAX_ERROR_NAMES = 10;

/** What one fan-out came to, and its logging. Only counts: delivery decisions live in broadcast.ts. */
export class FanOutTally {
  subscribers = 0;
  delivered = 0;
  gone = 0;
  failed = 0;
  excluded = 0;
  retries = 0;
  pages = 0;
  private cleanupFailures = 0;
  private logged = 0;
  private readonly errors: Record<string, number> = {};

  constructor(private readonly logger: Logger, private readonly stream: string, private readonly startedAt: number) {}

  /** A subscriber that will not get the broadcast: counted always, warned about only the first few times. */
  fail(connectionId: string, error: unknown, attempts: number): void {
    this.failed++;
    this.countError(error);
    if (this.logged++ < MAX_FAILURE_LOGS) {
      this.logger.warn('broadcast.send_failed', { stream: this.stream, connectionId, attempts, error });
    }
  }

  /** A gone connection whose rows could not be removed: TTL will, but it is a fault worth seeing. */
  cleanupFailed(connectionId: string, error: unknown): void {
    this.cleanupFailures++;
    this.countError(error);
    if (this.logged++ < MAX_FAILURE_LOGS) {
      this.logger.warn('broadcast.cleanup_failed', { stream: this.stream, connectionId, error });
    }
  }

  /** Logs the one summary line (warn when anything failed) and returns the counts. */
  finish(now: number, readError?: unknown) {
    const result = {
      subscribers: this.subscribers,
      delivered: this.delivered,
      gone: this.gone,
      failed: this.failed,
      excluded: this.excluded,
      retries: this.retries,
      pages: this.pages,
    };
    const troubled = this.failed > 0 || this.cleanupFailures > 0 || readError !== undefined;
    this.logger[readError !== undefined ? 'error' : troubled ? 'warn' : 'info']('broadcast.fan_out', {
      stream: this.stream,
      ...result,
      ms: now - this.startedAt,
      ...(this.cleanupFailures > 0 ? { cleanupFailures: this.cleanupFailures } : {}),
      ...(Object.keys(this.errors).length > 0 ? { errors: { ...this.errors } } : {}),
      ...(this.logged > MAX_FAILURE_LOGS ? { unloggedFailures: this.logged - MAX_FAILURE_LOGS } : {}),
      ...(readError !== undefined ? { readError } : {}),
    });
    return result;
  }

  private countError(error: unknown): void {
    let name = error instanceof Error ? error.name : typeof error;
    if (!(name in this.errors) && Object.keys(this.errors).length >= MAX_ERROR_NAMES) name = 'other';
    this.errors[name] = (this.errors[name] ?? 0) + 1;
  }
}
