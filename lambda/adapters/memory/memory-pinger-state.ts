import { PingerLease, PingerPhase, PingerStateStore, PingPeriodClaim, STALE_LEASE_MS } from '../../core/ping-coordination';

interface StoredLease {
  period: number;
  phase: PingerPhase;
  holder?: string;
  leasedAt?: number;
  connections?: number;
  workers?: number;
  arrived?: boolean;
}

/**
 * The pinger's lease and claims in memory, with DynamoPingerState's conditions (tests and the
 * local server). Each call is atomic, as a conditional write is.
 */
export class MemoryPingerState implements PingerStateStore {
  private lease?: StoredLease;
  private readonly claims = new Set<string>();

  async claimPeriod(period: number, now: number, token?: string): Promise<PingPeriodClaim> {
    const old = this.lease;
    const ok = token === undefined
      ? this.free(period) || (old?.period === period && old.phase === 'leased' && (old.leasedAt ?? 0) < now - STALE_LEASE_MS)
      : old?.period === period && old.phase === 'leased' && old.holder === token;
    if (!ok) return { claimed: false };
    this.lease = { ...old, period, phase: 'running', connections: undefined, arrived: undefined };
    return { claimed: true, previous: old ? toLease(old) : undefined };
  }

  async claimWorker(period: number, worker: number): Promise<boolean> {
    const key = `${period}#${worker}`;
    if (this.claims.has(key)) return false;
    this.claims.add(key);
    return true;
  }

  async record(period: number, connections: number, workers: number): Promise<void> {
    if (this.lease?.period === period) Object.assign(this.lease, { connections, workers });
  }

  async release(period: number): Promise<boolean> {
    if (this.lease?.period !== period || this.lease.phase !== 'running' || this.lease.arrived) return false;
    Object.assign(this.lease, { phase: 'idle', connections: 0, workers: 1 });
    return true;
  }

  async markArrival(period: number): Promise<boolean> {
    if (this.lease?.period !== period || this.lease.phase !== 'running') return false;
    this.lease.arrived = true;
    return true;
  }

  async read(): Promise<PingerLease | undefined> {
    return this.lease ? toLease(this.lease) : undefined;
  }

  async takeLease(period: number, token: string, now: number): Promise<boolean> {
    if (!this.free(period)) return false;
    this.lease = { ...this.lease, period, phase: 'leased', holder: token, leasedAt: now };
    return true;
  }

  private free(period: number): boolean {
    const old = this.lease;
    return !old || old.period < period || (old.period === period && old.phase === 'idle');
  }
}

function toLease(stored: StoredLease): PingerLease {
  return {
    period: stored.period,
    phase: stored.phase,
    ...(stored.connections !== undefined ? { connections: stored.connections } : {}),
    ...(stored.leasedAt !== undefined ? { leasedAt: stored.leasedAt } : {}),
  };
}
