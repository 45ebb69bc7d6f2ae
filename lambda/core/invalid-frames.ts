import { LimitSettings } from './config';
import { ConnectionStore, LogFields, Logger } from './ports';
import { disconnect, ServerFrame } from './protocol';

export interface InvalidFrameDeps {
  readonly config: { readonly limits: LimitSettings };
  readonly connections: ConnectionStore;
  readonly logger: Logger;
}

export interface InvalidFrameOutcome {
  readonly frames: ServerFrame[];
  readonly close: boolean;
}

/**
 * A frame that is not a command. Each is a paid invocation in AWS, so the connection's count
 * (one atomic increment on its row: only bad frames cost a write) ends it at
 * `limits.maxInvalidFrames` with `invalid_request`, without reconnecting: the client would send
 * the same again. The warning is sampled (the 1st, 2nd, 4th, 8th... with the count), so a flood
 * writes a few log lines, not one per frame. A connection without a row (refused at `$connect`,
 * or gone) has nothing to count on and is closed at once.
 */
export async function invalidFrame(
  deps: InvalidFrameDeps, connectionId: string, reason: string, fields: LogFields = {},
): Promise<InvalidFrameOutcome> {
  const max = deps.config.limits.maxInvalidFrames;
  const count = await deps.connections.countInvalidFrame(connectionId);
  if (count === undefined) {
    deps.logger.warn('message.invalid_request', { connectionId, reason: 'invalid_frame_unknown_connection', frame: reason });
    return { frames: [INVALID_REQUEST], close: true };
  }
  if (count < max) {
    if (isSampled(count)) deps.logger.warn('message.ignored', { connectionId, reason, ...fields, count });
    return { frames: [], close: false };
  }
  if (count === max) {
    deps.logger.warn('message.invalid_request', { connectionId, reason: 'too_many_invalid_frames', frame: reason, count });
    return { frames: [INVALID_REQUEST], close: true };
  }
  // Frames already in flight when the connection was told: closing again costs nothing, telling again a post that fails.
  if (isSampled(count)) deps.logger.warn('message.ignored', { connectionId, reason, ...fields, count, closing: true });
  return { frames: [], close: true };
}

const INVALID_REQUEST = disconnect('invalid_request', false);

/** The counts that are logged: 1, 2, 4, 8... so n frames write about log2(n) lines. */
export function isSampled(count: number): boolean {
  return count > 0 && Number.isInteger(Math.log2(count));
}
