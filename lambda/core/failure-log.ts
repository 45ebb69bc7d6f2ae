import { LogFields, Logger } from './ports';

/**
 * Per-connection warnings one fan-out or ping round logs before it only counts. A stream of
 * 100,000 dead subscribers must not write 100,000 lines (CloudWatch bills by the byte, and a flood
 * hides the cause): the first few show what went wrong, the summary line carries the totals, the
 * count of warnings left out (`unloggedFailures`), and failures by error name (`errors`).
 */
export const MAX_FAILURE_LOGS = 10;

/** Distinct error names counted in the summary; any further name is counted as `other`. */
const MAX_ERROR_NAMES = 10;

/**
 * The failures of one fan-out or ping round: counted, warned about per connection up to the cap
 * (`<scope>.send_failed`, `<scope>.cleanup_failed`), and summed up for its summary line.
 */
export class FailureLog {
  /** Connections not reached (retries exhausted, permanent error, ...). */
  failed = 0;
  /** Gone connections whose rows could not be removed. */
  cleanupFailures = 0;
  private logged = 0;
  private readonly errors: Record<string, number> = {};

  constructor(private readonly logger: Logger, private readonly scope: 'broadcast' | 'ping') {}

  /** A connection that was not reached: counted always, warned about only the first few times. */
  sendFailed(error: unknown, fields: LogFields): void {
    this.failed++;
    this.record(`${this.scope}.send_failed`, error, fields);
  }

  /** A gone connection whose rows could not be removed: TTL will, but it is a fault worth seeing. */
  cleanupFailed(error: unknown, fields: LogFields): void {
    this.cleanupFailures++;
    this.record(`${this.scope}.cleanup_failed`, error, fields);
  }

  /** Whether anything failed, a read error aside. */
  get troubled(): boolean {
    return this.failed > 0 || this.cleanupFailures > 0;
  }

  /** The summary line's level: error when the read failed, warn when anything else failed, else info. */
  level(readError: unknown): 'error' | 'warn' | 'info' {
    return readError !== undefined ? 'error' : this.troubled ? 'warn' : 'info';
  }

  /** The summary fields, present only when there is something to say; the read error last. */
  summary(readError?: unknown): LogFields {
    return {
      ...(this.cleanupFailures > 0 ? { cleanupFailures: this.cleanupFailures } : {}),
      ...(Object.keys(this.errors).length > 0 ? { errors: { ...this.errors } } : {}),
      ...(this.logged > MAX_FAILURE_LOGS ? { unloggedFailures: this.logged - MAX_FAILURE_LOGS } : {}),
      ...(readError !== undefined ? { readError } : {}),
    };
  }

  /** Counts the failure by error name, and warns about it while under the cap. */
  private record(event: string, error: unknown, fields: LogFields): void {
    let name = error instanceof Error ? error.name : typeof error;
    if (!(name in this.errors) && Object.keys(this.errors).length >= MAX_ERROR_NAMES) name = 'other';
    this.errors[name] = (this.errors[name] ?? 0) + 1;
    if (this.logged++ < MAX_FAILURE_LOGS) this.logger.warn(event, { ...fields, error });
  }
}
