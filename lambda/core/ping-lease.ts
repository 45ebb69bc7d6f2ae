import { PingerLease, PingerStateStore, PingLauncher, STALE_LEASE_MS } from './ping-coordination';
import { Clock, Logger } from './ports';
import { PING_LEASE_MARGIN_MS } from '../../src/contract/defaults';

/** What `$connect` needs to make sure a pinger runs (absent: the schedule alone runs it). */
export interface PingKeepalive {
  readonly state: PingerStateStore;
  readonly launcher: PingLauncher;
  /** The schedule's period, ms (60,000 in AWS). */
  readonly periodMs: number;
  /** A fresh lease token. */
  readonly token: () => string;
}

export type PingerStart = 'held' | 'started' | 'lost' | 'failed';

/**
 * Called by `$connect` once the connection row is written: makes sure a pinger covers the period
 * `PING_LEASE_MARGIN_MS` from now, so the new connection gets its first ping within its interval
 * even when the pinger went idle. One consistent GetItem when a pinger holds the lease (the
 * usual case); otherwise a conditional write takes the lease (one of several concurrent
 * `$connect`s wins) and the winner invokes the ping function asynchronously for that period.
 * Never throws: a failure is logged, and the schedule's next invocation pings the connection.
 */
export async function ensurePinger(keepalive: PingKeepalive, clock: Clock, logger: Logger): Promise<PingerStart> {
  try {
    const now = clock.now();
    const period = Math.floor((now + PING_LEASE_MARGIN_MS) / keepalive.periodMs) * keepalive.periodMs;
    const lease = await keepalive.state.read();
    if (covers(lease, period, keepalive.periodMs, now)) {
      // A pinger whose first round is still reading may miss this row (the pings index lags its
      // table) and exit idle: mark the period so it runs on. If it already exited, take the lease.
      if (!firstRoundReading(lease) || await keepalive.state.markArrival(lease!.period)) return 'held';
    }
    const token = keepalive.token();
    if (!await keepalive.state.takeLease(period, token, now)) return 'lost';
    try {
      await keepalive.launcher.launch({ kind: 'cable.ping', time: new Date(period).toISOString(), worker: 0, workers: 1, lease: token });
    } catch (error) {
      // The lease turns stale and the schedule takes the period over (STALE_LEASE_MS).
      logger.error('connect.pinger_start_failed', { period, error });
      return 'failed';
    }
    logger.info('connect.pinger_started', { period });
    return 'started';
  } catch (error) {
    logger.error('connect.pinger_check_failed', { error });
    return 'failed';
  }
}

/** A running period whose first round has not yet recorded what it found (so it may still exit idle). */
function firstRoundReading(lease: PingerLease | undefined): boolean {
  return lease?.phase === 'running' && lease.connections === undefined;
}

/**
 * Whether a pinger will ping `period`: its lease is held (leased and fresh, or running), or the
 * period before is running with connections, so its successor will find some and not exit idle
 * (and its first or second round finds this one).
 */
export function covers(lease: PingerLease | undefined, period: number, periodMs: number, now: number): boolean {
  if (!lease) return false;
  if (lease.period >= period) return lease.phase === 'running' || (lease.phase === 'leased' && now - (lease.leasedAt ?? 0) < STALE_LEASE_MS);
  return lease.period === period - periodMs && lease.phase === 'running' && (lease.connections ?? 0) > 0;
}
