import { CableConfigError } from './errors';
import { DEFAULT_PING as PING_DEFAULTS, MAX_PING_INTERVAL_SECONDS } from '../../src/contract/defaults';

/**
 * Keepalive pings (`{"type":"ping","message":<unix seconds>}`), named after anycable-go's
 * `--ping_interval` and its per-connection `?pi=<seconds>` URL parameter.
 */
export interface PingSettings {
  /** Whether pings are sent. When off, the pinger still ends connections at `maxConnectionAgeSeconds`. */
  readonly enabled: boolean;
  /** Seconds between pings to a connection that asked for no interval of its own. */
  readonly intervalSeconds: number;
  /** Smallest interval a client may ask for with `?pi=`; smaller requests are raised to it. */
  readonly minClientIntervalSeconds: number;
  /** Largest interval a client may ask for with `?pi=`; larger requests are lowered to it. */
  readonly maxClientIntervalSeconds: number;
  /**
   * Ceiling on the pinger's `@connections` calls per second (pings, disconnects, closes): they
   * draw on the account's API Gateway request quota, which broadcasts share.
   */
  readonly maxPerSecond: number;
  /** Parallel reads of the connections (segments of a DynamoDB Scan) per round. */
  readonly segments: number;
}

/** Keepalive defaults (src/contract/defaults.ts); the clients' minimum defaults to the interval. */
export const DEFAULT_PING: PingSettings = {
  enabled: true,
  intervalSeconds: PING_DEFAULTS.intervalSeconds,
  minClientIntervalSeconds: PING_DEFAULTS.intervalSeconds,
  maxClientIntervalSeconds: PING_DEFAULTS.maxClientIntervalSeconds,
  maxPerSecond: PING_DEFAULTS.maxPerSecond,
  segments: PING_DEFAULTS.segments,
};

/**
 * Clients may lengthen their interval (cheaper) up to the maximum, and shorten it only down to
 * `minClientIntervalSeconds`, which defaults to the server's own interval: a shorter interval
 * costs the operator more, so it is allowed only when the operator lowers the minimum.
 */
export function resolvePing(settings: Partial<PingSettings>): PingSettings {
  const given = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) as Partial<PingSettings>;
  const off = given.intervalSeconds === 0 || given.enabled === false;
  const intervalSeconds = given.intervalSeconds === undefined || given.intervalSeconds === 0 ? DEFAULT_PING.intervalSeconds : given.intervalSeconds;
  const ping: PingSettings = {
    ...DEFAULT_PING,
    minClientIntervalSeconds: intervalSeconds,
    ...given,
    intervalSeconds,
    enabled: !off,
  };
  const max = MAX_PING_INTERVAL_SECONDS;
  for (const [name, min, top] of [
    ['intervalSeconds', 1, max], ['minClientIntervalSeconds', 1, max], ['maxClientIntervalSeconds', 1, max],
    ['maxPerSecond', 1, Number.MAX_SAFE_INTEGER], ['segments', 1, 1_000],
  ] as const) {
    const value = ping[name];
    if (!Number.isInteger(value) || value < min || value > top) {
      const range = top === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${top}`;
      const why = name === 'intervalSeconds' ? ' seconds (0 turns pings off)' : name.endsWith('IntervalSeconds') ? ' seconds' : '';
      throw new CableConfigError(`ping.${name} must be an integer ${range}${why}, got ${value}`);
    }
  }
  if (ping.minClientIntervalSeconds > ping.intervalSeconds || ping.intervalSeconds > ping.maxClientIntervalSeconds) {
    throw new CableConfigError(
      `ping.intervalSeconds (${ping.intervalSeconds}) must lie between ping.minClientIntervalSeconds (${ping.minClientIntervalSeconds}) and ping.maxClientIntervalSeconds (${ping.maxClientIntervalSeconds})`,
    );
  }
  return ping;
}
