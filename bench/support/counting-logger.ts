import { LogFields, Logger } from '../../lambda/core/ports';

/**
 * A Logger that prints nothing and adds up what the fan-out reports: each `broadcast.fan_out`
 * summary (one per inline fan-out or shard) and every warning and error by event name.
 */
export class CountingLogger implements Logger {
  readonly totals = { fanOuts: 0, subscribers: 0, delivered: 0, gone: 0, failed: 0, retries: 0, pages: 0, cleanupFailures: 0 };
  readonly warnings: Record<string, number> = {};
  readonly errors: Record<string, number> = {};
  /** The first few warnings and errors in full, for the report when something went wrong. */
  readonly samples: { level: string; event: string; fields?: LogFields }[] = [];

  info(event: string, fields?: LogFields): void {
    this.summary(event, fields);
  }

  warn(event: string, fields?: LogFields): void {
    this.warnings[event] = (this.warnings[event] ?? 0) + 1;
    this.sample('warn', event, fields);
    this.summary(event, fields);
  }

  error(event: string, fields?: LogFields): void {
    this.errors[event] = (this.errors[event] ?? 0) + 1;
    this.sample('error', event, fields);
    this.summary(event, fields);
  }

  /** Error-level events other than a fan-out summary (which `failed` already counts). */
  get errorEvents(): number {
    return Object.entries(this.errors).filter(([event]) => event !== 'broadcast.fan_out').reduce((sum, [, n]) => sum + n, 0);
  }

  private summary(event: string, fields?: LogFields): void {
    if (event !== 'broadcast.fan_out' || !fields) return;
    const number = (name: string) => (typeof fields[name] === 'number' ? fields[name] as number : 0);
    this.totals.fanOuts++;
    for (const name of ['subscribers', 'delivered', 'gone', 'failed', 'retries', 'pages', 'cleanupFailures'] as const) this.totals[name] += number(name);
  }

  private sample(level: string, event: string, fields?: LogFields): void {
    if (this.samples.length < 5) this.samples.push({ level, event, fields: fields && JSON.parse(JSON.stringify(fields, errorReplacer)) });
  }
}

function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}
