import { appChannelStateStream, subscribedBuiltInStream } from './channel-lookup';
import { isBuiltInChannel, PUBSUB_CHANNEL } from './channels';
import { CableConfig } from './config';
import { invalidFrame, InvalidFrameOutcome } from './invalid-frames';
import { ConnectionStore, Logger, ShardDispatcher, SubscriptionStore } from './ports';
import type { RpcClient } from './rpc-client';

/**
 * The channel state key naming the stream a channel may whisper to, anycable-go's
 * `common.WHISPER_STREAM_STATE` (common/common.go): its streams controller sets it on a
 * `$pubsub` subscribe (streams/controller.go), anycable-rails' `stream_from "x", whisper: true`
 * in the RPC command's `istate`, which app-channel.ts keeps as the channel's `state`.
 */
export const WHISPER_STREAM_STATE = '$w';

export interface WhisperDeps {
  readonly config: CableConfig;
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
  readonly logger: Logger;
  /** Hands the whisper's fan-out to the fan-out function (the shard dispatcher broadcasts use). Absent: whispers are refused. */
  readonly shards?: ShardDispatcher;
  /** With the app's RPC, channels other than the built-in ones are the app's (their state may name a whisper stream). */
  readonly rpc?: RpcClient;
}

/**
 * `{"command":"whisper","identifier":…,"data":…}`: publishes `data` to the other subscribers of
 * the channel's whisper stream, as anycable-go's node.go `Whisper` does: a `meta.transient`
 * broadcast (not stored in history, no `offset`) that excludes the sender
 * (`ExcludeSocket: s.GetID()`), so each receives `{"identifier":<its own identifier>,"message":data}`.
 *
 * Which stream, as anycable-go decides it (streams/controller.go `NewStreamsController`):
 * - `$pubsub` with `stream_name` (a public stream, so `publicStreams` is on): always;
 * - `$pubsub` with `signed_stream_name`: only with `streamsWhisper` (`--streams_whisper`);
 * - `Turbo::StreamsChannel`: never (anycable-go's `NewTurboController` does not set the key);
 * - an app channel: the stream its state names under `$w`.
 * The sender must hold the subscription (for a built-in channel, its row; for an app channel, its
 * state), as anycable-go finds the stream in the session's channel state.
 *
 * Any protocol: anycable-go does not ask which one the session speaks, and `@anycable/core` sends
 * `whisper` over `actioncable-v1-json` too. Every refusal (not subscribed, not whisperable, no
 * fan-out) is ignored as anycable-go ignores it (it logs "whisper stream not found" at debug),
 * and counted as an invalid frame (invalid-frames.ts): each is a paid invocation that will never
 * do anything. Frames over the 128 KB quota never get here (message.ts ends the connection).
 */
export async function whisper(deps: WhisperDeps, connectionId: string, identifier: string, data: string): Promise<InvalidFrameOutcome> {
  const found = await whisperStream(deps, connectionId, identifier);
  if (typeof found !== 'string') return invalidFrame(deps, connectionId, found.refused, { identifier: identifier.slice(0, 100) });
  if (!deps.shards) return invalidFrame(deps, connectionId, 'whispers_unavailable');
  // No limit: the fan-out function walks the whole stream (a whisper is not sharded, docs/whispers.md).
  await deps.shards.dispatch({ broadcast: { stream: found, data, transient: true, excludeConnectionId: connectionId } });
  return { frames: [], close: false };
}

/** The stream this connection may whisper to on `identifier`, or why none. */
async function whisperStream(deps: WhisperDeps, connectionId: string, identifier: string): Promise<string | { readonly refused: string }> {
  if (isBuiltInChannel(identifier)) {
    // anycable-go whispers on signed streams only with the option, on Turbo streams never.
    const found = await subscribedBuiltInStream(deps, connectionId, identifier,
      (params) => params.channel === PUBSUB_CHANNEL && (typeof params.signed_stream_name !== 'string' || deps.config.streamsWhisper));
    if (typeof found === 'string') return found;
    return { refused: found.refused === 'not_allowed' ? 'not_whisperable' : `whisper_${found.refused}` };
  }
  if (!deps.rpc) return { refused: 'whisper_unknown_channel' };
  const found = appChannelStateStream(await deps.connections.get(connectionId), identifier, WHISPER_STREAM_STATE);
  if (typeof found === 'string') return found;
  return { refused: found.refused === 'not_subscribed' ? 'whisper_not_subscribed' : 'not_whisperable' };
}
