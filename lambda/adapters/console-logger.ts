import { LogFields, Logger } from '../core/ports';

export type LogLevel = 'info' | 'warn' | 'error' | 'silent';
const RANK: Record<LogLevel, number> = { info: 0, warn: 1, error: 2, silent: 3 };

/** One JSON object a line, which CloudWatch Logs Insights parses without a pattern. */
export class ConsoleLogger implements Logger {
  constructor(private readonly level: LogLevel = 'info', private readonly write: (line: string) => void = (line) => console.log(line)) {}

  info(event: string, fields?: LogFields): void {
    this.log('info', event, fields);
  }

  warn(event: string, fields?: LogFields): void {
    this.log('warn', event, fields);
  }

  error(event: string, fields?: LogFields): void {
    this.log('error', event, fields);
  }

  private log(level: Exclude<LogLevel, 'silent'>, event: string, fields?: LogFields): void {
    if (RANK[level] < RANK[this.level]) return;
    this.write(JSON.stringify({ level, event, ...fields }, errorReplacer));
  }
}

export function parseLogLevel(value: string | undefined): LogLevel {
  return value === 'warn' || value === 'error' || value === 'silent' ? value : 'info';
}

function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}
