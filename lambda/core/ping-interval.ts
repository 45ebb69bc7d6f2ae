import { PingSettings } from './config';
import { PingCandidate } from './ports';

/**
 * anycable-go's per-connection ping interval: `wss://…/cable?pi=<seconds>` (cli/session_options.go
 * `pingIntervalParameter`; docs/anycable-go/configuration.md, "Per-client settings").
 */
export const PING_INTERVAL_PARAM = 'pi';

export type ClientPingInterval =
  /** No `pi`: the connection follows the configured default, whatever it is at ping time. */
  | { readonly kind: 'default' }
  /** An integer, clamped into [minClientIntervalSeconds, maxClientIntervalSeconds]. */
  | { readonly kind: 'requested'; readonly seconds: number; readonly requested: number }
  /** Not an integer: the default, as anycable-go does (it logs and ignores the value). */
  | { readonly kind: 'invalid'; readonly value: string };

/**
 * Reads `?pi=`. Like anycable-go, only a whole number is understood. Unlike anycable-go, which
 * takes any integer and stops pinging at 0 or below, the value is clamped into the configured
 * bounds: a client can neither make the operator pay for pings faster than allowed nor go
 * quiet long enough for API Gateway's 10-minute idle timeout.
 */
export function clientPingInterval(query: Readonly<Record<string, string>>, ping: PingSettings): ClientPingInterval {
  const raw = query[PING_INTERVAL_PARAM];
  if (raw === undefined || raw === '') return { kind: 'default' };
  if (!/^[+-]?\d{1,9}$/.test(raw.trim())) return { kind: 'invalid', value: raw.slice(0, 32) };
  const requested = Number(raw.trim());
  const seconds = Math.min(ping.maxClientIntervalSeconds, Math.max(ping.minClientIntervalSeconds, requested));
  return { kind: 'requested', seconds, requested };
}

/**
 * The interval a connection is pinged at, in seconds. A stored interval is clamped again into
 * the pinger's bounds, which may have changed since the connection was made (or differ from
 * `$connect`'s, when the functions' settings disagree): the pinger's tick assumes no interval is
 * shorter than its minimum.
 */
export function pingIntervalOf(connection: Pick<PingCandidate, 'pingIntervalSeconds'>, ping: PingSettings): number {
  const stored = connection.pingIntervalSeconds;
  if (stored === undefined) return ping.intervalSeconds;
  return Math.min(ping.maxClientIntervalSeconds, Math.max(ping.minClientIntervalSeconds, stored));
}

/**
 * Stateless: a connection is due when a multiple of its interval, counted from `connectedAt`,
 * falls in (from, to]. Rounds whose windows tile time (each starts where the last ended) ping
 * each connection once per interval, whichever process runs them, and never twice.
 */
export function isPingDue(connectedAt: number, intervalMs: number, from: number, to: number): boolean {
  if (!(intervalMs > 0) || to <= connectedAt) return false;
  const latest = connectedAt + Math.floor((to - connectedAt) / intervalMs) * intervalMs;
  return latest > from && latest > connectedAt;
}

/**
 * How often the pinger runs a round, in seconds: the shortest interval any connection can have.
 * With pings off, only the lifecycle (maximum age) is checked, once per schedule period.
 */
export function pingTickSeconds(ping: PingSettings): number {
  if (!ping.enabled) return Number.POSITIVE_INFINITY;
  return Math.max(1, Math.min(ping.intervalSeconds, ping.minClientIntervalSeconds));
}
