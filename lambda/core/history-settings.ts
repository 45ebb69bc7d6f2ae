import { CableConfigError } from './errors';
import { DEFAULT_HISTORY } from '../../src/contract/defaults';

/**
 * anycable-go's broker settings `--history_limit`, `--history_ttl` and `--sessions_ttl`
 * (https://docs.anycable.io/anycable-go/reliable_streams, "Cache settings").
 */
export interface HistorySettings {
  /** Messages kept per stream; 0 keeps none, and broadcasts carry no `offset`/`epoch`. */
  readonly limit: number;
  /** How long a stream's messages (and its position, hence its epoch) are kept after its last broadcast. */
  readonly ttlSeconds: number;
  /** How long a gone ext connection's session can be restored (session-restore.ts); 0: never. */
  readonly sessionsTtlSeconds: number;
}

export function resolveHistory(settings: Partial<HistorySettings>): HistorySettings {
  const limit = settings.limit ?? DEFAULT_HISTORY.limit;
  const ttlSeconds = settings.ttlSeconds ?? DEFAULT_HISTORY.ttlSeconds;
  if (!Number.isInteger(limit) || limit < 0) throw new CableConfigError(`history.limit must be a non-negative integer, got ${limit}`);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new CableConfigError(`history.ttlSeconds must be a positive integer, got ${ttlSeconds}`);
  const sessionsTtlSeconds = settings.sessionsTtlSeconds ?? DEFAULT_HISTORY.sessionsTtlSeconds;
  if (!Number.isInteger(sessionsTtlSeconds) || sessionsTtlSeconds < 0) {
    throw new CableConfigError(`history.sessionsTtlSeconds must be a non-negative integer (0: no session restore), got ${sessionsTtlSeconds}`);
  }
  return { limit, ttlSeconds, sessionsTtlSeconds };
}
