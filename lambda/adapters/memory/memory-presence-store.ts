import { PresenceEntry, PresenceLeft, PresenceRecord, PresenceStore } from '../../core/presence';
import { PresenceExpiry, PresenceExpiryStore } from '../../core/presence-expiry';

interface Held extends PresenceEntry {
  expiresAt: number;
  joinedAtMs: number;
}

/** Presence in memory, with the DynamoDB adapter's semantics (expired records count as gone). */
export class MemoryPresenceStore implements PresenceStore, PresenceExpiryStore {
  /** By session key, then identifier: what each session joined. */
  private readonly sessions = new Map<string, Map<string, Held>>();
  /** What gone connections let expire, until swept. */
  private expiries: PresenceExpiry[] = [];

  async join(entry: PresenceEntry, nowMs: number, expiresAt: number): Promise<'joined' | 'present' | 'id_mismatch'> {
    const mine = this.sessions.get(entry.sessionKey) ?? new Map<string, Held>();
    const previous = mine.get(entry.identifier);
    if (previous && live(previous, nowMs) && previous.id !== entry.id) return 'id_mismatch';
    const present = this.live(nowMs).some((held) => held.stream === entry.stream && held.id === entry.id);
    mine.set(entry.identifier, { ...entry, expiresAt, joinedAtMs: nowMs });
    this.sessions.set(entry.sessionKey, mine);
    return present ? 'present' : 'joined';
  }

  async leave(sessionKey: string, identifier: string, nowMs: number): Promise<PresenceLeft | undefined> {
    const held = this.sessions.get(sessionKey)?.get(identifier);
    if (!held) return undefined;
    this.sessions.get(sessionKey)!.delete(identifier);
    if (!live(held, nowMs)) return undefined;
    const last = !this.live(nowMs).some((other) => other.stream === held.stream && other.id === held.id);
    return { stream: held.stream, id: held.id, last };
  }

  async info(stream: string, nowMs: number): Promise<PresenceRecord[]> {
    const latest = new Map<string, Held>();
    for (const held of this.live(nowMs)) {
      if (held.stream !== stream) continue;
      const seen = latest.get(held.id);
      if (!seen || seen.joinedAtMs <= held.joinedAtMs) latest.set(held.id, held);
    }
    return [...latest.values()].map(({ id, info }) => ({ id, ...(info !== undefined ? { info } : {}) }));
  }

  async finish(sessionKey: string, connectionId: string, expiresAt: number): Promise<void> {
    for (const held of this.sessions.get(sessionKey)?.values() ?? []) {
      if (held.connectionId !== connectionId || held.expiresAt <= expiresAt) continue;
      held.expiresAt = expiresAt;
      this.expiries.push({ stream: held.stream, id: held.id, sessionKey, holder: connectionId, dueAt: expiresAt });
    }
  }

  async dueExpiries(nowMs: number): Promise<PresenceExpiry[]> {
    return this.expiries.filter((expiry) => expiry.dueAt * 1000 <= nowMs).sort((a, b) => a.dueAt - b.dueAt);
  }

  async expire(expiry: PresenceExpiry, nowMs: number): Promise<PresenceLeft | undefined> {
    if (expiry.dueAt * 1000 > nowMs) return undefined;
    this.expiries = this.expiries.filter((other) => !sameExpiry(other, expiry));
    const mine = this.sessions.get(expiry.sessionKey);
    const gone = [...mine?.entries() ?? []].filter(([, held]) =>
      held.stream === expiry.stream && held.id === expiry.id && held.connectionId === expiry.holder && !live(held, nowMs));
    // Removing the record is what makes it once: a second call finds nothing gone.
    if (gone.length === 0) return undefined;
    for (const [identifier] of gone) mine!.delete(identifier);
    const last = !this.live(nowMs).some((other) => other.stream === expiry.stream && other.id === expiry.id);
    return { stream: expiry.stream, id: expiry.id, last };
  }

  private live(nowMs: number): Held[] {
    return [...this.sessions.values()].flatMap((mine) => [...mine.values()]).filter((held) => live(held, nowMs));
  }
}

function live(held: Held, nowMs: number): boolean {
  return held.expiresAt * 1000 > nowMs;
}

function sameExpiry(a: PresenceExpiry, b: PresenceExpiry): boolean {
  return a.stream === b.stream && a.id === b.id && a.sessionKey === b.sessionKey && a.holder === b.holder && a.dueAt === b.dueAt;
}
