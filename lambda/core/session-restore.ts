import { createHash } from 'node:crypto';
import { CableConfig } from './config';
import { identifyByJwt } from './jwt-identification';
import { ChannelRecord, Clock, ConnectionRecord, ConnectionStore, Logger, SubscriptionKey, SubscriptionStore } from './ports';
import { ConnectRequest } from './request';

/**
 * AnyCable's resumable sessions (https://docs.anycable.io/anycable-go/reliable_streams, "Resumable
 * sessions"): an ext client that lost its connection reconnects with its last `sid` and gets its
 * identifiers, connection and channel state and subscriptions back without the app's RPC
 * `connect`, then asks for what it missed with the `history` command (history-replay.ts).
 * anycable-go reads the old sid from the `X-ANYCABLE-RESTORE-SID` header, else the `sid` query
 * parameter (cli/session_options.go), and answers `welcome` with `restored: true` and
 * `restored_ids` (node/node.go `TryRestoreSession`).
 *
 * Where this differs from anycable-go, on purpose (docs/reliable-streams.md):
 * - a session is saved once, when its connection is forgotten (`$disconnect`), not after every
 *   change: that write is the only cost, and nothing else needs it;
 * - a sid restores once: the snapshot is taken (deleted) by the first restore, which gets a new
 *   sid; anycable-go keeps it until its TTL. A sid is a credential, so a copy is worth less;
 * - with JWT identification a token in the restoring request (required with `enforceJwt`) must
 *   still be valid and name the same identifiers; otherwise the connection is identified afresh.
 * The store keys a session by a hash of its sid, so reading the table does not give one away.
 */
export interface SessionSnapshot {
  readonly identifiers?: string;
  readonly cstate: Readonly<Record<string, string>>;
  readonly channels: Readonly<Record<string, ChannelRecord>>;
  /** Every subscription row the connection had: built-in channels' and the app's streams. */
  readonly subscriptions: ReadonlyArray<{ readonly identifier: string; readonly stream: string }>;
}

export interface SessionStore {
  /** Keeps `snapshot` under `key` until `expiresAt` (epoch seconds). */
  save(key: string, snapshot: SessionSnapshot, expiresAt: number): Promise<void>;
  /** Removes and returns the snapshot under `key`: one caller of several gets it; none when it expired by `nowMs`. */
  take(key: string, nowMs: number): Promise<SessionSnapshot | undefined>;
}

/** anycable-go's names for the previous session's id. */
export const RESTORE_SID_HEADER = 'x-anycable-restore-sid';
export const RESTORE_SID_PARAM = 'sid';

/** newSessionId() makes 22 base64url characters; anything else is no sid of ours. */
const SID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/**
 * What a session is stored under: SHA-256 of the sid. The sid has 128 random bits, so an
 * unsalted hash cannot be reversed, and whoever reads the table cannot restore a session.
 */
export function sessionKey(sid: string): string {
  return createHash('sha256').update(sid).digest('base64url');
}

/** The sid a connecting client asks to restore, if it names one that could be ours. */
export function requestedSid(request: Pick<ConnectRequest, 'headers' | 'query'>): string | undefined {
  const sid = request.headers[RESTORE_SID_HEADER] ?? request.query[RESTORE_SID_PARAM];
  return sid !== undefined && SID_PATTERN.test(sid) ? sid : undefined;
}

/** Where and for how long gone connections' sessions are kept (`history.sessionsTtlSeconds`). */
export interface SessionKeeping {
  readonly store: SessionStore;
  readonly clock: Clock;
  /** 0: none is kept. */
  readonly ttlSeconds: number;
}

/**
 * DynamoDB items hold at most 400 KB; a snapshot over this is not saved (the client then connects
 * afresh and resubscribes, as without restore). 300 subscriptions with 1 KB identifiers fit.
 */
export const MAX_SNAPSHOT_BYTES = 350 * 1024;

/**
 * Keeps a forgotten ext connection's session for `history.sessionsTtlSeconds`; plain clients have
 * no sid and cannot restore. Best effort: a failure is logged, and the client reconnects afresh.
 */
export async function saveSession(
  keeping: SessionKeeping,
  logger: Logger,
  record: ConnectionRecord,
  removed: readonly SubscriptionKey[],
): Promise<void> {
  const { ttlSeconds } = keeping;
  // Plain clients cannot restore; a connection the server closed on purpose must not come back.
  if (record.sid === undefined || record.noRestore === true || ttlSeconds === 0) return;
  const snapshot: SessionSnapshot = {
    ...(record.identifiers !== undefined ? { identifiers: record.identifiers } : {}),
    cstate: record.cstate ?? {},
    channels: record.channels ?? {},
    subscriptions: removed.map(({ identifier, stream }) => ({ identifier, stream })),
  };
  const bytes = Buffer.byteLength(JSON.stringify(snapshot));
  if (bytes > MAX_SNAPSHOT_BYTES) {
    logger.warn('session.not_saved', { connectionId: record.connectionId, reason: 'too_large', bytes });
    return;
  }
  try {
    await keeping.store.save(sessionKey(record.sid), snapshot, Math.ceil(keeping.clock.now() / 1000) + ttlSeconds);
  } catch (error) {
    logger.warn('session.not_saved', { connectionId: record.connectionId, reason: 'store_failed', message: (error as Error).message });
  }
}

/**
 * The session a connecting ext client asks to restore, taken from the store, or undefined: none
 * asked, none kept (expired, restored already, never saved), or its identification no longer
 * holds. Never logs the sid.
 */
export async function takeSession(
  deps: { readonly sessions: SessionStore; readonly config: CableConfig; readonly logger: Logger },
  request: ConnectRequest,
  nowMs: number,
): Promise<SessionSnapshot | undefined> {
  if (deps.config.history.sessionsTtlSeconds === 0) return undefined;
  const sid = requestedSid(request);
  if (sid === undefined) return undefined;
  const snapshot = await deps.sessions.take(sessionKey(sid), nowMs);
  if (!snapshot) {
    deps.logger.info('session.not_restored', { connectionId: request.connectionId, reason: 'unknown_or_expired' });
    return undefined;
  }
  const jwt = deps.config.jwt;
  if (jwt) {
    // What `$connect` would check again: a token, if the request carries one (or must), that is
    // valid now and names the same identifiers. A client reconnects with the URL it used, token
    // included; without `enforceJwt` a request without one restores as it would connect.
    const checked = identifyByJwt(jwt, request, nowMs);
    const still = checked.kind === 'none' || (checked.kind === 'identified' && checked.identifiers === snapshot.identifiers);
    if (!still) {
      deps.logger.info('session.not_restored', { connectionId: request.connectionId, reason: 'jwt_changed' });
      return undefined;
    }
  }
  return snapshot;
}

/** The `welcome` of a restored session: its new sid, and the channels it is subscribed to again. */
export function restoredWelcome(sid: string, restoredIds: readonly string[]): string {
  return JSON.stringify({ type: 'welcome', sid, restored: true, restored_ids: restoredIds });
}

/** The channel subscriptions a snapshot restores: built-in channels' and the app's, each once. */
export function restoredIdentifiers(snapshot: SessionSnapshot): string[] {
  return [...new Set([...snapshot.subscriptions.map((s) => s.identifier), ...Object.keys(snapshot.channels)])];
}

/**
 * How long a restored connection's rows hold fan-out. Long enough for `$connect` to return (API
 * Gateway answers a post to a connection still connecting with 410, which would make fan-out
 * forget the new connection) and for the client to get its welcome and ask for what it missed
 * with the `history` command, which holds the rows again for its replay and releases them after
 * it (history-replay.ts): `@anycable/core` sends it as soon as the welcome arrives. Short enough
 * that a client that never asks (anyt's restore scenario) gets live broadcasts within its 5 s.
 * A history command later than this may replay what was meanwhile sent live.
 */
export const RESTORE_CONNECT_HOLD_MS = 3_000;

export interface RestoreRowsDeps {
  readonly subscriptions: SubscriptionStore;
  readonly connections: ConnectionStore;
  readonly config: Pick<CableConfig, 'ttlSeconds' | 'limits'>;
  readonly clock: Clock;
}

/**
 * The restored connection's subscription rows, held (RESTORE_CONNECT_HOLD_MS), and its
 * subscription count, as `subscribe` would have left them.
 */
export async function restoreSubscriptions(deps: RestoreRowsDeps, connectionId: string, sid: string, snapshot: SessionSnapshot): Promise<void> {
  const now = deps.clock.now();
  const expiresAt = Math.floor(now / 1000) + deps.config.ttlSeconds;
  const holdUntil = now + RESTORE_CONNECT_HOLD_MS;
  await Promise.all(snapshot.subscriptions.map(({ identifier, stream }) => deps.subscriptions.add({
    stream,
    connectionId,
    identifier,
    expiresAt,
    sid,
    holdUntil,
  })));
  const max = deps.config.limits.maxSubscriptionsPerConnection;
  for (const _ of restoredIdentifiers(snapshot)) await deps.connections.reserveSubscription(connectionId, max);
}
