import { resolveChannel } from './channels';
import { CableConfig } from './config';
import { Clock, ConnectionStore, Logger, SubscriptionStore } from './ports';
import { confirmSubscription, rejectSubscription, ServerFrame } from './protocol';

export interface SubscribeDeps {
  readonly config: CableConfig;
  readonly subscriptions: SubscriptionStore;
  /** Holds each connection's count of subscriptions (`limits.maxSubscriptionsPerConnection`). */
  readonly connections: ConnectionStore;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * `subscribe` to a built-in channel. Idempotent: the client re-sends `subscribe` every 500 ms
 * until confirmed and two invocations may race; conditional writes create one row, and every
 * copy is confirmed (Rails stays silent on a repeat, which leaves the client retrying forever).
 *
 * A new subscription takes one of the connection's `limits.maxSubscriptionsPerConnection` slots
 * first (an atomic conditional count on its row); past the cap it is rejected and nothing is
 * stored, so one broadcast to a stream brings a connection at most that many frames. A repeat
 * is found by a consistent read of its row (a fifth of a write's price) and takes no slot; two
 * copies racing past that read both take one, and the copy whose row already existed gives its
 * slot back, so the count matches the rows (a copy refused meanwhile reads again, and is
 * confirmed if the other copy's row is there by then).
 */
export async function subscribe(deps: SubscribeDeps, connectionId: string, identifier: string, sid?: string): Promise<ServerFrame[]> {
  return (await subscribeRows(deps, connectionId, identifier, { sid })).frames;
}

export interface SubscribeOptions {
  /** The ext client's session id, kept on its rows (ext-protocol.ts). */
  readonly sid?: string;
  /** New rows are created held for a history replay until then (replay-hold.ts). */
  readonly holdUntil?: number;
}

/** `subscribe`, saying too which streams the identifier has and whether this call created their rows. */
export async function subscribeRows(
  deps: SubscribeDeps,
  connectionId: string,
  identifier: string,
  options: SubscribeOptions = {},
): Promise<{ readonly frames: ServerFrame[]; readonly streams: readonly string[]; readonly created: boolean }> {
  const resolution = resolveChannel(deps.config, identifier);
  if (resolution.kind === 'reject') {
    deps.logger.info('subscribe.rejected', { connectionId, identifier, reason: resolution.reason });
    return { frames: [rejectSubscription(identifier)], streams: [], created: false };
  }
  const { streams } = resolution;
  const confirmed = (created: boolean) => ({ frames: [confirmSubscription(identifier)], streams, created });
  const row = { stream: streams[0], connectionId, identifier };
  if (await deps.subscriptions.has(row)) return confirmed(false);

  const max = deps.config.limits.maxSubscriptionsPerConnection;
  if (!(await deps.connections.reserveSubscription(connectionId, max))) {
    // Near the cap, a copy of this subscribe racing this one may have taken the last slot and stored the row.
    if (await deps.subscriptions.has(row)) return confirmed(false);
    deps.logger.warn('subscribe.rejected', { connectionId, identifier: identifier.slice(0, 100), reason: 'too_many_subscriptions', max });
    return { frames: [rejectSubscription(identifier)], streams: [], created: false };
  }
  const expiresAt = Math.floor(deps.clock.now() / 1000) + deps.config.ttlSeconds;
  const { sid, holdUntil } = options;
  let created = false;
  for (const stream of streams) {
    const subscription = {
      stream, connectionId, identifier, expiresAt, ...(sid !== undefined ? { sid } : {}), ...(holdUntil !== undefined ? { holdUntil } : {}),
    };
    if (await deps.subscriptions.add(subscription) === 'created') created = true;
  }
  if (!created) await deps.connections.releaseSubscription(connectionId);
  return confirmed(created);
}

/**
 * `unsubscribe`: ActionCable sends nothing back. The streams of a built-in channel follow from
 * the identifier, so their rows are deleted by key (even if the store's index lags a subscribe
 * made a moment ago), and the caller that deleted the row gives the slot back: a repeated or
 * concurrent `unsubscribe` cannot free a slot twice. An identifier that does not resolve stored
 * nothing and costs nothing; one subscribed before its key was rotated keeps its row and slot
 * until `$disconnect` removes the connection's rows (the client ignores frames for it).
 */
export async function unsubscribe(deps: Pick<SubscribeDeps, 'subscriptions' | 'connections' | 'config'>, connectionId: string, identifier: string): Promise<ServerFrame[]> {
  const resolution = resolveChannel(deps.config, identifier);
  if (resolution.kind === 'reject') return [];
  let deleted = false;
  for (const stream of resolution.streams) {
    if (await deps.subscriptions.delete({ stream, connectionId, identifier })) deleted = true;
  }
  if (deleted) await deps.connections.releaseSubscription(connectionId);
  return [];
}
