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

/** Capped per-connection failure warnings, and the counts a summary line reports about them. */
export class FailureLog {
  /** Gone connections whose rows could not be removed. */
  cleanupFailures = 0;
  private logged = 0;
  private readonly errors: Record<string, number> = {};

  constructor(private readonly logger: Logger) {}

  /** Counts the failure by error name, and warns about it while under the cap. */
  record(event: string, error: unknown, fields: LogFields): void {
    let name = error instanceof Error ? error.name : typeof error;
    if (!(name in this.errors) && Object.keys(this.errors).length >= MAX_ERROR_NAMES) name = 'other';
    this.errors[name] = (this.errors[name] ?? 0) + 1;
    if (this.logged++ < MAX_FAILURE_LOGS) this.logger.warn(event, { ...fields, error });
  }

  /** The summary fields, present only when there is something to say. */
  summary(): LogFields {
    return {
      ...(this.cleanupFailures > 0 ? { cleanupFailures: this.cleanupFailures } : {}),
      ...(Object.keys(this.errors).length > 0 ? { errors: { ...this.errors } } : {}),
      ...(this.logged > MAX_FAILURE_LOGS ? { unloggedFailures: this.logged - MAX_FAILURE_LOGS } : {}),
    };
  }
}
