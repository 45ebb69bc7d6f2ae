/**
 * Benchmark settings from `--name value` / `--name=value` flags, else `BENCH_NAME` environment
 * variables, else defaults; a bad value stops the run before anything starts.
 */
export class BenchSettings {
  private readonly flags = new Map<string, string>();

  constructor(argv: readonly string[] = process.argv.slice(2), private readonly env: NodeJS.ProcessEnv = process.env) {
    for (let i = 0; i < argv.length; i++) {
      const match = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(argv[i]);
      if (!match) throw new Error(`unexpected argument "${argv[i]}": use --name value or --name=value`);
      if (match[2] !== undefined) this.flags.set(match[1], match[2]);
      else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) this.flags.set(match[1], argv[++i]);
      else this.flags.set(match[1], 'true');
    }
  }

  /** The raw value of `--kebab-name` or `BENCH_KEBAB_NAME`. */
  raw(name: string): string | undefined {
    return this.flags.get(name) ?? this.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  }

  number(name: string, fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER, integer = false } = {}): number {
    const raw = this.raw(name);
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${raw}"`);
    }
    return value;
  }

  integers(name: string, fallback: number[], { min = 1, max = 1_000_000 } = {}): number[] {
    const raw = this.raw(name);
    if (raw === undefined || raw === '') return fallback;
    return raw.split(',').map((part) => {
      const value = Number(part.trim().replace(/_/g, ''));
      if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must list integers from ${min} to ${max}, got "${raw}"`);
      return value;
    });
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.raw(name);
    if (raw === undefined || raw === '') return fallback;
    if (['1', 'true', 'yes'].includes(raw)) return true;
    if (['0', 'false', 'no'].includes(raw)) return false;
    throw new Error(`--${name} must be true or false, got "${raw}"`);
  }

  string(name: string, fallback: string): string {
    return this.raw(name) || fallback;
  }
}

/** Rejects once `ms` pass; the work itself cannot be cancelled, so the caller then stops the run. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
