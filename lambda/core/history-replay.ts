import { afterSentInOrder } from './after-sent';
import { AppChannelDeps, performAppCommand } from './app-channel';
import { channelOf } from './channel-lookup';
import { resolveChannel } from './channels';
import { HistoryRequest, parseHistoryRequest } from './ext-protocol';
import type { MessageResult } from './message';
import { ConnectionStore } from './ports';
import { ClientCommand, confirmHistory, encodeFrame, rejectHistory } from './protocol';
import { REPLAY_HOLD_MS } from './replay-hold';
import { readMissed, StreamHistoryDeps } from './stream-history';
import { SubscribeDeps, subscribeRows } from './subscribe';

export type HistoryReplayDeps = SubscribeDeps & StreamHistoryDeps;

/**
 * An ext client's `subscribe` with `history` (it resubscribes so after a reconnect): confirm,
 * replay what it missed, in order, then `confirm_history`, or `reject_history` when that cannot
 * be served (stream-history.ts `readMissed`); a malformed `history` is rejected the same way.
 *
 * Exactly once, in order, against a broadcast racing the replay (docs/reliable-streams.md):
 * 1. the rows are created held (`holdUntil`, replay-hold.ts);
 * 2. each stream's position L is read consistently, and the replay is (asked, L];
 * 3. the handler posts confirm, replay, `confirm_history`, then releases the rows with `liveFrom` = L + 1.
 * A broadcast positioned at or before L was appended before step 2: its fan-out finds the row
 * held or released, and skips it (it is in the replay), or finds no row. One positioned after L
 * was appended after step 2, so its fan-out (a consistent Query) finds the row, waits for the
 * release and posts it after the replay. @anycable/core 1.1 does not drop duplicate offsets
 * itself, so the server must not send any.
 */
export async function subscribeWithHistory(
  deps: HistoryReplayDeps,
  connectionId: string,
  identifier: string,
  sid: string,
  history: unknown,
): Promise<MessageResult> {
  const request = parseHistoryRequest(history);
  const holdUntil = typeof request === 'string' ? undefined : deps.clock.now() + REPLAY_HOLD_MS;
  const subscribed = await subscribeRows(deps, connectionId, identifier, { sid, ...(holdUntil !== undefined ? { holdUntil } : {}) });
  const { frames, streams } = subscribed;
  if (streams.length === 0) return { frames, close: false }; // rejected
  if (typeof request === 'string') {
    deps.logger.info('history.rejected', { connectionId, identifier: identifier.slice(0, 100), reason: request });
    return { frames: [...frames, rejectHistory(identifier)], close: false };
  }
  // A re-sent copy of a subscribe: the copy that created the rows replays.
  if (!subscribed.created) return { frames, close: false };
  return replayHeld(deps, connectionId, identifier, streams, request, frames.map(encodeFrame));
}

/**
 * An ext client's `subscribe` with `history` to an app (RPC) channel: the app's `command`, with
 * the streams it starts created held, then, once it confirmed, the same replay of those streams
 * as for a built-in channel (anycable-go node/node.go `Subscribe` calls `History` after a
 * confirmed subscribe). The app's transmissions (its `confirm_subscription`) come first. A
 * rejected or failed subscribe, a re-sent copy and a plain client get the app's answer alone;
 * a malformed `history`, that answer and `reject_history`.
 */
export async function subscribeAppChannelWithHistory(
  deps: HistoryReplayDeps & AppChannelDeps,
  connectionId: string,
  command: ClientCommand,
): Promise<MessageResult> {
  const request = parseHistoryRequest(command.history);
  const holdUntil = typeof request === 'string' ? undefined : deps.clock.now() + REPLAY_HOLD_MS;
  const result = await performAppCommand(deps, connectionId, command, holdUntil !== undefined ? { holdUntil } : {});
  // The reply's presence (app-channel.ts) goes once the frames are sent, after the replay's release.
  const presence = result.afterSent ? { afterSent: result.afterSent } : {};
  const answered: MessageResult = { frames: [], transmissions: result.transmissions, close: result.close, ...presence };
  if (!result.subscribed) return answered;
  if (typeof request === 'string') {
    deps.logger.info('history.rejected', { connectionId, identifier: command.identifier.slice(0, 100), reason: request });
    return { ...answered, transmissions: [...result.transmissions, encodeFrame(rejectHistory(command.identifier))] };
  }
  const replayed = await replayHeld(deps, connectionId, command.identifier, result.subscribed.streams, request, result.transmissions);
  return { ...replayed, ...afterSentInOrder(replayed.afterSent, result.afterSent) };
}

/**
 * The `history` command: `{"command":"history","identifier","history":{since,streams}}` for a
 * subscription the connection holds (what `@anycable/core` sends after a session restore). The
 * rows are held first, as for `subscribe`, then the same replay: the missed messages, then
 * `confirm_history`, or `reject_history` (also for a channel not subscribed or not built in, and
 * a plain client, which has no positions). An app channel's streams are those the connection row
 * keeps for it.
 */
export async function historyCommand(
  deps: HistoryReplayDeps & { readonly connections: ConnectionStore },
  connectionId: string,
  identifier: string,
  history: unknown,
): Promise<MessageResult> {
  const request = parseHistoryRequest(history);
  const record = typeof request === 'string' ? undefined : await deps.connections.get(connectionId);
  const resolution = resolveChannel(deps.config, identifier);
  const appChannel = channelOf(record, identifier);
  const streams = resolution.kind === 'reject' ? appChannel?.streams : resolution.streams;
  const reason = typeof request === 'string' ? request
    : streams === undefined ? 'not_subscribed'
      : record?.sid === undefined ? 'not_an_ext_client' : undefined;
  if (reason !== undefined || typeof request === 'string' || streams === undefined) {
    deps.logger.info('history.rejected', { connectionId, identifier: identifier.slice(0, 100), reason });
    return { frames: [rejectHistory(identifier)], close: false };
  }
  const until = deps.clock.now() + REPLAY_HOLD_MS;
  const held: string[] = [];
  for (const stream of streams) {
    if (await deps.subscriptions.hold({ stream, connectionId, identifier }, until)) held.push(stream);
  }
  if (held.length === 0) {
    deps.logger.info('history.rejected', { connectionId, identifier: identifier.slice(0, 100), reason: 'not_subscribed' });
    return { frames: [rejectHistory(identifier)], close: false };
  }
  return replayHeld(deps, connectionId, identifier, held, request, []);
}

/** Reads what was missed on held rows; the result's `afterSent` releases them (with `liveFrom` after a replay). */
async function replayHeld(
  deps: HistoryReplayDeps,
  connectionId: string,
  identifier: string,
  streams: readonly string[],
  request: HistoryRequest,
  before: readonly string[],
): Promise<MessageResult> {
  const release = (positions?: Readonly<Record<string, number>>) => async () => {
    for (const stream of streams) {
      await deps.subscriptions.release({ stream, connectionId, identifier }, positions ? positions[stream] + 1 : undefined);
    }
  };
  let replay;
  try {
    replay = await readMissed(deps, identifier, streams, request);
  } catch (error) {
    await release()();
    throw error;
  }
  if (replay.kind === 'reject') {
    deps.logger.info('history.rejected', { connectionId, identifier: identifier.slice(0, 100), reason: replay.reason });
    return { frames: [], transmissions: [...before, encodeFrame(rejectHistory(identifier))], close: false, afterSent: release() };
  }
  return {
    frames: [],
    transmissions: [...before, ...replay.frames, encodeFrame(confirmHistory(identifier))],
    close: false,
    afterSent: release(replay.positions),
  };
}
