import { PingInvocationEvent } from './ping-workers';

/*
 * The ports through which pinger invocations and `$connect` agree on who pings a period: one small
 * state item (the lease) and one claim per worker, written conditionally (table-schema.ts
 * `PINGER_STATE`, docs/stored-data.md), and the asynchronous start of a ping invocation.
 */

export type PingerPhase = 'leased' | 'running' | 'idle';

/** The lease as stored. */
export interface PingerLease {
  /** The period start it is for, epoch ms. */
  readonly period: number;
  readonly phase: PingerPhase;
  /** Connections the period's first round found (all workers, estimated); unset while that round reads. */
  readonly connections?: number;
  /** When `$connect` took it, epoch ms (phase `leased`). */
  readonly leasedAt?: number;
}

export interface PingPeriodClaim {
  /** False: another invocation runs this period (a duplicate delivery, or `$connect`'s pinger). */
  readonly claimed: boolean;
  /** The lease before the claim: the previous period's count sizes this one. */
  readonly previous?: PingerLease;
}

/** A `leased` lease whose pinger has not claimed it this long after is taken over by the schedule. */
export const STALE_LEASE_MS = 10_000;

export interface PingerStateStore {
  /**
   * The coordinator's claim of `period` (phase `running`). With `lease`: only the lease `$connect`
   * took with that token and no invocation claimed yet. Without: only when the lease is for an
   * earlier period, idle, or leased and stale (`STALE_LEASE_MS` before `now`).
   */
  claimPeriod(period: number, now: number, lease?: string): Promise<PingPeriodClaim>;
  /** Claims one worker's share of a period; false when another invocation has it. */
  claimWorker(period: number, worker: number, now: number): Promise<boolean>;
  /** What the period's first round found, for the next period's coordinator; ignored once the lease moved on. */
  record(period: number, connections: number, workers: number): Promise<void>;
  /**
   * The idle exit: the period's pinger found nothing and returns; `$connect` may start another.
   * False when a `$connect` marked the period meanwhile (`markArrival`): its row may be one the
   * round's read missed, so the pinger runs the period on.
   */
  release(period: number): Promise<boolean>;
  /**
   * `$connect` tells the period's running pinger, whose first round is still reading, that a
   * connection arrived, so that it does not exit idle; false when the period is no longer running.
   */
  markArrival(period: number): Promise<boolean>;
  /** The lease as it is now (a consistent read). */
  read(): Promise<PingerLease | undefined>;
  /** `$connect` takes the lease for `period` when no pinger holds it; false when someone else did. */
  takeLease(period: number, token: string, now: number): Promise<boolean>;
}

/** Starts one invocation of the ping function, asynchronously (Lambda `Event` invocation). */
export interface PingLauncher {
  launch(event: PingInvocationEvent): Promise<void>;
}
