import type { AfterSent } from './after-sent';
import { AppPresenceDeps, applyAppPresence } from './app-presence';
import { channelOf } from './channel-lookup';
import { MAX_IDENTIFIER_BYTES, MAX_STREAM_BYTES, parseIdentifier } from './channels';
import { CableConfig } from './config';
import { ChannelRecord, Clock, ConnectionRecord, ConnectionStore, Logger, mergeState, SubscriptionStore } from './ports';
import { ClientCommand, confirmSubscription, encodeFrame, frameHead, rejectSubscription, UNAUTHORIZED } from './protocol';
import type { RpcClient } from './rpc-client';
import { commandEnv } from './rpc-env';
import { RpcCallError, RpcCommandRequest, RpcCommandResponse, RpcStatus } from './rpc-protocol';

export interface AppChannelDeps extends Pick<AppPresenceDeps, 'presence' | 'shards'> {
  readonly config: CableConfig;
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
  readonly rpc: RpcClient;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface AppCommandResult {
  /** Frames for the client, each already JSON, in order. */
  readonly transmissions: string[];
  /** Close the connection after them (the app said `disconnect`). */
  readonly close: boolean;
  /**
   * A `subscribe` the app confirmed, from an ext client: the channel's streams, whose rows were
   * created held when `holdUntil` was given (history-replay.ts replays them, then releases them).
   */
  readonly subscribed?: { readonly streams: readonly string[] };
  /**
   * The reply's presence (app-presence.ts), to apply once `transmissions` are sent: anycable-go
   * transmits the reply's frames before it handles its presence, so the client's confirmation
   * comes before its own `join` event.
   */
  readonly afterSent?: AfterSent;
}

export interface AppCommandOptions {
  /** Create an ext client's new stream rows held until then, for a history replay (replay-hold.ts). */
  readonly holdUntil?: number;
}

const NOTHING: AppCommandResult = { transmissions: [], close: false };

/**
 * `subscribe`, `unsubscribe` and `message` for a channel the app defines, through its RPC
 * `command` (https://docs.anycable.io/anycable-go/rpc). The result is applied as anycable-go's
 * node/node.go `handleCommandReply` applies it: `stop_streams` (or `stopped_streams`), then
 * `streams`, then channel and connection state, then the transmissions, then `disconnect`; the
 * reply's `presence` joins or leaves once the channel's state is kept and the transmissions are
 * sent (`afterSent`, app-presence.ts; not for an `unsubscribe`, which leaves anyway, message.ts,
 * nor a rejected `subscribe`, which keeps no state).
 *
 * Defined outcomes where anycable-go's are a session in memory:
 * - Unknown connection (rejected at `$connect` and let in only to be told so, or already
 *   cleaned up): no call; told `unauthorized` without reconnecting, and closed.
 * - `subscribe` to a channel already subscribed: confirmed again without a call (the client
 *   re-sends `subscribe` every 500 ms until it sees the confirmation).
 * - A rejected subscribe (FAILURE) starts no streams and keeps no state; if the app sent no
 *   `reject_subscription`, one is added, or the client would re-send `subscribe` forever.
 * - ERROR, a timeout, a 5xx or a malformed answer change nothing. A `subscribe` that fails so is
 *   answered `reject_subscription`: anycable-go sends nothing there, and the stock client would
 *   re-send `subscribe` every 500 ms for as long as the page is open, each one a `$default`
 *   invocation and an RPC call here (docs/rpc.md, "Differences from anycable-go"). Other
 *   commands send nothing; `unsubscribe` still stops the channel's streams, since the client
 *   has already dropped the subscription.
 * - `message` or `unsubscribe` to a channel not subscribed: ignored, as anycable-go does.
 */
export async function performAppCommand(
  deps: AppChannelDeps,
  connectionId: string,
  command: ClientCommand,
  options: AppCommandOptions = {},
): Promise<AppCommandResult> {
  const { logger } = deps;
  const { identifier } = command;
  const record = await deps.connections.get(connectionId);
  if (!record) {
    logger.warn('command.unknown_connection', { connectionId, command: command.command, identifier });
    return { transmissions: [encodeFrame(UNAUTHORIZED)], close: true };
  }
  const channel = channelOf(record, identifier);
  if (command.command === 'subscribe') {
    if (channel) return { transmissions: [encodeFrame(confirmSubscription(identifier))], close: false };
    const invalid = Buffer.byteLength(identifier) > MAX_IDENTIFIER_BYTES ? 'identifier_too_long' : !parseIdentifier(identifier) ? 'invalid_identifier' : undefined;
    if (invalid) {
      // As for built-in channels (channels.ts), and as Rails, which cannot parse such an identifier either.
      logger.info('subscribe.rejected', { connectionId, identifier: identifier.slice(0, 100), reason: invalid });
      return { transmissions: [encodeFrame(rejectSubscription(identifier))], close: false };
    }
  } else if (!channel) {
    logger.info('command.not_subscribed', { connectionId, command: command.command, identifier });
    return NOTHING;
  }

  let response: RpcCommandResponse;
  try {
    // The sid the client got in its welcome (an ext client's session id), as anycable-go passes it.
    response = await deps.rpc.command(record.sid ?? connectionId, {
      // `history` never comes here: message.ts answers it before the app's channels.
      command: command.command as RpcCommandRequest['command'],
      identifier,
      connectionIdentifiers: record.identifiers ?? '',
      ...(command.data !== undefined ? { data: command.data } : {}),
      env: commandEnv(deps.config.rpc, record, channel),
    });
  } catch (error) {
    if (!(error instanceof RpcCallError)) throw error;
    const { reason, status, message } = error;
    logger.error('command.rpc_failed', { connectionId, command: command.command, identifier, reason, status, message });
    return failed(deps, record, command, channel);
  }
  if (response.status === RpcStatus.ERROR) {
    logger.error('command.rpc_error', { connectionId, command: command.command, identifier, errorMsg: response.errorMsg });
    return failed(deps, record, command, channel);
  }
  return apply(deps, record, command, channel, response, options);
}

async function apply(
  deps: AppChannelDeps,
  record: ConnectionRecord,
  command: ClientCommand,
  channel: ChannelRecord | undefined,
  response: RpcCommandResponse,
  options: AppCommandOptions,
): Promise<AppCommandResult> {
  const { connectionId } = record;
  const { identifier } = command;
  const rejected = command.command === 'subscribe' && response.status === RpcStatus.FAILURE;
  const transmissions = [...response.transmissions];
  if (rejected) {
    deps.logger.info('subscribe.rejected', { connectionId, identifier, reason: 'app', errorMsg: response.errorMsg || undefined });
    const isRejection = (text: string) => {
      const head = frameHead(text);
      return head?.type === 'reject_subscription' && head.identifier === identifier;
    };
    if (!transmissions.some(isRejection)) transmissions.push(encodeFrame(rejectSubscription(identifier)));
  }

  if (command.command === 'unsubscribe') {
    // node.go `Unsubscribe`: whatever the app answers, every stream of the channel stops.
    await dropChannel(deps, record, identifier, channel, response.env.cstate);
  } else if (!rejected) {
    const holdUntil = record.sid !== undefined ? options.holdUntil : undefined;
    const streams = await changeStreams(deps, record, identifier, channel?.streams ?? [], response, holdUntil);
    const state = mergeState(channel?.state ?? {}, response.env.istate);
    const outcome = await updateState(deps, record, response.env.cstate, {
      identifier,
      record: { state, streams },
      onlyIfSubscribed: command.command !== 'subscribe',
    });
    // The channel was unsubscribed (or the connection closed) while the app answered: what this
    // call started would outlive both, receiving broadcasts until TTL.
    const started = streams.filter((stream) => !(channel?.streams ?? []).includes(stream));
    if (outcome !== 'updated' && started.length > 0) await deps.subscriptions.removeStreams(connectionId, identifier, started);
    const { presence } = response;
    const after = outcome === 'updated' && presence ? { afterSent: () => applyAppPresence(deps, record, identifier, state, presence) } : {};
    if (command.command === 'subscribe' && outcome === 'updated' && record.sid !== undefined && !response.disconnect) {
      return { transmissions, close: false, subscribed: { streams }, ...after };
    }
    return { transmissions, close: response.disconnect, ...after };
  } else {
    await updateState(deps, record, response.env.cstate);
  }
  return { transmissions, close: response.disconnect };
}

/** What a failed call leaves: nothing, except that an `unsubscribe` still stops the channel. */
async function failed(
  deps: AppChannelDeps,
  record: ConnectionRecord,
  command: ClientCommand,
  channel: ChannelRecord | undefined,
): Promise<AppCommandResult> {
  if (command.command === 'unsubscribe') await dropChannel(deps, record, command.identifier, channel);
  if (command.command === 'subscribe') {
    deps.logger.info('subscribe.rejected', { connectionId: record.connectionId, identifier: command.identifier, reason: 'app_failed' });
    return { transmissions: [encodeFrame(rejectSubscription(command.identifier))], close: false };
  }
  return NOTHING;
}

/**
 * Stops every stream of the channel (also those only the store's index knows of, which may lag a
 * subscribe made a moment ago; the recorded ones are deleted by key) and forgets its state.
 */
async function dropChannel(
  deps: AppChannelDeps,
  record: ConnectionRecord,
  identifier: string,
  channel: ChannelRecord | undefined,
  cstate?: Readonly<Record<string, string>>,
): Promise<void> {
  await deps.subscriptions.remove(record.connectionId, identifier, [...channel?.streams ?? []]);
  await updateState(deps, record, cstate, { identifier });
}

/** Stops, then starts, streams as the response says; returns the channel's streams afterwards. */
async function changeStreams(
  deps: AppChannelDeps,
  { connectionId, sid }: ConnectionRecord,
  identifier: string,
  current: readonly string[],
  response: RpcCommandResponse,
  holdUntil?: number,
): Promise<string[]> {
  let streams = [...current];
  if (response.stopStreams) {
    await deps.subscriptions.remove(connectionId, identifier, streams);
    streams = [];
  } else if (response.stoppedStreams.length > 0) {
    await deps.subscriptions.removeStreams(connectionId, identifier, response.stoppedStreams);
    const stopped = new Set(response.stoppedStreams);
    streams = streams.filter((stream) => !stopped.has(stream));
  }
  const expiresAt = Math.floor(deps.clock.now() / 1000) + deps.config.ttlSeconds;
  for (const stream of response.streams) {
    if (stream === '' || Buffer.byteLength(stream) > MAX_STREAM_BYTES) {
      deps.logger.warn('command.stream_skipped', { connectionId, identifier, reason: stream === '' ? 'empty_stream_name' : 'stream_name_too_long' });
      continue;
    }
    await deps.subscriptions.add({
      stream, connectionId, identifier, expiresAt, ...(sid !== undefined ? { sid } : {}), ...(holdUntil !== undefined ? { holdUntil } : {}),
    });
    if (!streams.includes(stream)) streams.push(stream);
  }
  return streams;
}

async function updateState(
  deps: AppChannelDeps,
  record: ConnectionRecord,
  cstate: Readonly<Record<string, string>> | undefined,
  channel?: { identifier: string; record?: ChannelRecord; onlyIfSubscribed?: boolean },
): Promise<'updated' | 'connection_gone' | 'channel_gone'> {
  const hasCstate = cstate !== undefined && Object.keys(cstate).length > 0;
  if (!hasCstate && !channel) return 'updated';
  const outcome = await deps.connections.updateState(record.connectionId, { ...(hasCstate ? { cstate } : {}), ...(channel ? { channel } : {}) });
  if (outcome !== 'updated') deps.logger.info('command.state_not_kept', { connectionId: record.connectionId, identifier: channel?.identifier, outcome });
  return outcome;
}
