import { CableConfig } from './config';
import { forgetConnection } from './forget-connection';
import { isPingDue, pingIntervalOf } from './ping-interval';
import { PingRoundResult, PingTally } from './ping-tally';
import { ScanShare } from './ping-workers';
import { Clock, ConnectionStore, Logger, PingCandidate, ShardDispatcher, SubscriptionStore, Transport } from './ports';
import type { PresenceStore } from './presence';
import type { PresenceExpiryStore } from './presence-expiry';
import { disconnect, encodeFrame, ping } from './protocol';
import { RateLimiter } from './rate-limiter';
import { RetryingSender } from './retrying-sender';
import type { RpcClient } from './rpc-client';
import { WorkQueue } from './work-queue';

export interface PingDeps {
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: Pick<CableConfig, 'ping' | 'maxConnectionAgeSeconds' | 'delivery' | 'deliveryDeadlineMs'> & Partial<Pick<CableConfig, 'rpc' | 'presenceTtlSeconds'>>;
  /** The app's RPC, told of connections found gone (forget-connection.ts). */
  readonly rpc?: RpcClient;
  /** What a connection found gone joined expires after the presence TTL (forget-connection.ts). */
  readonly presence?: PresenceStore;
  /** With `shards`, the coordinator announces `leave` for gone sessions' expired presence (presence-expiry.ts). */
  readonly presenceExpiry?: PresenceExpiryStore;
  /** The fan-out function, which the expired presence's `leave` goes through as a live leave does. */
  readonly shards?: ShardDispatcher;
  /**
   * The ceiling on `@connections` calls; share one between rounds so that it holds across them.
   * @default - a new one per round, at `ping.maxPerSecond`
   */
  readonly limiter?: RateLimiter;
  /** Source of the retry jitter, in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/**
 * The time a round covers, epoch milliseconds: connections with a ping due in (previousTick, now]
 * are pinged, and connections at least `maxConnectionAgeSeconds` old at `now` are ended. `now` may
 * lie up to a tick ahead of the clock (see ping-schedule.ts), so that pings are early rather than late.
 */
export interface PingWindow {
  readonly previousTick: number;
  readonly now: number;
}

export type { PingRoundResult };

/** What the reader hands the workers. */
interface PingJob {
  readonly kind: 'ping' | 'expire';
  readonly connection: PingCandidate;
}

/** Decided connections waiting for a worker, per segment reader: about a page ahead. */
const READ_AHEAD = 1000;

export const SERVER_RESTART_FRAME = encodeFrame(disconnect('server_restart', true));

/**
 * One ping round over every connection. The segments of `connections.listForPing` are read in
 * parallel (`ping.segments`); each connection due in the window gets `{"type":"ping","message":
 * <unix seconds>}`; each one at least `maxConnectionAgeSeconds` old gets `{"type":"disconnect",
 * "reason":"server_restart","reconnect":true}` and is closed, so the client reconnects before
 * API Gateway's hard 2-hour cut. A pool of `delivery.concurrency` workers posts, every post
 * (retries included) and close drawing from the rate limiter (`ping.maxPerSecond`). A 410
 * removes the connection's rows as fan-out does, unless the connection is younger than the
 * welcome's delivery deadline (it may still be in its handshake, which API Gateway also answers
 * with 410). Transient errors are retried as fan-out retries them (RetryingSender). A summary
 * line is logged when the round did more than ping (PingTally). A read error is thrown, after
 * the connections already read have been handled. With `share`, only those segments are read
 * (one worker's part of a period split across invocations, ping-workers.ts).
 */
export async function pingRound(deps: PingDeps, window: PingWindow, share?: ScanShare): Promise<PingRoundResult> {
  if (!(window.now >= window.previousTick)) {
    throw new Error(`pingRound: the window must not end before it starts, got (${window.previousTick}, ${window.now}]`);
  }
  const { ping: settings, maxConnectionAgeSeconds } = deps.config;
  const tally = new PingTally(deps.logger, window, deps.clock.now());
  const queue = new WorkQueue<PingJob>();
  const sender = new PingSender(deps, tally, deps.limiter ?? new RateLimiter(deps.clock, settings.maxPerSecond));
  const maxAgeMs = maxConnectionAgeSeconds * 1000;

  const decide = (connection: PingCandidate): PingJob | undefined => {
    if (window.now - connection.connectedAt >= maxAgeMs) return { kind: 'expire', connection };
    if (!settings.enabled) return undefined;
    const intervalMs = pingIntervalOf(connection, settings) * 1000;
    return isPingDue(connection.connectedAt, intervalMs, window.previousTick, window.now) ? { kind: 'ping', connection } : undefined;
  };
  const readSegment = async (segment: number) => {
    let cursor: string | undefined;
    do {
      const page = await deps.connections.listForPing(segment, share?.totalSegments ?? settings.segments, cursor);
      tally.pages++;
      tally.connections += page.items.length;
      queue.pushAll(page.items.map(decide).filter((job): job is PingJob => job !== undefined));
      await queue.waitForRoom(READ_AHEAD);
      cursor = page.cursor;
    } while (cursor !== undefined);
  };

  const segments = share?.segments ?? Array.from({ length: settings.segments }, (_, segment) => segment);
  const readers = Promise.allSettled(segments.map(readSegment))
    .finally(() => queue.close());
  const worker = async () => {
    for (let job = await queue.take(); job !== undefined; job = await queue.take()) await sender.run(job);
  };
  const [outcomes] = await Promise.all([readers, Promise.all(Array.from({ length: deps.config.delivery.concurrency }, worker))]);
  const failedRead = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  const result = tally.finish(deps.clock.now(), failedRead?.reason);
  if (failedRead) throw failedRead.reason;
  return result;
}

/** Posts to one connection at a time; never throws, every outcome goes to the tally. */
class PingSender {
  private readonly sender: RetryingSender;

  constructor(private readonly deps: PingDeps, private readonly tally: PingTally, private readonly limiter: RateLimiter) {
    this.sender = new RetryingSender({ ...deps, limiter });
  }

  async run(job: PingJob): Promise<void> {
    const { connectionId } = job.connection;
    const frame = job.kind === 'ping' ? encodeFrame(ping(Math.floor(this.deps.clock.now() / 1000))) : SERVER_RESTART_FRAME;
    const outcome = await this.sender.send(connectionId, frame);
    this.tally.retries += outcome.attempts - 1;
    if (outcome.kind === 'gone') return this.removeGone(job.connection);
    if (outcome.kind === 'failed') return this.tally.fail(connectionId, job.kind === 'ping' ? 'ping' : 'disconnect', outcome.error, outcome.attempts);
    if (job.kind === 'ping') {
      this.tally.pinged++;
      return;
    }
    await this.limiter.take();
    try {
      await this.deps.transport.close(connectionId);
      this.tally.expired++;
    } catch (error) {
      this.tally.fail(connectionId, 'close', error, 1);
    }
  }

  /** The same clean-up as `$disconnect` (which API Gateway may never have delivered), unless the connection may still be opening. */
  private async removeGone(connection: PingCandidate): Promise<void> {
    if (this.deps.clock.now() - connection.connectedAt < this.deps.config.deliveryDeadlineMs) {
      this.tally.notOpen++;
      return;
    }
    this.tally.gone++;
    try {
      await forgetConnection(this.deps, connection.connectionId);
    } catch (error) {
      this.tally.cleanupFailed(connection.connectionId, error);
    }
  }
}
