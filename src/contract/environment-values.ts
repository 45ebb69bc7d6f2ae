import { CableConfigError } from './config-error';

/**
 * Parsers for one environment variable's value, shared by readEnvironment (environment.ts) and
 * the local server's flags. Each error names the variable and shows the value.
 */

/** `true`/`1` or `false`/`0`; unset or empty is undefined. */
export function parseBoolean(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new CableConfigError(`${name} must be true or false, got "${value}"`);
}

export function parseInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new CableConfigError(`${name} must be an integer, got "${value}"`);
  return parsed;
}

/** A comma-separated list, trimmed; unset or blank is undefined. */
export function parseList(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value.split(',').map((v) => v.trim()).filter((v) => v.length > 0);
}

/** `value`, or a `CableConfigError` saying which variable must be set. */
export function required(name: string, value: string | undefined): string {
  if (!value) throw new CableConfigError(`${name} must be set`);
  return value;
}
