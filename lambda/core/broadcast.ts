import { broadcastFrame, fitsMessageQuota } from './broadcast-frame';
import { CableConfig } from './config';
import { extBroadcastFrame } from './ext-protocol';
import { FanOutTally } from './fan-out-tally';
import { forgetConnection } from './forget-connection';
import { Broadcast, Clock, ConnectionStore, Logger, ShardDispatcher, ShardRequest, Subscription, SubscriptionPage, SubscriptionStore, Transport } from './ports';
import type { PresenceStore } from './presence';
import { MAX_MESSAGE_BYTES } from './protocol';
import { afterHold } from './replay-hold';
import { RetryingSender } from './retrying-sender';
import type { RpcClient } from './rpc-client';
import { positionBroadcast, StreamHistoryStore } from './stream-history';
import { WorkQueue } from './work-queue';

export interface FanOutDeps {
  readonly subscriptions: SubscriptionStore;
  readonly connections: ConnectionStore;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: Pick<CableConfig, 'delivery'> & Partial<Pick<CableConfig, 'rpc' | 'history' | 'presenceTtlSeconds'>>;
  /** Stream positions and history for ext clients (stream-history.ts); absent: none. */
  readonly history?: StreamHistoryStore;
  /** The app's RPC, told of connections found gone (forget-connection.ts). */
  readonly rpc?: RpcClient;
  /** What a connection found gone joined expires after the presence TTL (forget-connection.ts). */
  readonly presence?: PresenceStore;
  /**
   * Subscribers asked for per `listByStream` call. Small enough that posting starts soon; DynamoDB
   * bills a Query by bytes read, not by call, so smaller pages cost no more.
   * @default 1000
   */
  readonly pageSize?: number;
  /** Source of the retry jitter, in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/** Part of a stream: from `cursor` (the start when absent), at most `limit` subscribers (all when absent). */
export interface FanOutSlice {
  readonly cursor?: string;
  readonly limit?: number;
}

export interface FanOutResult {
  /** Subscription rows read, the excluded one included. */
  readonly subscribers: number;
  readonly delivered: number;
  /** Answered 410: the connection row and its subscriptions were removed. */
  readonly gone: number;
  /** Not delivered for another reason (retries exhausted, permanent error, frame over 128 KB). */
  readonly failed: number;
  /** Skipped as `meta.exclude_socket`, or as already sent by a history replay (`liveFrom`). */
  readonly excluded: number;
  /** Sends after a first attempt, over all subscribers. */
  readonly retries: number;
  readonly pages: number;
}

export const DEFAULT_FAN_OUT_PAGE_SIZE = 1000;

/**
 * Posts one broadcast to every subscriber of its stream, or of a slice of it (a shard).
 *
 * Subscribers are read page by page with `listByStream` (a Query on the stream's partition, never
 * a scan), and a worker pool of `delivery.concurrency` posts them, starting on the first page while
 * the next one is read. The frame is built once per distinct identifier. A 410 removes the
 * connection's rows; a `TransientSendError` is retried with capped exponential backoff and full
 * jitter (RetryingSender); anything else fails that subscriber only. Failures are counted, logged as one summary
 * plus at most `MAX_FAILURE_LOGS` warnings (see FanOutTally), and never stop the others.
 * A read error is thrown, after the subscribers already read have been posted to.
 */
export async function fanOut(deps: FanOutDeps, broadcast: Broadcast, slice: FanOutSlice = {}): Promise<FanOutResult> {
  if (slice.limit !== undefined && (!Number.isInteger(slice.limit) || slice.limit < 1)) {
    throw new Error(`fanOut: slice.limit must be a positive integer, got ${slice.limit}`);
  }
  return postToPages(deps, broadcast, readPages(deps, broadcast.stream, slice));
}

export interface DeliverBroadcastDeps extends FanOutDeps {
  readonly shards: ShardDispatcher;
}

export type DeliverBroadcastResult =
  | (FanOutResult & { readonly mode: 'inline'; readonly shards: 0 })
  | {
    readonly mode: 'sharded';
    /** Shards dispatched; their deliveries are counted by whoever runs them. */
    readonly shards: number;
    /** Rows seen while walking the stream. */
    readonly subscribers: number;
    readonly pages: number;
    /** Shards whose dispatch failed: their subscribers got nothing. */
    readonly failedShards: number;
  };

/**
 * Delivers a broadcast inline when its stream fits in one shard, else splits it into shards.
 *
 * Inline (at most `delivery.shardSize` subscribers): the caller's reply waits for every post, so
 * broadcasts that one sender makes one after another reach each subscriber in that order (the
 * anycable-rails HTTP adapter posts one at a time). Sharded (more): the stream is walked in pages
 * of `shardSize` and each page, the first included, becomes a `ShardRequest` dispatched as soon as
 * its cursor is known; shards run in parallel, so ORDER ACROSS BROADCASTS IS NOT GUARANTEED above
 * the threshold: a later broadcast's shard may finish before an earlier one's (docs/broadcasting.md).
 * Each shard's `limit` is the number of rows its page held, not `shardSize`: a store may return
 * short pages (DynamoDB stops at 1 MB), and a larger limit would overlap the next shard.
 */
export async function deliverBroadcast(deps: DeliverBroadcastDeps, received: Broadcast): Promise<DeliverBroadcastResult> {
  const { shardSize } = deps.config.delivery;
  // Before any shard exists: every shard carries the same offset.
  const broadcast = await positionBroadcast(deps, received);
  // A store may stop a page short of the limit (DynamoDB at 1 MB, about 2,400 Turbo rows):
  // read on to a full shard, or the threshold (and the ordering promise below it) would drift.
  const read = (cursor?: string) => readUpTo(deps.subscriptions, broadcast.stream, shardSize, cursor);
  const first = await read();
  if (first.cursor === undefined) return inline(deps, broadcast, first);
  // DynamoDB returns a cursor whenever it stops at the limit, even with nothing after it.
  const second = await read(first.cursor);
  if (second.items.length === 0 && second.cursor === undefined) return inline(deps, broadcast, first);

  const dispatches: Promise<boolean>[] = [];
  let subscribers = 0;
  let pages = 0;
  const dispatch = (cursor: string | undefined, page: SubscriptionPage) => {
    pages++;
    if (page.items.length === 0) return;
    subscribers += page.items.length;
    const shard: ShardRequest = { broadcast, ...(cursor === undefined ? {} : { cursor }), limit: page.items.length };
    dispatches.push(deps.shards.dispatch(shard).then(() => true, (error: unknown) => {
      deps.logger.error('broadcast.shard_dispatch_failed', { stream: broadcast.stream, cursor, limit: shard.limit, error });
      return false;
    }));
  };
  let walkError: { readonly error: unknown } | undefined;
  try {
    dispatch(undefined, first);
    let cursor: string | undefined = first.cursor;
    let page = second;
    for (;;) {
      dispatch(cursor, page);
      if (page.cursor === undefined) break;
      cursor = page.cursor;
      page = await read(cursor);
    }
  } catch (error) {
    walkError = { error };
  }
  // Also after a read error: the shards already dispatched run on; settle them before leaving.
  const outcomes = await Promise.all(dispatches);
  if (walkError) {
    deps.logger.error('broadcast.shard_walk_failed', { stream: broadcast.stream, dispatched: outcomes.length, error: walkError.error });
    throw walkError.error;
  }
  const failedShards = outcomes.filter((ok) => !ok).length;
  const result = { mode: 'sharded' as const, shards: outcomes.length, subscribers, pages, failedShards };
  deps.logger[failedShards > 0 ? 'error' : 'info']('broadcast.sharded', { stream: broadcast.stream, ...result });
  return result;
}

function inline(deps: FanOutDeps, broadcast: Broadcast, page: SubscriptionPage): Promise<DeliverBroadcastResult> {
  return postToPages(deps, broadcast, onePage(page)).then((result) => ({ ...result, mode: 'inline', shards: 0 }));
}

async function* onePage(page: SubscriptionPage): AsyncGenerator<SubscriptionPage> {
  yield page;
}

/** Pages of the slice: each asks for no more than the slice has left, so a shard never reads into the next. */
async function* readPages(deps: FanOutDeps, stream: string, slice: FanOutSlice): AsyncGenerator<SubscriptionPage> {
  const pageSize = deps.pageSize ?? DEFAULT_FAN_OUT_PAGE_SIZE;
  let remaining = slice.limit ?? Number.POSITIVE_INFINITY;
  let cursor = slice.cursor;
  do {
    const page = await deps.subscriptions.listByStream(stream, cursor, Math.min(pageSize, remaining));
    const items = page.items.length > remaining ? page.items.slice(0, remaining) : page.items;
    remaining -= items.length;
    yield { items, cursor: page.cursor };
    cursor = page.cursor;
  } while (cursor !== undefined && remaining > 0);
}

/** The pipeline: one reader filling a queue at most about a page ahead, `concurrency` workers draining it. */
async function postToPages(deps: FanOutDeps, broadcast: Broadcast, pages: AsyncIterable<SubscriptionPage>): Promise<FanOutResult> {
  const tally = new FanOutTally(deps.logger, broadcast.stream, deps.clock.now());
  const queue = new WorkQueue<Subscription>();
  const poster = new Poster(deps, broadcast, tally);
  const readAhead = deps.pageSize ?? DEFAULT_FAN_OUT_PAGE_SIZE;

  const reader = (async () => {
    try {
      for await (const page of pages) {
        tally.pages++;
        tally.subscribers += page.items.length;
        const excluded = broadcast.excludeConnectionId;
        // A plain client's sid is its connection id; an ext client's is on its row (ext-protocol.ts).
        const wanted = excluded === undefined ? page.items : page.items.filter((s) => s.connectionId !== excluded && s.sid !== excluded);
        tally.excluded += page.items.length - wanted.length;
        queue.pushAll(wanted);
        await queue.waitForRoom(readAhead);
      }
    } finally {
      queue.close();
    }
  })();
  const worker = async () => {
    for (let next = await queue.take(); next !== undefined; next = await queue.take()) await poster.post(next);
  };
  const workers = Array.from({ length: deps.config.delivery.concurrency }, worker);

  const [read] = await Promise.allSettled([reader, Promise.all(workers)]);
  const result = tally.finish(deps.clock.now(), read.status === 'rejected' ? read.reason : undefined);
  if (read.status === 'rejected') throw read.reason;
  return result;
}

/** Posts to one subscriber at a time; never throws, every outcome goes to the tally. */
class Poster {
  private readonly frames = new Map<string, string | undefined>();
  private readonly goneConnections = new Set<string>();
  private readonly sender: RetryingSender;

  constructor(private readonly deps: FanOutDeps, private readonly broadcast: Broadcast, private readonly tally: FanOutTally) {
    this.sender = new RetryingSender(deps);
  }

  async post(listed: Subscription): Promise<void> {
    const { connectionId } = listed;
    // A connection subscribed under two identifiers answers 410 once; the second row needs no post.
    if (this.goneConnections.has(connectionId)) {
      this.tally.gone++;
      return;
    }
    const { position } = this.broadcast;
    const ext = listed.sid !== undefined && position !== undefined;
    // A replay to it may be under way, or its restored connection still connecting: wait for it,
    // and skip what a replay sent (replay-hold.ts, session-restore.ts). An unheld row costs no read.
    const subscription = await afterHold(this.deps, listed);
    if (!subscription || (ext && subscription.liveFrom !== undefined && position.offset < subscription.liveFrom)) {
      this.tally.excluded++;
      return;
    }
    const frame = this.frameFor(subscription.identifier, ext);
    if (frame === undefined) {
      this.tally.fail(connectionId, frameTooLarge(subscription.identifier), 0);
      return;
    }
    const outcome = await this.sender.send(connectionId, frame);
    this.tally.retries += outcome.attempts - 1;
    if (outcome.kind === 'sent') this.tally.delivered++;
    else if (outcome.kind === 'gone') await this.removeGone(connectionId);
    else this.tally.fail(connectionId, outcome.error, outcome.attempts);
  }

  /** Undefined when even this identifier's frame is over the quota: nobody under it can get it. */
  private frameFor(identifier: string, ext: boolean): string | undefined {
    const key = `${ext ? 'ext' : 'plain'}:${identifier}`;
    if (this.frames.has(key)) return this.frames.get(key);
    const { stream, data, position, broadcastType } = this.broadcast;
    const frame = ext && position ? extBroadcastFrame(identifier, data, stream, position) : broadcastFrame(identifier, data, broadcastType);
    const fitting = fitsMessageQuota(frame) ? frame : undefined;
    this.frames.set(key, fitting);
    return fitting;
  }

  /** The same clean-up as `$disconnect`, which API Gateway may never have delivered for it. */
  private async removeGone(connectionId: string): Promise<void> {
    this.tally.gone++;
    // Its other rows may have been posted to concurrently; one clean-up removes them all.
    if (this.goneConnections.has(connectionId)) return;
    this.goneConnections.add(connectionId);
    try {
      await forgetConnection(this.deps, connectionId);
    } catch (error) {
      this.tally.cleanupFailed(connectionId, error);
    }
  }
}

/** Not posted at all: API Gateway would answer 413 to every subscriber under this identifier. */
function frameTooLarge(identifier: string): Error {
  const error = new Error(`the frame for identifier ${identifier.slice(0, 100)} is over the ${MAX_MESSAGE_BYTES}-byte message quota`);
  error.name = 'FrameTooLargeError';
  return error;
}

/** Up to `limit` subscribers from `cursor`, over as many store pages as that takes. */
async function readUpTo(store: SubscriptionStore, stream: string, limit: number, cursor?: string): Promise<SubscriptionPage> {
  const items: Subscription[] = [];
  let next = cursor;
  do {
    const page = await store.listByStream(stream, next, limit - items.length);
    items.push(...page.items);
    next = page.cursor;
  } while (next !== undefined && items.length < limit);
  return { items, cursor: next };
}
