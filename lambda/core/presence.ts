import { createHash } from 'node:crypto';
import type { AfterSent } from './after-sent';
import { appChannelStateStream, subscribedBuiltInStream } from './channel-lookup';
import { isBuiltInChannel, parseIdentifier, PUBSUB_CHANNEL } from './channels';
import { CableConfig } from './config';
import { invalidFrame, InvalidFrameOutcome } from './invalid-frames';
import { Clock, ConnectionRecord, ConnectionStore, Logger, ShardDispatcher, SubscriptionStore } from './ports';
import { byteLength, MAX_MESSAGE_BYTES, ServerFrame } from './protocol';
import type { RpcClient } from './rpc-client';

/**
 * The channel state key naming the stream a channel's presence lives on, anycable-go's
 * `common.PRESENCE_STREAM_STATE` (common/common.go): its streams controller sets it on a `$pubsub`
 * subscribe (streams/controller.go), an app channel's RPC state (`istate`) may.
 */
export const PRESENCE_STREAM_STATE = '$p';

/** Bounds on client input (anycable-go has none; ours keep an `info` answer within API Gateway's 128 KB frame). */
export const MAX_PRESENCE_ID_BYTES = 256;
export const MAX_PRESENCE_INFO_BYTES = 2048;

/** One session's presence on one stream, as the store keeps it. */
export interface PresenceEntry {
  readonly stream: string;
  /** A hash of the session's sid (presenceSessionKey): a sid is a credential, never stored. */
  readonly sessionKey: string;
  /** The channel it joined on: a leave or unsubscribe names the identifier, not the stream. */
  readonly identifier: string;
  /** The connection that joined, so a late `$disconnect` of a restored session's old connection does not end the new one's presence. */
  readonly connectionId: string;
  /** The client's presence id: several sessions with one id are one record. */
  readonly id: string;
  /** The client's `info`, JSON-encoded; absent when it sent none. */
  readonly info?: string;
}

/** One presence id on a stream, with the info its latest join carried. */
export interface PresenceRecord {
  readonly id: string;
  readonly info?: string;
}

export interface PresenceLeft {
  readonly stream: string;
  readonly id: string;
  /** No other unexpired session holds the id: the stream is told it left. */
  readonly last: boolean;
}

/**
 * Presence records (anycable-go's broker `PresenceAdd`/`PresenceRemove`/`PresenceInfo`/`FinishPresence`),
 * kept per (stream, id, session) with an expiry in epoch seconds; expired ones count as gone
 * whether or not the backend has removed them yet.
 */
export interface PresenceStore {
  /**
   * Records the session under `entry.id`, live until `expiresAt`. `joined`: no other unexpired
   * session held the id (announce it); `present`: one did (its own earlier join, a restored or
   * second tab); `id_mismatch`: this session holds another id on this identifier (nothing changed).
   */
  join(entry: PresenceEntry, nowMs: number, expiresAt: number): Promise<'joined' | 'present' | 'id_mismatch'>;
  /** Removes the session's presence on `identifier`; undefined when it had none. */
  leave(sessionKey: string, identifier: string, nowMs: number): Promise<PresenceLeft | undefined>;
  /** The stream's unexpired ids, one record each. */
  info(stream: string, nowMs: number): Promise<PresenceRecord[]>;
  /**
   * The connection is gone: what it joined expires at `expiresAt` unless the session joins again,
   * and is listed for the pinger's sweep (presence-expiry.ts). Reads the session's own partition, no scan.
   */
  finish(sessionKey: string, connectionId: string, expiresAt: number): Promise<void>;
}

export interface PresenceDeps {
  readonly config: CableConfig;
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Absent: every presence command is refused. */
  readonly presence?: PresenceStore;
  /** Announces joins and leaves through the fan-out function, as whispers go. Absent: refused. */
  readonly shards?: ShardDispatcher;
  readonly rpc?: RpcClient;
}

/** The key a session's presence is stored under: a plain client's connection id, an ext client's sid, hashed. */
export function presenceSessionKey(record: Pick<ConnectionRecord, 'connectionId' | 'sid'>): string {
  return createHash('sha256').update(record.sid ?? record.connectionId).digest('base64url');
}

/**
 * `join`, `leave` and `presence` (anycable-go's node.go `PresenceJoin`, `PresenceLeave`,
 * `Presence`). The channel must be subscribed and have a presence stream (`$pubsub` with
 * `stream_name` always, with `signed_stream_name` only with `streamsPresence`; an app channel
 * whose state names one under `$p`). Join and leave events are transient broadcasts of type
 * `presence` to every subscriber of the stream, the sender included; `info` answers the sender.
 *
 * Every refusal (not subscribed, no presence stream, bad input, another id for this session)
 * answers `{"type":"presence","identifier","message":{"type":"error"}}` and counts as an invalid
 * frame. anycable-go answers `error` only when its broker fails, and otherwise only logs; the
 * answer here keeps `@anycable/core`'s `presence.info()` from waiting forever.
 */
export async function presenceCommand(
  deps: PresenceDeps, connectionId: string, command: 'join' | 'leave' | 'presence', identifier: string, presence: unknown,
): Promise<PresenceOutcome> {
  const found = await presenceStream(deps, connectionId, identifier);
  if ('refused' in found) return refuse(deps, connectionId, identifier, found.refused);
  const { stream, record, store, shards } = found;
  const nowMs = deps.clock.now();
  if (command === 'presence') return { frames: [infoFrame(identifier, await store.info(stream, nowMs))], close: false };
  if (command === 'leave') {
    const left = await leavePresence({ presence: store, shards }, presenceSessionKey(record), identifier, nowMs);
    if (!left) return refuse(deps, connectionId, identifier, 'presence_not_joined');
    return { frames: [], close: false };
  }
  const member = parseMember(presence);
  if (typeof member === 'string') return refuse(deps, connectionId, identifier, member);
  const joined = await joinPresence({ ...deps, presence: store, shards }, record, stream, identifier, member);
  if (joined === 'id_mismatch') return refuse(deps, connectionId, identifier, 'presence_id_mismatch');
  return { frames: [], close: false, ...(joined.announce ? { afterSent: joined.announce } : {}) };
}

/** A presence command's outcome; a join's announcement runs once the reply's frames are sent. */
export type PresenceOutcome = InvalidFrameOutcome & { readonly afterSent?: AfterSent };

/** A presence id with its `info`, JSON-encoded (parseMember). */
export type PresenceMember = { readonly id: string; readonly info?: string };

/** What joinPresence needs. */
export interface JoinDeps {
  readonly presence: PresenceStore;
  readonly shards: ShardDispatcher;
  readonly connections: Pick<ConnectionStore, 'markPresence'>;
  readonly config: Pick<CableConfig, 'ttlSeconds'>;
  readonly clock: Clock;
}

/**
 * One session joins `stream` under `member`, for a client's `join` (or `subscribe` with
 * `presence`) and for the app's RPC reply alike (app-presence.ts). The connection's row is marked
 * at its first join: forget-connection.ts reads presence only for marked rows, so without the mark
 * a gone connection's presence would never expire with a leave. When the id is new on the stream,
 * `announce` sends its `join`: the caller runs it once the reply's frames are out, because in AWS
 * the announcement is a fan-out racing the handler's own post, and `@anycable/core` drops a
 * channel's messages until its `confirm_subscription` arrives.
 */
export async function joinPresence(
  deps: JoinDeps,
  record: ConnectionRecord,
  stream: string,
  identifier: string,
  member: PresenceMember,
): Promise<'id_mismatch' | { readonly announce?: () => Promise<void> }> {
  const { connectionId } = record;
  if (!record.presenceJoined) await deps.connections.markPresence(connectionId);
  const nowMs = deps.clock.now();
  const expiresAt = Math.floor(nowMs / 1000) + deps.config.ttlSeconds;
  const joined = await deps.presence.join({ stream, sessionKey: presenceSessionKey(record), identifier, connectionId, ...member }, nowMs, expiresAt);
  if (joined === 'id_mismatch') return joined;
  if (joined !== 'joined') return {};
  const event = { type: 'join', id: member.id, ...(member.info !== undefined ? { info: JSON.parse(member.info) } : {}) };
  return { announce: () => announcePresence(deps.shards, stream, event) };
}

/**
 * The session's presence on `identifier` goes, and its `leave` is announced when it held the
 * id's last session; undefined when it had none. A client's `leave` and `unsubscribe`, the app's
 * RPC reply (app-presence.ts).
 */
export async function leavePresence(
  deps: { readonly presence: PresenceStore; readonly shards: ShardDispatcher },
  sessionKey: string,
  identifier: string,
  nowMs: number,
): Promise<PresenceLeft | undefined> {
  const left = await deps.presence.leave(sessionKey, identifier, nowMs);
  if (left?.last) await announceLeave(deps.shards, left);
  return left;
}

/** The `leave` of an id whose last session went (leavePresence, and the TTL's sweep: presence-expiry.ts). */
export async function announceLeave(shards: ShardDispatcher, left: PresenceLeft): Promise<void> {
  await announcePresence(shards, left.stream, { type: 'leave', id: left.id });
}

/**
 * After an unsubscribe: its presence goes at once (node.go `Unsubscribe` calls `PresenceRemove`).
 * Quiet: a channel without presence has nothing to leave. A built-in channel that cannot have
 * presence costs no read.
 */
export async function leaveOnUnsubscribe(deps: PresenceDeps, connectionId: string, identifier: string): Promise<void> {
  if (!deps.presence || !deps.shards) return;
  if (isBuiltInChannel(identifier) && !mayHavePresence(deps.config, identifier)) return;
  const record = await deps.connections.get(connectionId);
  if (!record) return;
  await leavePresence({ presence: deps.presence, shards: deps.shards }, presenceSessionKey(record), identifier, deps.clock.now());
}

/** The `presence` field of a `join` (or `subscribe`): an id, a JSON info within the bounds. */
export function parseMember(presence: unknown): PresenceMember | string {
  if (typeof presence !== 'object' || presence === null || Array.isArray(presence)) return 'presence_missing';
  const { id, info } = presence as Record<string, unknown>;
  if (typeof id !== 'string' || id.length === 0) return 'presence_id_missing';
  if (byteLength(id) > MAX_PRESENCE_ID_BYTES) return 'presence_id_too_long';
  if (info === undefined || info === null) return { id };
  const encoded = JSON.stringify(info);
  if (byteLength(encoded) > MAX_PRESENCE_INFO_BYTES) return 'presence_info_too_large';
  return { id, info: encoded };
}

/**
 * `{"type":"presence","identifier","message":{"type":"info","total","records"}}` (common.go
 * `PresenceInfo`). `total` counts every id; records past what fits API Gateway's 128 KB frame are
 * left out (ordered by id), so `total` may exceed `records.length` on a very large stream.
 */
export function infoFrame(identifier: string, records: readonly PresenceRecord[]): ServerFrame {
  const sorted = [...records].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const head = { type: 'presence' as const, identifier, message: { type: 'info', total: sorted.length, records: [] as unknown[] } };
  // The frame's bytes without records, plus each record and its comma; a margin for the count's digits.
  let size = byteLength(JSON.stringify(head)) + 16;
  for (const record of sorted) {
    const value = { id: record.id, ...(record.info !== undefined ? { info: JSON.parse(record.info) } : {}) };
    size += byteLength(JSON.stringify(value)) + 1;
    if (size > MAX_MESSAGE_BYTES) break;
    head.message.records.push(value);
  }
  return head;
}

/** A join or leave event to every subscriber of `stream`, each under its own identifier. */
async function announcePresence(shards: ShardDispatcher, stream: string, event: Record<string, unknown>): Promise<void> {
  // Transient: never in the stream's history, no offset (anycable-go: `Meta.Transient`, `BroadcastType: "presence"`).
  await shards.dispatch({ broadcast: { stream, data: JSON.stringify(event), transient: true, broadcastType: 'presence' } });
}

async function refuse(deps: PresenceDeps, connectionId: string, identifier: string, reason: string): Promise<InvalidFrameOutcome> {
  const counted = await invalidFrame(deps, connectionId, reason, { identifier: identifier.slice(0, 100) });
  if (counted.close) return counted;
  return { frames: [{ type: 'presence', identifier, message: { type: 'error' } }], close: false };
}

interface Found {
  readonly stream: string;
  readonly record: ConnectionRecord;
  readonly store: PresenceStore;
  readonly shards: ShardDispatcher;
}

/** The presence stream of the subscribed channel `identifier`, or why none. */
async function presenceStream(deps: PresenceDeps, connectionId: string, identifier: string): Promise<Found | { readonly refused: string }> {
  if (!deps.presence || !deps.shards) return { refused: 'presence_unavailable' };
  const builtIn = isBuiltInChannel(identifier);
  if (builtIn && !mayHavePresence(deps.config, identifier)) return { refused: 'no_presence' };
  if (!builtIn && !deps.rpc) return { refused: 'presence_unknown_channel' };
  // Its sid keys the presence (a restored session keeps it); a connection without a row cannot join.
  const record = await deps.connections.get(connectionId);
  if (!record) return { refused: 'presence_unknown_connection' };
  const base = { record, store: deps.presence, shards: deps.shards };
  const found = builtIn
    ? await subscribedBuiltInStream(deps, connectionId, identifier)
    : appChannelStateStream(record, identifier, PRESENCE_STREAM_STATE);
  if (typeof found === 'string') return { stream: found, ...base };
  return { refused: found.refused === 'not_in_state' ? 'no_presence' : `presence_${found.refused}` };
}

/** streams/controller.go `NewStreamsController`: public `$pubsub` streams always, signed ones with the option, Turbo never. */
function mayHavePresence(config: CableConfig, identifier: string): boolean {
  const params = parseIdentifier(identifier);
  if (!params || params.channel !== PUBSUB_CHANNEL) return false;
  return typeof params.signed_stream_name !== 'string' || config.streamsPresence;
}
