import { resolveChannel } from './channels';
import { CableConfig } from './config';
import { Clock, Logger, SubscriptionStore } from './ports';
import { confirmSubscription, rejectSubscription, ServerFrame } from './protocol';

export interface SubscribeDeps {
  readonly config: CableConfig;
  readonly subscriptions: SubscriptionStore;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * `subscribe` to a built-in channel. Idempotent: the client re-sends `subscribe` every 500 ms
 * until confirmed and two invocations may race; conditional writes create one row, and every
 * copy is confirmed (Rails stays silent on a repeat, which leaves the client retrying forever).
 */
export async function subscribe(deps: SubscribeDeps, connectionId: string, identifier: string): Promise<ServerFrame[]> {
  const resolution = resolveChannel(deps.config, identifier);
  if (resolution.kind === 'reject') {
    deps.logger.info('subscribe.rejected', { connectionId, identifier, reason: resolution.reason });
    return [rejectSubscription(identifier)];
  }
  const expiresAt = Math.floor(deps.clock.now() / 1000) + deps.config.ttlSeconds;
  for (const stream of resolution.streams) {
    await deps.subscriptions.add({ stream, connectionId, identifier, expiresAt });
  }
  return [confirmSubscription(identifier)];
}

/**
 * `unsubscribe`: ActionCable sends nothing back. The streams of a built-in channel follow from
 * the identifier, so their rows are deleted by key even if the store's index lags a subscribe
 * made a moment ago.
 */
export async function unsubscribe(deps: Pick<SubscribeDeps, 'subscriptions' | 'config'>, connectionId: string, identifier: string): Promise<ServerFrame[]> {
  const resolution = resolveChannel(deps.config, identifier);
  await deps.subscriptions.remove(connectionId, identifier, resolution.kind === 'streams' ? resolution.streams : []);
  return [];
}
