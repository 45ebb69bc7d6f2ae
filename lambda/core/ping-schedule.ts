import { pingRound, PingDeps } from './ping';
import { pingTickSeconds } from './ping-interval';
import { PingRoundResult } from './ping-tally';
import { roundLagMs, ScanShare } from './ping-workers';
import { sweepPresence } from './presence-expiry';
import { RateLimiter } from './rate-limiter';
import { DEFAULT_PING_PERIOD_SECONDS } from '../../src/contract/defaults';

/** EventBridge's finest schedule: the pinger is invoked once a minute. */
export const DEFAULT_PING_PERIOD_MS = DEFAULT_PING_PERIOD_SECONDS * 1000;

export interface PingPeriod {
  /** When this period starts, epoch ms: the scheduled time of the invocation (EventBridge's `time`). */
  readonly start: number;
  /** The schedule's period; consecutive invocations must start this far apart. @default 60_000 */
  readonly periodMs?: number;
  /** Checked between rounds: true ends the period early (the local server stopping). */
  readonly stopped?: () => boolean;
  /** This invocation's Scan segments, when the period is split across workers. @default - every segment */
  readonly share?: ScanShare;
  /** This invocation's ceiling on posts per second. @default - `ping.maxPerSecond` */
  readonly maxPerSecond?: number;
  /**
   * Started after the period began (by `$connect`): the ticks already past are not late, their
   * window is covered by the first round as usual. @default false
   */
  readonly resumed?: boolean;
  /**
   * After each round that found a connection, announce the presence that expired (presence-expiry.ts):
   * the coordinator's part, so that workers add no read. @default false
   */
  readonly sweepsPresence?: boolean;
  /** Called after each round that read; false ends the period (the idle exit). @default - go on */
  readonly afterRound?: (round: PingRoundResult, index: number) => Promise<boolean>;
}

export interface PingPeriodResult extends Omit<PingRoundResult, 'connections' | 'pages'> {
  readonly rounds: number;
  /** Rounds that threw (a failed read); their windows were still pinged as far as read. */
  readonly failedRounds: number;
  /** Ticks folded into a later round because the pinger fell behind. */
  readonly lateTicks: number;
  /** The most connections one round read. */
  readonly connections: number;
  /** How late the latest round finished past its window's end, ms (the most of any round). */
  readonly lagMs: number;
}

/**
 * One scheduled invocation of the pinger: rounds every tick (the shortest interval a connection
 * can have, see `pingTickSeconds`) through one period, then it returns, before the next
 * invocation starts. With every interval a minute or longer (or pings off), that is one round.
 *
 * Rounds run at `start + k × tick` for k = 0, 1, … while under `periodMs`; round k covers the
 * window (start + (k-1) × tick + tick, start + k × tick + tick]: one tick ahead, so a ping is sent
 * up to a tick early and never late, and a connection's first ping comes within its interval.
 * Round 0 starts where the previous period's last round ended, so the windows of consecutive
 * invocations tile time exactly and nothing in them is state: each connection is pinged once
 * per interval even though every invocation is a new process. A round that overruns is not
 * repeated: the ticks it missed are folded into the next round's window (`lateTicks`).
 */
export async function runPingPeriod(deps: PingDeps, period: PingPeriod): Promise<PingPeriodResult> {
  const periodMs = period.periodMs ?? DEFAULT_PING_PERIOD_MS;
  if (!Number.isInteger(periodMs) || periodMs < 1) throw new Error(`runPingPeriod: periodMs must be a positive integer, got ${periodMs}`);
  const tickMs = Math.min(pingTickSeconds(deps.config.ping) * 1000, periodMs);
  const offsets: number[] = [];
  for (let offset = 0; offset < periodMs; offset += tickMs) offsets.push(offset);
  const lookaheadMs = tickMs;
  const limiter = deps.limiter ?? new RateLimiter(deps.clock, period.maxPerSecond ?? deps.config.ping.maxPerSecond);
  const roundDeps: PingDeps = { ...deps, limiter };

  const totals = {
    rounds: 0, failedRounds: 0, lateTicks: 0, connections: 0, pinged: 0, expired: 0, gone: 0, notOpen: 0, failed: 0, retries: 0, lagMs: 0,
  };
  let previousTick = period.start - periodMs + offsets[offsets.length - 1] + lookaheadMs;
  for (let next = 0; next < offsets.length && !period.stopped?.();) {
    const now = deps.clock.now();
    if (now < period.start + offsets[next]) {
      await deps.clock.sleep(period.start + offsets[next] - now);
      continue;
    }
    let last = next;
    while (last + 1 < offsets.length && period.start + offsets[last + 1] <= now) last++;
    if (last > next && !(period.resumed && totals.rounds === 0)) {
      totals.lateTicks += last - next;
      deps.logger.warn('ping.behind', { lateTicks: last - next, tickMs, lagMs: now - (period.start + offsets[next]) });
    }
    const window = { previousTick, now: period.start + offsets[last] + lookaheadMs };
    const index = totals.rounds++;
    let round: PingRoundResult | undefined;
    try {
      round = await pingRound(roundDeps, window, period.share);
      totals.connections = Math.max(totals.connections, round.connections);
      for (const key of ['pinged', 'expired', 'gone', 'notOpen', 'failed', 'retries'] as const) totals[key] += round[key];
    } catch (error) {
      // pingRound has logged it; the next round covers its own window, this one's is not retried.
      totals.failedRounds++;
    }
    totals.lagMs = Math.max(totals.lagMs, roundLagMs(window.now, deps.clock.now()));
    previousTick = window.now;
    next = last + 1;
    // Nobody connected, nobody to tell: a round that found no connection reads no presence.
    if (round && round.connections > 0 && period.sweepsPresence) await sweepPresence(deps);
    if (round && period.afterRound && !(await period.afterRound(round, index))) break;
  }
  return totals;
}
