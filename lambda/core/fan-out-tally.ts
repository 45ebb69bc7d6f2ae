import { FailureLog } from './failure-log';
import { Logger } from './ports';

export { MAX_FAILURE_LOGS } from './failure-log';

/** What one fan-out came to, and its logging. Only counts: delivery decisions live in broadcast.ts. */
export class FanOutTally {
  subscribers = 0;
  delivered = 0;
  gone = 0;
  excluded = 0;
  retries = 0;
  pages = 0;
  private readonly failures: FailureLog;

  constructor(private readonly logger: Logger, private readonly stream: string, private readonly startedAt: number) {
    this.failures = new FailureLog(logger, 'broadcast');
  }

  /** A subscriber that will not get the broadcast: counted always, warned about only the first few times. */
  fail(connectionId: string, error: unknown, attempts: number): void {
    this.failures.sendFailed(error, { stream: this.stream, connectionId, attempts });
  }

  /** A gone connection whose rows could not be removed: TTL will, but it is a fault worth seeing. */
  cleanupFailed(connectionId: string, error: unknown): void {
    this.failures.cleanupFailed(error, { stream: this.stream, connectionId });
  }

  /** Logs the one summary line (warn when anything failed) and returns the counts. */
  finish(now: number, readError?: unknown) {
    const result = {
      subscribers: this.subscribers,
      delivered: this.delivered,
      gone: this.gone,
      failed: this.failures.failed,
      excluded: this.excluded,
      retries: this.retries,
      pages: this.pages,
    };
    this.logger[this.failures.level(readError)]('broadcast.fan_out', {
      stream: this.stream,
      ...result,
      ms: now - this.startedAt,
      ...this.failures.summary(readError),
    });
    return result;
  }
}
