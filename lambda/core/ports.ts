/** The ports the protocol core needs from the outside world; adapters implement them. */
import type { StreamPosition } from './ext-protocol';

export interface ConnectionRecord {
  readonly connectionId: string;
  /** Epoch milliseconds. */
  readonly connectedAt: number;
  /** Epoch seconds after which the row may be expired by TTL. */
  readonly expiresAt: number;
  readonly subprotocol: string;
  /**
   * Ext clients' session id (ext-protocol.ts): random, a credential for the session restore to
   * come, so never logged. Absent for plain clients, whose `sid` is the connection id.
   */
  readonly sid?: string;
  /** Request headers, lower-cased names, size-bounded (see `boundRequest`). */
  readonly headers: Readonly<Record<string, string>>;
  /** Query string parameters (first value of each). */
  readonly query: Readonly<Record<string, string>>;
  /** The URL the client connected to, when known. */
  readonly url?: string;
  /** The ping interval the client asked for (`?pi=`), within the configured bounds; absent: the default. */
  readonly pingIntervalSeconds?: number;
  /**
   * The connection's identifiers JSON (what `identified_by` values serialize to in Rails), which a
   * remote disconnect matches exactly. Absent for anonymous connections (no JWT, no RPC).
   */
  readonly identifiers?: string;
  /** The client's address (API Gateway's `sourceIp`), passed to RPC as `REMOTE_ADDR`. */
  readonly remoteAddress?: string;
  /** AnyCable connection state (`cstate`), kept between RPC calls. */
  readonly cstate?: Readonly<Record<string, string>>;
  /** The app-defined (RPC) channels this connection is subscribed to, by identifier. */
  readonly channels?: Readonly<Record<string, ChannelRecord>>;
  /**
   * The server closed it on purpose (a remote disconnect, the app's `disconnect`): its session is
   * not kept for restore, or a client that kept its sid would undo what the app decided.
   */
  readonly noRestore?: boolean;
  /** It joined presence at least once (presence.ts): only then does its disconnect read what it joined. */
  readonly presenceJoined?: boolean;
}

/** One subscription to an app-defined channel. */
export interface ChannelRecord {
  /** AnyCable channel state (`istate`), kept between RPC calls. */
  readonly state: Readonly<Record<string, string>>;
  /** The streams the app started for it (`stream_from`), so they can be stopped by key. */
  readonly streams: readonly string[];
}

/** Applies state changes as the stores and the core do: an empty value deletes the key (common.go `MergeConnectionState`). */
export function mergeState(current: Readonly<Record<string, string>>, changes: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const merged: Record<string, string> = { ...current };
  for (const [key, value] of Object.entries(changes ?? {})) {
    if (value === '') delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

/** A change to a connection's RPC state, written in one conditional update. */
export interface ConnectionStateUpdate {
  /** Merged key by key; an empty value deletes the key (as anycable-go merges `cstate`). */
  readonly cstate?: Readonly<Record<string, string>>;
  /** Replaces (or, with `record` undefined, removes) one channel's record. */
  readonly channel?: {
    readonly identifier: string;
    readonly record?: ChannelRecord;
    /** Write only if the channel is still subscribed: a late command must not bring back an unsubscribed channel. */
    readonly onlyIfSubscribed?: boolean;
  };
}

/** What the pinger reads of a connection: nothing else, so a round reads few bytes per connection. */
export interface PingCandidate {
  readonly connectionId: string;
  /** Epoch milliseconds. */
  readonly connectedAt: number;
  readonly pingIntervalSeconds?: number;
}

export interface PingCandidatePage {
  readonly items: PingCandidate[];
  /** Opaque; absent on the segment's last page. */
  readonly cursor?: string;
}

export interface ConnectionStore {
  put(record: ConnectionRecord): Promise<void>;
  get(connectionId: string): Promise<ConnectionRecord | undefined>;
  /** Removes the row; returns it as it was, or undefined when there was none (so one caller of several wins). */
  delete(connectionId: string): Promise<ConnectionRecord | undefined>;
  /**
   * One page of one segment of every connection (`segment` from 0 to `totalSegments - 1`): the
   * segments split the connections between them, each one exactly once, so they can be read in
   * parallel. A connection added or removed while a segment is read may or may not be listed.
   */
  listForPing(segment: number, totalSegments: number, cursor?: string): Promise<PingCandidatePage>;
  /** The ids of the connections whose `identifiers` equal these exactly (an index may lag a moment). */
  findByIdentifiers(identifiers: string): Promise<string[]>;
  /**
   * Applies an RPC state change atomically; concurrent updates of other keys and channels are
   * kept. `connection_gone`: no such connection; `channel_gone`: `onlyIfSubscribed` and it is not.
   */
  updateState(connectionId: string, update: ConnectionStateUpdate): Promise<'updated' | 'connection_gone' | 'channel_gone'>;
  /**
   * Takes one of the connection's `max` subscription slots: one atomic conditional increment of
   * its count, so concurrent subscribes never take more than `max`. False, changing nothing, when
   * every slot is taken or there is no such connection.
   */
  reserveSubscription(connectionId: string, max: number): Promise<boolean>;
  /** Gives a slot back (the count never goes below zero); a gone connection is not an error. */
  releaseSubscription(connectionId: string): Promise<void>;
  /**
   * Counts one invalid frame from the connection (an atomic increment); returns the count so far,
   * or undefined, changing nothing, when there is no such connection.
   */
  countInvalidFrame(connectionId: string): Promise<number | undefined>;
  /** Sets `noRestore` on the row before the server closes the connection on purpose; a gone row is not an error. */
  forbidRestore(connectionId: string): Promise<void>;
  /** Sets `presenceJoined` on the row, before its first presence join is stored; a gone row is not an error. */
  markPresence(connectionId: string): Promise<void>;
}

export interface Subscription {
  readonly stream: string;
  readonly connectionId: string;
  /** The channel identifier as the client sent it. */
  readonly identifier: string;
  /** Epoch seconds, for TTL. */
  readonly expiresAt: number;
  /**
   * The subscriber's session id when it speaks the ext protocol: fan-out sends it stream positions
   * and `exclude_socket` may name it. On the row so fan-out needs no read of the connection.
   */
  readonly sid?: string;
  /**
   * Epoch ms: a history replay to this subscriber is under way (history-replay.ts); fan-out of a
   * positioned broadcast waits until it is released (or this passes) so the replay comes first.
   */
  readonly holdUntil?: number;
  /** The first offset fan-out sends live; earlier ones were part of the replay. */
  readonly liveFrom?: number;
}

export interface SubscriptionPage {
  readonly items: Subscription[];
  /** Opaque; absent on the last page. */
  readonly cursor?: string;
}

/** The key of one subscription row. */
export type SubscriptionKey = Pick<Subscription, 'stream' | 'connectionId' | 'identifier'>;

export interface SubscriptionStore {
  /** Idempotent: a second add of the same (stream, connection, identifier) creates nothing. */
  add(subscription: Subscription): Promise<'created' | 'exists'>;
  /** Whether this row exists, read consistently (a row written a moment ago is seen). */
  has(key: SubscriptionKey): Promise<boolean>;
  /** The row, read consistently; undefined when there is none. */
  get(key: SubscriptionKey): Promise<Subscription | undefined>;
  /** Holds an existing row for a replay until `untilMs` (replay-hold.ts); false when there is no such row. */
  hold(key: SubscriptionKey, untilMs: number): Promise<boolean>;
  /** Ends a replay's hold: removes `holdUntil`, sets `liveFrom` when given; a gone row is not an error. */
  release(key: SubscriptionKey, liveFrom?: number): Promise<void>;
  /** Deletes this row by key; true only for the one caller that deleted it (so a slot is given back once). */
  delete(key: SubscriptionKey): Promise<boolean>;
  /**
   * Removes every stream of one channel subscription; returns the streams whose rows are gone.
   * `knownStreams` are deleted by key too: an index may not show a row written a moment ago.
   */
  remove(connectionId: string, identifier: string, knownStreams?: string[]): Promise<string[]>;
  /** Removes these streams of one channel subscription, by key. */
  removeStreams(connectionId: string, identifier: string, streams: string[]): Promise<void>;
  /** Removes every subscription of a connection; returns the rows that went (a restorable session keeps them). */
  removeAll(connectionId: string): Promise<SubscriptionKey[]>;
  /** One page of a stream's subscribers (never a full scan). */
  listByStream(stream: string, cursor?: string, limit?: number): Promise<SubscriptionPage>;
}

export interface Transport {
  /** Throws `ConnectionGoneError` when the connection is gone or not yet open. */
  send(connectionId: string, data: string): Promise<void>;
  /** Closes the socket; a gone connection is not an error. */
  close(connectionId: string): Promise<void>;
}

/** Sends frames to a connection as soon as it can receive them (after `$connect` completes). */
export interface DeferredDelivery {
  deliverLater(request: DeliveryRequest): Promise<void>;
}

export interface DeliveryRequest {
  readonly connectionId: string;
  readonly frames: string[];
  /** Epoch milliseconds after which a still-unopened connection is given up. */
  readonly deadline: number;
  /** Close the connection once the frames are sent (a refused identification). */
  readonly close?: boolean;
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export type LogFields = Record<string, unknown>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** One message for one stream, as AnyCable's broadcast API carries it. */
export interface Broadcast {
  readonly stream: string;
  /** The message, JSON-encoded (AnyCable's `data`): it becomes the frame's `message` verbatim. */
  readonly data: string;
  /** AnyCable's `meta.transient`: not stored in the stream's history, no position. */
  readonly transient?: boolean;
  /** The stream position it was given (stream-history.ts); absent: transient, or no history kept. */
  readonly position?: StreamPosition;
  /** AnyCable's `meta.exclude_socket`: the `sid` (a plain client's connection id, an ext client's session id) not to deliver to. */
  readonly excludeConnectionId?: string;
  /** anycable-go's `meta.broadcast_type`: the frame's `type` (`presence` for join and leave events, presence.ts); only the server sets it. */
  readonly broadcastType?: string;
}

/** A slice of a stream's subscribers, delivered by whoever receives the dispatch. */
export interface ShardRequest {
  readonly broadcast: Broadcast;
  /** Where the slice starts (`SubscriptionStore.listByStream` cursor); absent for the first. */
  readonly cursor?: string;
  /** How many subscribers from `cursor`; absent: to the stream's end (a whisper, whisper.ts, is one request). */
  readonly limit?: number;
}

/** Hands shards of a large stream to parallel workers (async Lambda invocations in AWS). */
export interface ShardDispatcher {
  dispatch(shard: ShardRequest): Promise<void>;
}
