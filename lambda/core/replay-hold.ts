import { Clock, Subscription, SubscriptionStore } from './ports';

/**
 * How long a history replay may hold fan-out to its subscriber (history-replay.ts): long enough
 * to post the history limit's messages; a replay that died (its invocation timed out) stops
 * holding after it, and fan-out delivers as before.
 */
export const REPLAY_HOLD_MS = 10_000;

const FIRST_POLL_MS = 20;
const MAX_POLL_MS = 200;

/**
 * The subscriber's row once no replay holds it: the row as listed when it has no hold, else read
 * again (consistently) until the replay has released it, the hold has passed, or the row is gone
 * (undefined). Only rows being replayed to wait, and only for that replay.
 */
export async function afterHold(
  deps: { readonly subscriptions: SubscriptionStore; readonly clock: Clock },
  listed: Subscription,
): Promise<Subscription | undefined> {
  let row: Subscription | undefined = listed;
  let wait = FIRST_POLL_MS;
  while (row?.holdUntil !== undefined && deps.clock.now() < row.holdUntil) {
    await deps.clock.sleep(wait);
    wait = Math.min(wait * 2, MAX_POLL_MS);
    row = await deps.subscriptions.get(row);
  }
  return row;
}
