import { CableConfigError } from './errors';
import { DEFAULT_HISTORY } from '../../src/contract/defaults';

/** anycable-go's `--history_limit` and `--history_ttl` (https://docs.anycable.io/anycable-go/reliable_streams). */
export interface HistorySettings {
  /** Messages kept per stream; 0 keeps none, and broadcasts carry no `offset`/`epoch`. */
  readonly limit: number;
  /** How long a stream's messages (and its position, hence its epoch) are kept after its last broadcast. */
  readonly ttlSeconds: number;
}

export function resolveHistory(settings: Partial<HistorySettings>): HistorySettings {
  const limit = settings.limit ?? DEFAULT_HISTORY.limit;
  const ttlSeconds = settings.ttlSeconds ?? DEFAULT_HISTORY.ttlSeconds;
  if (!Number.isInteger(limit) || limit < 0) throw new CableConfigError(`history.limit must be a non-negative integer, got ${limit}`);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new CableConfigError(`history.ttlSeconds must be a positive integer, got ${ttlSeconds}`);
  return { limit, ttlSeconds };
}
