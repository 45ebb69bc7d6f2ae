/**
 * The ActionCable wire vocabulary (`actioncable-v1-json`) and AnyCable's extension of it
 * (`actioncable-v1-ext-json`), in one place.
 * @see https://github.com/rails/rails/blob/main/actioncable/lib/action_cable.rb (INTERNAL)
 * @see https://docs.anycable.io/misc/action_cable_protocol (Action Cable extended protocol)
 */

export const ACTIONCABLE_SUBPROTOCOL = 'actioncable-v1-json';
/** AnyCable's extended protocol: `sid` in `welcome`, stream positions, history (ext-protocol.ts). */
export const ACTIONCABLE_EXT_SUBPROTOCOL = 'actioncable-v1-ext-json';

/** The first subprotocol the client offered that the server speaks: the client's order decides. */
export function chooseSubprotocol(offered: readonly string[]): string | undefined {
  return offered.find((name) => name === ACTIONCABLE_SUBPROTOCOL || name === ACTIONCABLE_EXT_SUBPROTOCOL);
}

/** API Gateway refuses messages (and frames it posts) larger than this. */
export const MAX_MESSAGE_BYTES = 128 * 1024;

/** Reasons ActionCable clients understand in a `disconnect` frame. */
export type DisconnectReason = 'unauthorized' | 'invalid_request' | 'server_restart' | 'remote' | 'token_expired';

export type ServerFrame =
  | { readonly type: 'welcome'; readonly sid?: string }
  | { readonly type: 'ping'; readonly message: number }
  | { readonly type: 'confirm_subscription'; readonly identifier: string }
  | { readonly type: 'reject_subscription'; readonly identifier: string }
  | { readonly type: 'disconnect'; readonly reason: DisconnectReason; readonly reconnect: boolean }
  | { readonly type: 'confirm_history'; readonly identifier: string }
  | { readonly type: 'reject_history'; readonly identifier: string }
  | { readonly type: 'presence'; readonly identifier: string; readonly message: unknown }
  | { readonly identifier: string; readonly message: unknown };

export type ClientCommandName = 'subscribe' | 'unsubscribe' | 'message' | 'history' | 'whisper' | 'join' | 'leave' | 'presence';

export interface ClientCommand {
  readonly command: ClientCommandName;
  /** The channel identifier: itself a JSON string, compared verbatim. */
  readonly identifier: string;
  /** For `message`: a JSON string with the action's data; for `whisper`: its `data`, any JSON value, JSON-encoded. */
  readonly data?: string;
  /** For `subscribe` and `history` (ext protocol): what the client asks to be replayed, unchecked. */
  readonly history?: unknown;
  /** For `join` and `subscribe` (AnyCable presence): `{"id","info"}`, unchecked (presence.ts checks it). */
  readonly presence?: unknown;
}

/** `sid` for ext clients (and with JWT/RPC, whose welcome always carries it). */
export function welcome(sid?: string): ServerFrame {
  return sid === undefined ? { type: 'welcome' } : { type: 'welcome', sid };
}

export function ping(unixSeconds: number): ServerFrame {
  return { type: 'ping', message: unixSeconds };
}

export function confirmSubscription(identifier: string): ServerFrame {
  return { type: 'confirm_subscription', identifier };
}

export function rejectSubscription(identifier: string): ServerFrame {
  return { type: 'reject_subscription', identifier };
}

export function confirmHistory(identifier: string): ServerFrame {
  return { type: 'confirm_history', identifier };
}

export function rejectHistory(identifier: string): ServerFrame {
  return { type: 'reject_history', identifier };
}

/** The client treats a missing `reconnect` as false, so it is always explicit. */
export function disconnect(reason: DisconnectReason, reconnect: boolean): ServerFrame {
  return { type: 'disconnect', reason, reconnect };
}

/** What every rejected identification ends with (Rails' `reject_unauthorized_connection`): no reconnecting. */
export const UNAUTHORIZED: ServerFrame = disconnect('unauthorized', false);

export function encodeFrame(frame: ServerFrame): string {
  return JSON.stringify(frame);
}

/** The `type` and `identifier` of an encoded frame (the app's transmissions are text); undefined when it is not a JSON object. */
export function frameHead(text: string): { readonly type?: unknown; readonly identifier?: unknown } | undefined {
  try {
    const frame: unknown = JSON.parse(text);
    return typeof frame === 'object' && frame !== null ? frame as { type?: unknown; identifier?: unknown } : undefined;
  } catch {
    return undefined;
  }
}

export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
