import { parseIdentifier, resolveChannel } from './channels';
import { CableConfig } from './config';
import { ChannelRecord, ConnectionRecord, SubscriptionStore } from './ports';

/**
 * The connection's record of the app (RPC) channel `identifier`. Own keys only: an identifier such
 * as "constructor" must not find Object.prototype's.
 */
export function channelOf(record: Pick<ConnectionRecord, 'channels'> | undefined, identifier: string): ChannelRecord | undefined {
  const channels = record?.channels;
  return channels && Object.prototype.hasOwnProperty.call(channels, identifier) ? channels[identifier] : undefined;
}

/**
 * The stream an app channel's state names under `key` (anycable-go's `$w` for whispers, `$p` for
 * presence: common/common.go), or why there is none.
 */
export function appChannelStateStream(
  record: Pick<ConnectionRecord, 'channels'> | undefined,
  identifier: string,
  key: string,
): string | { readonly refused: 'not_subscribed' | 'not_in_state' } {
  const channel = channelOf(record, identifier);
  if (!channel) return { refused: 'not_subscribed' };
  const stream = Object.prototype.hasOwnProperty.call(channel.state, key) ? channel.state[key] : undefined;
  return stream ? stream : { refused: 'not_in_state' };
}

/**
 * The stream of a built-in channel (`$pubsub`, Turbo) the connection holds a subscription to, or
 * why not, in this order: the resolver's rejection reason (as `subscribe` would reject it),
 * `not_allowed` when `allowed` says no, `not_subscribed`.
 */
export async function subscribedBuiltInStream(
  deps: { readonly config: CableConfig; readonly subscriptions: Pick<SubscriptionStore, 'has'> },
  connectionId: string,
  identifier: string,
  allowed: (params: NonNullable<ReturnType<typeof parseIdentifier>>) => boolean = () => true,
): Promise<string | { readonly refused: string }> {
  const resolution = resolveChannel(deps.config, identifier);
  if (resolution.kind === 'reject') return { refused: resolution.reason };
  // resolveChannel accepted it, so it parses.
  if (!allowed(parseIdentifier(identifier)!)) return { refused: 'not_allowed' };
  const stream = resolution.streams[0];
  return (await deps.subscriptions.has({ stream, connectionId, identifier })) ? stream : { refused: 'not_subscribed' };
}
