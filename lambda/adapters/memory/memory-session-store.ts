import { SessionSnapshot, SessionStore } from '../../core/session-restore';

/** Sessions in memory, with the DynamoDB adapter's semantics: taken once, gone when expired. */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, { readonly snapshot: string; readonly expiresAt: number }>();

  async save(key: string, snapshot: SessionSnapshot, expiresAt: number): Promise<void> {
    // Stored as JSON, as in DynamoDB: what is restored is a copy, not the connection's objects.
    this.sessions.set(key, { snapshot: JSON.stringify(snapshot), expiresAt });
  }

  async take(key: string, nowMs: number): Promise<SessionSnapshot | undefined> {
    const entry = this.sessions.get(key);
    this.sessions.delete(key);
    return entry && entry.expiresAt * 1000 > nowMs ? JSON.parse(entry.snapshot) as SessionSnapshot : undefined;
  }
}
