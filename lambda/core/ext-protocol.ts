import { randomBytes } from 'node:crypto';

/**
 * AnyCable's extended protocol (`actioncable-v1-ext-json`), what it adds to ActionCable's:
 * - `welcome` carries `sid`, the session id;
 * - broadcasts carry `stream_id`, `epoch` and `offset` (the stream's position, stream-history.ts);
 * - `subscribe` may carry `history: {since}` and the `history` command asks for missed messages,
 *   answered `confirm_history` or `reject_history`;
 * - the client answers each server `ping` with a `pong` command (liveness; nothing to answer).
 * @see https://docs.anycable.io/misc/action_cable_protocol (Action Cable extended protocol)
 * @see https://docs.anycable.io/anycable-go/reliable_streams
 */

/**
 * A new session id: 128 random bits, base64url (22 characters). Never the API Gateway connection
 * id, which appears in API Gateway's and our logs: session restore (issue 16, phase 2) will key
 * sessions by it, which makes it a credential, so it is never logged either.
 */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

/** A stream's position as ext clients see it. */
export interface StreamPosition {
  readonly offset: number;
  readonly epoch: string;
}

/** What a client asks to be replayed: messages since a time, or after a position per stream. */
export interface HistoryRequest {
  /** Unix seconds: messages stored since then, for streams without a position. */
  readonly since?: number;
  readonly streams: Readonly<Record<string, StreamPosition>>;
}

/**
 * The `history` of a `subscribe` or `history` command, checked; a string says why it is not one
 * (the caller answers `reject_history`). `since` and `streams` may each be absent, not both.
 */
export function parseHistoryRequest(value: unknown): HistoryRequest | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'history_not_an_object';
  const { since, streams } = value as Record<string, unknown>;
  if (since !== undefined && (typeof since !== 'number' || !Number.isFinite(since) || since < 0)) return 'invalid_since';
  if (streams !== undefined && (typeof streams !== 'object' || streams === null || Array.isArray(streams))) return 'invalid_streams';
  const positions: Record<string, StreamPosition> = {};
  for (const [stream, position] of Object.entries((streams ?? {}) as Record<string, unknown>)) {
    const { offset, epoch } = (position ?? {}) as Record<string, unknown>;
    if (!Number.isSafeInteger(offset) || (offset as number) < 0 || typeof epoch !== 'string') return 'invalid_position';
    positions[stream] = { offset: offset as number, epoch };
  }
  if (since === undefined && Object.keys(positions).length === 0) return 'empty_history_request';
  return { ...(since !== undefined ? { since } : {}), streams: positions };
}

/**
 * A broadcast frame for an ext client: ActionCable's, plus the stream and its position. Built as
 * a string for the same reason as `broadcastFrame` (broadcast-frame.ts): `data` goes in verbatim.
 */
export function extBroadcastFrame(identifier: string, data: string, stream: string, position: StreamPosition): string {
  return `{"identifier":${JSON.stringify(identifier)},"message":${data},"stream_id":${JSON.stringify(stream)},"epoch":${JSON.stringify(position.epoch)},"offset":${position.offset}}`;
}
