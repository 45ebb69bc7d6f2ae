import { CheckSocket } from './check-socket';

/** One step of the check and the helpers every step uses. */

export type CheckStepName = 'handshake' | 'welcome' | 'ping' | 'subscribe' | 'forged' | 'broadcast' | 'broadcast_key' | 'close';

export interface CheckStep {
  readonly name: CheckStepName;
  readonly status: 'pass' | 'fail' | 'skip';
  readonly expected: string;
  /** What came back (for a skipped step: why it did not run). */
  readonly got: string;
  readonly ms?: number;
  /** For a failure: the likely cause and the fix. */
  readonly hint?: string;
}

type Frame = { type?: unknown; identifier?: unknown; message?: unknown; reason?: unknown };

export const asFrame = (json: unknown): Frame => (typeof json === 'object' && json !== null ? json as Frame : {});

/** What a wait that got nothing saw: a close, or silence. */
export function silence(socket: CheckSocket, waitedMs: number): string {
  const closed = socket.closed;
  return closed ? `the server closed the socket (${closed.code}${closed.reason ? ` ${closed.reason}` : ''})` : `nothing within ${waitedMs} ms`;
}

export function elapsed(since: number): number {
  return Math.round(performance.now() - since);
}
