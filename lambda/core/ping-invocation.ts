import { PingDeps } from './ping';
import { PingerStateStore, PingLauncher } from './ping-coordination';
import { pingTickSeconds } from './ping-interval';
import { DEFAULT_PING_PERIOD_MS, PingPeriodResult, runPingPeriod } from './ping-schedule';
import { PingRoundResult } from './ping-tally';
import { isUnderstaffed, pingWorkerCount, PingWorkerSizing, scanShare, workerRate } from './ping-workers';

export interface PingCoordination {
  readonly state: PingerStateStore;
  /** Starts workers; absent: every period is one invocation. */
  readonly launcher?: PingLauncher;
  /** `@connections` posts per second one invocation sustains (defaults.ts, scaled by memory). */
  readonly postsPerSecondPerWorker: number;
}

export interface PingInvocationDeps extends PingDeps {
  /** Absent (the local server in-process, tests of one round): one invocation pings the whole period, never exits idle. */
  readonly coordination?: PingCoordination;
}

/** One invocation of the ping function. */
export interface PingInvocation {
  /** The period start, epoch ms: the scheduled time, the same for every worker. */
  readonly start: number;
  /** @default 60_000 */
  readonly periodMs?: number;
  readonly stopped?: () => boolean;
  /** 0: the coordinator (the schedule's invocation, or the one `$connect` started). @default 0 */
  readonly worker?: number;
  /** With `worker` > 0: how many invocations share the period. @default 1 */
  readonly workers?: number;
  /** The token of the lease `$connect` took (ping-lease.ts). */
  readonly lease?: string;
}

export interface PingInvocationResult extends PingPeriodResult {
  /** `duplicate`: another invocation holds this (period, worker), nothing was pinged; `idle`: no connection, returned after one read. */
  readonly outcome: 'ran' | 'duplicate' | 'idle';
  readonly worker: number;
  readonly workers: number;
  /** Workers that could not be started (their segments go unpinged this period). */
  readonly launchFailures: number;
  /** The first round found more connections than the workers can ping in time. */
  readonly understaffed: boolean;
}

const NOTHING: PingPeriodResult = {
  rounds: 0, failedRounds: 0, lateTicks: 0, connections: 0, pinged: 0, expired: 0, gone: 0, notOpen: 0, failed: 0, retries: 0, lagMs: 0,
};

/**
 * Runs one invocation's share of a period. The coordinator (worker 0) claims the period on the
 * lease, sizes it from the connections the previous period found (`pingWorkerCount`), starts
 * workers 1 … n-1 with the same period start, and pings its own share of the Scan segments; after
 * its first round it records what it found for the next period, and with no connection at all it
 * releases the lease and returns (the idle exit: `$connect` starts a pinger when a client comes).
 * A worker claims (period, worker) and pings its share. A claim already held means this delivery
 * is a duplicate: it returns without pinging. Each invocation posts at most its share of
 * `maxPerSecond`, so the workers together stay within it. The coordinator alone (or the one
 * invocation without coordination) announces expired presence after its rounds (presence-expiry.ts).
 */
export async function runPingInvocation(deps: PingInvocationDeps, invocation: PingInvocation): Promise<PingInvocationResult> {
  const { start, stopped } = invocation;
  const periodMs = invocation.periodMs ?? DEFAULT_PING_PERIOD_MS;
  const worker = invocation.worker ?? 0;
  const coordination = deps.coordination;
  const single = { outcome: 'ran' as const, worker: 0, workers: 1, launchFailures: 0, understaffed: false };
  if (!coordination) return { ...await runPingPeriod(deps, { start, periodMs, stopped, sweepsPresence: true }), ...single };

  const { state } = coordination;
  const now = deps.clock.now();
  const { ping } = deps.config;
  if (worker > 0) {
    const workers = invocation.workers ?? 1;
    const share = scanShare(worker, workers, ping.segments);
    if (!await claimOrRun(deps, () => state.claimWorker(start, worker, now), { start, worker })) {
      return { ...NOTHING, outcome: 'duplicate', worker, workers, launchFailures: 0, understaffed: false };
    }
    const result = await runPingPeriod(deps, { start, periodMs, stopped, share, maxPerSecond: workerRate(ping.maxPerSecond, workers) });
    return { ...result, outcome: 'ran', worker, workers, launchFailures: 0, understaffed: false };
  }

  let previous: number | undefined;
  const claimed = await claimOrRun(deps, async () => {
    const claim = await state.claimPeriod(start, now, invocation.lease);
    // The count of the period before, or of the one before that (a period missed), guides; an older one does not (the pinger was idle).
    previous = claim.previous && claim.previous.period >= start - 2 * periodMs ? claim.previous.connections : undefined;
    return claim.claimed;
  }, { start, worker, lease: invocation.lease });
  if (!claimed) return { ...NOTHING, outcome: 'duplicate', worker, workers: 1, launchFailures: 0, understaffed: false };

  const sizing: PingWorkerSizing = {
    postsPerSecondPerWorker: coordination.postsPerSecondPerWorker,
    maxPerSecond: ping.maxPerSecond,
    tickSeconds: pingTickSeconds(ping),
  };
  const workers = coordination.launcher ? pingWorkerCount(previous ?? 0, sizing) : 1;
  const launchFailures = await launchWorkers(deps, coordination.launcher, start, workers);
  // Only the schedule's invocation exits idle: one `$connect` started was started for a client that just came.
  const mayIdle = invocation.lease === undefined && workers === 1;
  let idle = false;
  let understaffed = false;
  let recorded = -1;
  const afterRound = async (round: PingRoundResult, index: number): Promise<boolean> => {
    // The coordinator reads one share of evenly hashed segments: the whole is about `workers` times it.
    const estimate = round.connections * workers;
    // A `$connect` during this round may have written a row the read missed: release() then fails, and the period runs on.
    if (index === 0 && estimate === 0 && mayIdle && await released(deps, start)) {
      idle = true;
      return false;
    }
    if (index === 0 && isUnderstaffed(estimate, workers, sizing)) {
      understaffed = true;
      deps.logger.warn('ping.understaffed', { start, workers, connections: estimate, needed: pingWorkerCount(estimate, sizing) });
    }
    // Written once, and again when the count has grown by a quarter: the next period is sized on it.
    if (recorded < 0 || estimate > recorded * 1.25) {
      recorded = estimate;
      await quietly(deps, 'record', () => state.record(start, estimate, workers));
    }
    return true;
  };
  const resumed = invocation.lease !== undefined && now > start;
  const result = await runPingPeriod(deps, {
    start,
    periodMs,
    stopped,
    afterRound,
    resumed,
    sweepsPresence: true,
    share: scanShare(0, workers, ping.segments),
    maxPerSecond: workerRate(ping.maxPerSecond, workers),
  });
  return { ...result, outcome: idle ? 'idle' : 'ran', worker, workers, launchFailures, understaffed };
}

/** Workers 1 … workers-1, started at once; a failure is logged and counted, the others still run. */
async function launchWorkers(deps: PingInvocationDeps, launcher: PingLauncher | undefined, start: number, workers: number): Promise<number> {
  if (!launcher || workers < 2) return 0;
  const time = new Date(start).toISOString();
  const outcomes = await Promise.allSettled(Array.from({ length: workers - 1 }, (_, i) => launcher.launch({ kind: 'cable.ping', time, worker: i + 1, workers })));
  let failures = 0;
  outcomes.forEach((outcome, i) => {
    if (outcome.status === 'fulfilled') return;
    failures++;
    deps.logger.error('ping.launch_failed', { start, worker: i + 1, workers, error: outcome.reason });
  });
  return failures;
}

/**
 * A claim, or, when the state cannot be read, true: pinging without a claim risks a duplicate
 * delivery pinging twice, which is rarer and cheaper than a period without pings.
 */
async function claimOrRun(deps: PingInvocationDeps, claim: () => Promise<boolean>, fields: Record<string, unknown>): Promise<boolean> {
  try {
    if (await claim()) return true;
    deps.logger.info('ping.duplicate', fields);
    return false;
  } catch (error) {
    deps.logger.error('ping.claim_failed', { ...fields, error });
    return true;
  }
}

/** The idle exit's release; a failed write counts as released (the schedule's next invocation pings what is there). */
async function released(deps: PingInvocationDeps, start: number): Promise<boolean> {
  try {
    return await deps.coordination!.state.release(start);
  } catch (error) {
    deps.logger.error('ping.state_failed', { what: 'release', error });
    return true;
  }
}

async function quietly(deps: PingInvocationDeps, what: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (error) {
    deps.logger.error('ping.state_failed', { what, error });
  }
}
