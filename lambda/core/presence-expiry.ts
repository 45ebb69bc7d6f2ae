import { Clock, Logger, ShardDispatcher } from './ports';
import { announceLeave, PresenceLeft } from './presence';

/**
 * A gone connection's presence on one stream, due to expire: written by `PresenceStore.finish`
 * (forget-connection.ts) for each record it let expire after the presence TTL.
 */
export interface PresenceExpiry {
  readonly stream: string;
  readonly id: string;
  readonly sessionKey: string;
  /** The connection that joined and went away: a re-join by the restored session names another. */
  readonly holder: string;
  /** When the record expires, epoch seconds. */
  readonly dueAt: number;
}

/** The gone sessions' presence, by the time it expires (a reserved, keyed partition: no scan). */
export interface PresenceExpiryStore {
  /** The expiries due at `nowMs` (`dueAt` × 1000 ≤ nowMs), oldest first. One keyed read. */
  dueExpiries(nowMs: number): Promise<PresenceExpiry[]>;
  /**
   * Removes the expired record once, and the expiry with it. Undefined when it is not this
   * caller's to announce: another sweeper removed it first, the session joined again (`holder`
   * differs) or left, or it has not expired. `last`: no other unexpired session holds the id.
   */
  expire(expiry: PresenceExpiry, nowMs: number): Promise<PresenceLeft | undefined>;
}

export interface PresenceSweepDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Absent (presence not wired): nothing to sweep. */
  readonly presenceExpiry?: PresenceExpiryStore;
  /** The fan-out path live leaves take (presence.ts). Absent: nothing to announce with. */
  readonly shards?: ShardDispatcher;
}

/**
 * Announces `leave` for each id whose last session expired: anycable-go's memory broker does so
 * every second (broker/memory.go `expireLoop` -> `expirePresence`: a session past its
 * `FinishPresence` deadline is removed from each stream, and when its id is left empty a transient
 * `{"type":"leave","id"}` of broadcast type `presence` goes to the stream). Here the pinger calls
 * it once a round (ping-schedule.ts): the TTL has no timer of its own, and a round runs every tick
 * whenever a connection exists to hear the leave. An id another session still holds (another
 * tab, the restored session that joined again) is not announced. Never throws: a failure is
 * logged and the expiry is tried again next round. Returns how many leaves were announced.
 */
export async function sweepPresence(deps: PresenceSweepDeps): Promise<number> {
  const { presenceExpiry: store, shards } = deps;
  if (!store || !shards) return 0;
  const nowMs = deps.clock.now();
  let due;
  try {
    due = await store.dueExpiries(nowMs);
  } catch (error) {
    deps.logger.error('presence.sweep_failed', { error });
    return 0;
  }
  let announced = 0;
  for (const expiry of due) {
    try {
      const left = await store.expire(expiry, nowMs);
      if (!left?.last) continue;
      await announceLeave(shards, left);
      announced++;
    } catch (error) {
      deps.logger.error('presence.expire_failed', { stream: expiry.stream.slice(0, 100), error });
    }
  }
  if (announced > 0) deps.logger.info('presence.expired', { due: due.length, announced });
  return announced;
}
