import { MAX_PING_WORKERS, PING_WORKER_HEADROOM } from '../../src/contract/defaults';

/*
 * How a period's pings are split across parallel invocations of the ping function: the
 * scheduled invocation (the coordinator, worker 0) sizes the period from the connections the
 * previous period's first round found, starts workers 1 … n-1 with the same period start, and
 * each invocation reads its own share of the Scan segments through the whole period.
 */

/** The event the coordinator (or `$connect`) sends the ping function to start one invocation. */
export interface PingInvocationEvent {
  readonly kind: 'cable.ping';
  /** The period's start, ISO 8601: every worker runs its rounds on this schedule. */
  readonly time: string;
  /** 0: the coordinator; 1 … workers-1: a worker started by it. */
  readonly worker: number;
  /** How many invocations share the period (the coordinator decides its own). */
  readonly workers: number;
  /** The lease token `$connect` took (ping-lease.ts); only with worker 0. */
  readonly lease?: string;
}

/** What sizes the workers. */
export interface PingWorkerSizing {
  /** `@connections` posts per second one invocation sustains (memory-scaled, defaults.ts). */
  readonly postsPerSecondPerWorker: number;
  /** The ceiling across all workers together (`maxPingsPerSecond`). */
  readonly maxPerSecond: number;
  /** The shortest interval a connection can have, seconds: the worst-case rate is connections / tick. */
  readonly tickSeconds: number;
}

/**
 * Invocations a period needs for `connections`: enough that each posts at most its planned share
 * (`PING_WORKER_HEADROOM` of what it sustains), but no more than the ceiling can use (more
 * workers cannot post faster than `maxPerSecond` together) nor `MAX_PING_WORKERS`. The rate
 * assumed is the worst case, every connection at the shortest interval.
 */
export function pingWorkerCount(connections: number, sizing: PingWorkerSizing): number {
  const planned = sizing.postsPerSecondPerWorker * PING_WORKER_HEADROOM;
  if (!(planned > 0) || !(connections > 0) || !Number.isFinite(sizing.tickSeconds)) return 1;
  const needed = Math.ceil(connections / sizing.tickSeconds / planned);
  const usable = Math.max(1, Math.ceil(sizing.maxPerSecond / planned));
  return Math.max(1, Math.min(needed, usable, MAX_PING_WORKERS));
}

/** The Scan segments one invocation reads: `segmentsPerWorker` of `workers × segmentsPerWorker`. */
export interface ScanShare {
  readonly totalSegments: number;
  readonly segments: readonly number[];
}

/**
 * Worker `worker` of `workers` reads segments [worker × s, (worker + 1) × s) of workers × s, s
 * being `ping.segments`: together the workers read every segment exactly once, and one worker
 * alone reads what the pinger read before workers existed.
 */
export function scanShare(worker: number, workers: number, segmentsPerWorker: number): ScanShare {
  if (!Number.isInteger(workers) || workers < 1 || !Number.isInteger(worker) || worker < 0 || worker >= workers) {
    throw new Error(`scanShare: worker must be an integer from 0 to workers - 1, got ${worker} of ${workers}`);
  }
  const first = worker * segmentsPerWorker;
  return { totalSegments: workers * segmentsPerWorker, segments: Array.from({ length: segmentsPerWorker }, (_, i) => first + i) };
}

/** Each worker's share of the ceiling, so that together they stay within `maxPerSecond`. */
export function workerRate(maxPerSecond: number, workers: number): number {
  return Math.max(1, Math.floor(maxPerSecond / workers));
}

/**
 * A round's lag: how long after its window's end it finished, ms (0 when on time). A round pings
 * up to a tick ahead (ping-schedule.ts), so one that ends after its window sent some pings late.
 */
export function roundLagMs(windowEnd: number, finishedAt: number): number {
  return Math.max(0, finishedAt - windowEnd);
}

/**
 * Whether a period's first round found more than its workers can ping in time: the connections
 * of the whole period, estimated from the coordinator's share, need over 1.5 × the workers' plan.
 */
export function isUnderstaffed(estimatedConnections: number, workers: number, sizing: PingWorkerSizing): boolean {
  return pingWorkerCount(estimatedConnections, sizing) > workers
    && estimatedConnections / sizing.tickSeconds > 1.5 * workers * sizing.postsPerSecondPerWorker * PING_WORKER_HEADROOM;
}
