import { randomBytes } from 'node:crypto';
import { extBroadcastFrame, HistoryRequest, StreamPosition } from './ext-protocol';
import { HistorySettings } from './history-settings';
import { Broadcast, Clock, Logger } from './ports';

/** One stored broadcast. */
export interface StoredMessage {
  readonly offset: number;
  /** The message, JSON-encoded, as broadcast. */
  readonly data: string;
  /** Epoch ms when it was stored (for `since`). */
  readonly storedAt: number;
}

export interface AppendOptions {
  readonly nowMs: number;
  readonly ttlSeconds: number;
  /** The epoch a stream starting (again) takes. */
  readonly newEpoch: string;
}

/**
 * Where each stream is (its offset counter and epoch) and its recent messages
 * (docs/reliable-streams.md). The DynamoDB adapter keeps both in one reserved partition per stream.
 */
export interface StreamHistoryStore {
  /**
   * Takes the stream's next offset (one atomic counter update) and stores the message under it,
   * kept `ttlSeconds`. A stream without a live counter (never broadcast, or its history expired)
   * starts again at offset 1 under `newEpoch`: clients holding the old epoch are told their
   * history is gone.
   */
  append(stream: string, data: string, options: AppendOptions): Promise<StreamPosition>;
  /** The stream's latest position, read consistently; undefined when it has none (or it expired). */
  position(stream: string, nowMs: number): Promise<StreamPosition | undefined>;
  /** The unexpired messages with offsets in (after, through], in offset order: one Query. */
  read(stream: string, after: number, through: number, nowMs: number): Promise<StoredMessage[]>;
}

export interface StreamHistoryDeps {
  readonly history?: StreamHistoryStore;
  /** Absent, or `limit` 0: no history, no positions. */
  readonly config: { readonly history?: HistorySettings };
  readonly clock: Clock;
  readonly logger: Logger;
}

/** A short random epoch: it only has to differ from the stream's previous one. */
export function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}

/**
 * Gives a broadcast its stream position (and stores it) before fan-out, once, so every shard of
 * it carries the same offset. `meta.transient` broadcasts are neither stored nor positioned, as
 * in anycable-go (broker `HandleBroadcast` skips transient messages).
 */
export async function positionBroadcast(deps: StreamHistoryDeps, broadcast: Broadcast): Promise<Broadcast> {
  const { history } = deps;
  const settings = deps.config.history;
  if (!history || !settings || settings.limit === 0 || broadcast.transient || broadcast.position) return broadcast;
  const position = await history.append(broadcast.stream, broadcast.data, {
    nowMs: deps.clock.now(),
    ttlSeconds: settings.ttlSeconds,
    newEpoch: newEpoch(),
  });
  return { ...broadcast, position };
}

export type Replay =
  | { readonly kind: 'replay'; readonly frames: string[]; readonly positions: Readonly<Record<string, number>> }
  | { readonly kind: 'reject'; readonly reason: string };

/**
 * What a client missed on `streams` (one channel subscription's), as ext frames in order, and
 * each stream's offset at the time of reading (live frames start after it). Rejected when it
 * cannot be served whole: no history kept, epoch changed, offset from the future or older than
 * the history limit, or a message in between expired. A position for a stream the subscription
 * does not have is ignored. With `since` only, the stream's kept messages stored since then.
 */
export async function readMissed(deps: StreamHistoryDeps, identifier: string, streams: readonly string[], request: HistoryRequest): Promise<Replay> {
  const { history } = deps;
  const limit = deps.config.history?.limit ?? 0;
  if (!history || limit === 0) return { kind: 'reject', reason: 'history_disabled' };
  const now = deps.clock.now();
  const frames: string[] = [];
  const positions: Record<string, number> = {};
  for (const stream of streams) {
    const current = await history.position(stream, now);
    const asked = Object.prototype.hasOwnProperty.call(request.streams, stream) ? request.streams[stream] : undefined;
    positions[stream] = current?.offset ?? 0;
    if (asked) {
      if (!current) return { kind: 'reject', reason: 'history_expired' };
      if (asked.epoch !== current.epoch) return { kind: 'reject', reason: 'epoch_changed' };
      if (asked.offset > current.offset) return { kind: 'reject', reason: 'offset_from_the_future' };
      if (asked.offset < current.offset - limit) return { kind: 'reject', reason: 'offset_out_of_range' };
      if (asked.offset === current.offset) continue;
      const missed = await history.read(stream, asked.offset, current.offset, now);
      if (missed.length !== current.offset - asked.offset) return { kind: 'reject', reason: 'history_expired' };
      frames.push(...missed.map((m) => extBroadcastFrame(identifier, m.data, stream, { offset: m.offset, epoch: current.epoch })));
    } else if (request.since !== undefined && current) {
      const since = request.since * 1000;
      const kept = await history.read(stream, Math.max(0, current.offset - limit), current.offset, now);
      const epoch = current.epoch;
      const fresh = kept.filter((k) => k.storedAt >= since);
      for (const m of fresh) frames.push(extBroadcastFrame(identifier, m.data, stream, { offset: m.offset, epoch }));
    }
  }
  return { kind: 'replay', frames, positions };
}
