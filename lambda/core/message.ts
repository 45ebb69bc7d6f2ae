import { AfterSent, afterSentInOrder } from './after-sent';
import { performAppCommand } from './app-channel';
import { isBuiltInChannel } from './channels';
import { historyCommand, HistoryReplayDeps, subscribeAppChannelWithHistory, subscribeWithHistory } from './history-replay';
import { invalidFrame } from './invalid-frames';
import { ConnectionStore, Logger } from './ports';
import { leaveOnUnsubscribe, PresenceDeps, presenceCommand } from './presence';
import { byteLength, ClientCommand, disconnect, encodeFrame, frameHead, MAX_MESSAGE_BYTES, ServerFrame, UNAUTHORIZED } from './protocol';
import type { RpcClient } from './rpc-client';
import { subscribe, SubscribeDeps, unsubscribe } from './subscribe';
import { whisper, WhisperDeps } from './whisper';

export interface InboundFrame {
  readonly connectionId: string;
  readonly body: string;
  /** Binary WebSocket frame (API Gateway: `isBase64Encoded`). */
  readonly binary: boolean;
}

export interface MessageResult {
  /** Frames to send back to this connection, in order. */
  readonly frames: ServerFrame[];
  /** Frames the app sent (AnyCable RPC `transmissions`), already JSON, sent after `frames`. */
  readonly transmissions?: readonly string[];
  /** Close the connection after sending the frames. */
  readonly close: boolean;
  /** To run once the frames are sent (or the client is found gone): a history replay's release (history-replay.ts). */
  readonly afterSent?: AfterSent;
}

export type MessageDeps = SubscribeDeps & Pick<HistoryReplayDeps, 'history'> & Pick<WhisperDeps, 'shards'> & Pick<PresenceDeps, 'presence'> & {
  readonly logger: Logger;
  /** The app's RPC endpoints: channels other than the built-in ones go there. Absent: they are rejected. */
  readonly rpc?: RpcClient;
  /** Counts subscriptions and invalid frames; with `rpc`, an app channel's command reads and updates the connection's state. */
  readonly connections: ConnectionStore;
};

/**
 * `$default`: one client frame. Bad input has one defined outcome each (docs/protocol.md):
 * binary or oversized frames end the connection with `invalid_request` (reconnecting would
 * repeat them); malformed JSON, unknown commands, a missing or non-string identifier and
 * `message` to a built-in channel (they have no actions) are ignored, as Rails does, but counted:
 * the `limits.maxInvalidFrames`th ends the connection (invalid-frames.ts); a string identifier
 * that is not a channel's JSON is rejected (Rails logs it, leaving the client re-sending
 * `subscribe` every 500 ms). With the app's RPC configured, every other channel is the app's
 * (app-channel.ts). `whisper` (AnyCable's) goes to whisper.ts for every channel; one without
 * `data` is ignored and counted.
 */
export async function handleMessage(deps: MessageDeps, frame: InboundFrame): Promise<MessageResult> {
  const { connectionId } = frame;
  if (frame.binary) return invalidRequest(deps.logger, connectionId, 'binary_frame');
  if (Buffer.byteLength(frame.body) > MAX_MESSAGE_BYTES) return invalidRequest(deps.logger, connectionId, 'message_too_large');

  const command = parseCommand(frame.body);
  // The ext protocol's answer to a server `ping` (ext-protocol.ts): liveness only, nothing to do.
  if (command === PONG) return { frames: [], close: false };
  if (typeof command === 'string') return invalidFrame(deps, connectionId, command);
  if (command.command === 'history') return historyCommand(deps, connectionId, command.identifier, command.history);
  // For built-in and app channels alike (whisper.ts); parseCommand made sure of `data`.
  if (command.command === 'whisper') return whisper(deps, connectionId, command.identifier, command.data!);
  // AnyCable presence (presence.ts), for built-in and app channels alike.
  if (command.command === 'join' || command.command === 'leave' || command.command === 'presence') {
    return presenceCommand(deps, connectionId, command.command, command.identifier, command.presence);
  }
  const result = await dispatch(deps, connectionId, command);
  return afterCommand(deps, connectionId, command, result);
}

/** subscribe, unsubscribe, message. */
async function dispatch(deps: MessageDeps, connectionId: string, command: ClientCommand): Promise<MessageResult> {
  if (deps.rpc && !isBuiltInChannel(command.identifier)) {
    // The app's channels read the connection row anyway, and refuse a connection without one.
    const appDeps = { ...deps, rpc: deps.rpc, connections: deps.connections };
    const result = command.command === 'subscribe' && command.history !== undefined
      ? await subscribeAppChannelWithHistory(appDeps, connectionId, command)
      : { frames: [], ...await performAppCommand(appDeps, connectionId, command) };
    // The app closes it (its `disconnect`): a session restore must not bring it back (session-restore.ts).
    if (result.close) await deps.connections.forbidRestore(connectionId);
    const { frames, transmissions, close, afterSent } = result;
    return { frames, transmissions, close, ...(afterSent ? { afterSent } : {}) };
  }
  switch (command.command) {
    case 'subscribe': {
      // Read for every subscribe: the row says whether the client speaks the ext protocol (its sid).
      const record = await deps.connections.get(connectionId);
      if (!record && identificationRequired(deps)) return unknownConnection(deps.logger, connectionId);
      if (record?.sid !== undefined && command.history !== undefined) {
        return subscribeWithHistory(deps, connectionId, command.identifier, record.sid, command.history);
      }
      return replyWithin(deps.logger, connectionId, await subscribe(deps, connectionId, command.identifier, record?.sid));
    }
    case 'unsubscribe':
      return { frames: await unsubscribe(deps, connectionId, command.identifier), close: false };
    case 'message':
      return invalidFrame(deps, connectionId, 'no_actions_on_builtin_channels', { identifier: command.identifier });
    default:
      return invalidFrame(deps, connectionId, 'unknown_command');
  }
}

/**
 * Presence around subscriptions, as anycable-go's node.go does: a confirmed `subscribe` with a
 * `presence` field joins (`@anycable/core` sends one when it resubscribes a channel it had
 * joined), its `join` announced once the confirm is sent; an `unsubscribe` leaves at once.
 */
async function afterCommand(deps: MessageDeps, connectionId: string, command: ClientCommand, result: MessageResult): Promise<MessageResult> {
  if (result.close || !deps.presence) return result;
  if (command.command === 'unsubscribe') {
    await leaveOnUnsubscribe(deps, connectionId, command.identifier);
    return result;
  }
  if (command.command !== 'subscribe' || command.presence === undefined || !confirmed(result, command.identifier)) return result;
  const joined = await presenceCommand(deps, connectionId, 'join', command.identifier, command.presence);
  // The join is announced after the confirm is sent, and after a history replay's release.
  return { ...result, frames: [...result.frames, ...joined.frames], close: joined.close, ...afterSentInOrder(result.afterSent, joined.afterSent) };
}

function confirmed(result: MessageResult, identifier: string): boolean {
  type Head = { readonly type?: unknown; readonly identifier?: unknown } | undefined;
  const isConfirm = (head: Head) => head?.type === 'confirm_subscription' && head.identifier === identifier;
  return result.frames.some((frame) => isConfirm(frame as Head)) || (result.transmissions ?? []).some((text) => isConfirm(frameHead(text)));
}

/**
 * Whether every connection must have been identified to act: with the app's RPC or
 * `enforceJwt`, a rejected client is let in only to be told why (identify.ts) and stores no row,
 * so a `subscribe` from a connection without a row (rejected, or already cleaned up) is refused
 * and the socket closed. Without them an anonymous connection may subscribe anyway, and the
 * check would cost a read for nothing.
 */
function identificationRequired(deps: MessageDeps): boolean {
  return deps.rpc !== undefined || deps.config.jwt?.enforce === true;
}

function unknownConnection(logger: Logger, connectionId: string): MessageResult {
  logger.warn('message.unknown_connection', { connectionId });
  return { frames: [UNAUTHORIZED], close: true };
}

/** The ext protocol's `{"command":"pong"}`. */
export const PONG = 'pong';

/** Returns the command, `PONG`, or the reason it is not one. */
export function parseCommand(body: string): ClientCommand | typeof PONG | string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return 'invalid_json';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not_an_object';
  const { command, identifier, data, history, presence } = value as Record<string, unknown>;
  if (command === PONG) return PONG;
  if (!COMMANDS.has(command as string)) return 'unknown_command';
  if (typeof identifier !== 'string' || identifier.length === 0) return 'invalid_identifier';
  if (command === 'message' && typeof data !== 'string') return 'invalid_data';
  // Any JSON value, as anycable-go's `Message.Data interface{}`; without one there is nothing to whisper.
  if (command === 'whisper') return data === undefined ? 'invalid_whisper_data' : { command, identifier, data: JSON.stringify(data) };
  return {
    command: command as ClientCommand['command'],
    identifier,
    data: typeof data === 'string' ? data : undefined,
    ...(history !== undefined ? { history } : {}),
    ...(presence !== undefined ? { presence } : {}),
  };
}

const COMMANDS: ReadonlySet<string> = new Set(['subscribe', 'unsubscribe', 'message', 'history', 'whisper', 'join', 'leave', 'presence']);

/** A reply echoes client input (the identifier); API Gateway would refuse one over 128 KB. */
function replyWithin(logger: Logger, connectionId: string, frames: ServerFrame[]): MessageResult {
  if (frames.some((frame) => byteLength(encodeFrame(frame)) > MAX_MESSAGE_BYTES)) return invalidRequest(logger, connectionId, 'reply_too_large');
  return { frames, close: false };
}

function invalidRequest(logger: Logger, connectionId: string, reason: string): MessageResult {
  logger.warn('message.invalid_request', { connectionId, reason });
  return { frames: [disconnect('invalid_request', false)], close: true };
}
