import { Subscription, SubscriptionKey, SubscriptionPage, SubscriptionStore } from '../../core/ports';
import { subscriberKey } from '../dynamodb/schema';

const DEFAULT_PAGE_SIZE = 1000;

/** One stream's partition: rows by subscriber key, and the keys in sort order (DynamoDB's sort key order). */
interface Partition {
  readonly rows: Map<string, Subscription>;
  readonly keys: string[];
}

/**
 * Subscriptions keyed like the DynamoDB table (stream, then `<connectionId>#<identifier>`).
 * A page's cursor is its last key and the next page starts after it, as DynamoDB's
 * `ExclusiveStartKey` does: rows removed while a stream is being read (a fan-out removing gone
 * connections, or another shard doing so) shift nothing, so no subscriber is skipped or read twice.
 */
export class MemorySubscriptionStore implements SubscriptionStore {
  private readonly byStream = new Map<string, Partition>();

  async add(subscription: Subscription): Promise<'created' | 'exists'> {
    let partition = this.byStream.get(subscription.stream);
    if (!partition) {
      partition = { rows: new Map(), keys: [] };
      this.byStream.set(subscription.stream, partition);
    }
    const key = subscriberKey(subscription.connectionId, subscription.identifier);
    if (partition.rows.has(key)) return 'exists';
    partition.rows.set(key, subscription);
    partition.keys.splice(firstAfter(partition.keys, key), 0, key);
    return 'created';
  }

  async has(key: SubscriptionKey): Promise<boolean> {
    return this.byStream.get(key.stream)?.rows.has(subscriberKey(key.connectionId, key.identifier)) ?? false;
  }

  async get(key: SubscriptionKey): Promise<Subscription | undefined> {
    return this.byStream.get(key.stream)?.rows.get(subscriberKey(key.connectionId, key.identifier));
  }

  async hold(key: SubscriptionKey, untilMs: number): Promise<boolean> {
    const rows = this.byStream.get(key.stream)?.rows;
    const subscriber = subscriberKey(key.connectionId, key.identifier);
    const row = rows?.get(subscriber);
    if (!rows || !row) return false;
    rows.set(subscriber, { ...row, holdUntil: untilMs });
    return true;
  }

  async release(key: SubscriptionKey, liveFrom?: number): Promise<void> {
    const rows = this.byStream.get(key.stream)?.rows;
    const subscriber = subscriberKey(key.connectionId, key.identifier);
    const row = rows?.get(subscriber);
    if (!rows || !row) return;
    const { holdUntil: _released, ...rest } = row;
    rows.set(subscriber, { ...rest, ...(liveFrom !== undefined ? { liveFrom } : {}) });
  }

  async delete(key: SubscriptionKey): Promise<boolean> {
    const partition = this.byStream.get(key.stream);
    const subscriber = subscriberKey(key.connectionId, key.identifier);
    if (!partition?.rows.delete(subscriber)) return false;
    partition.keys.splice(firstAfter(partition.keys, subscriber) - 1, 1);
    if (partition.rows.size === 0) this.byStream.delete(key.stream);
    return true;
  }

  // Memory is consistent: known streams add nothing the scan does not find.
  async remove(connectionId: string, identifier: string, _knownStreams?: string[]): Promise<string[]> {
    return this.removeWhere((s) => s.connectionId === connectionId && s.identifier === identifier);
  }

  async removeStreams(connectionId: string, identifier: string, streams: string[]): Promise<void> {
    const stopped = new Set(streams);
    await this.removeWhere((s) => s.connectionId === connectionId && s.identifier === identifier && stopped.has(s.stream));
  }

  async removeAll(connectionId: string): Promise<SubscriptionKey[]> {
    const removed: SubscriptionKey[] = [];
    await this.removeWhere((s) => {
      if (s.connectionId !== connectionId) return false;
      removed.push({ stream: s.stream, connectionId, identifier: s.identifier });
      return true;
    });
    return removed;
  }

  async listByStream(stream: string, cursor?: string, limit = DEFAULT_PAGE_SIZE): Promise<SubscriptionPage> {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`limit must be a positive integer, got ${limit}`);
    const partition = this.byStream.get(stream);
    if (!partition) return { items: [], cursor: undefined };
    const start = cursor === undefined ? 0 : firstAfter(partition.keys, cursor);
    const keys = partition.keys.slice(start, start + limit);
    const more = start + limit < partition.keys.length;
    return { items: keys.map((key) => partition.rows.get(key)!), cursor: more ? keys[keys.length - 1] : undefined };
  }

  /** Every subscription, for tests and the local server's diagnostics. */
  all(): Subscription[] {
    return [...this.byStream.values()].flatMap((partition) => [...partition.rows.values()]);
  }

  private async removeWhere(match: (s: Subscription) => boolean): Promise<string[]> {
    const removed: string[] = [];
    for (const [stream, partition] of this.byStream) {
      for (const [key, subscription] of partition.rows) {
        if (!match(subscription)) continue;
        partition.rows.delete(key);
        partition.keys.splice(firstAfter(partition.keys, key) - 1, 1);
        removed.push(stream);
      }
      if (partition.rows.size === 0) this.byStream.delete(stream);
    }
    return removed;
  }
}

/** Index of the first key greater than `key` in sorted `keys` (binary search). */
function firstAfter(keys: readonly string[], key: string): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (keys[middle] <= key) low = middle + 1;
    else high = middle;
  }
  return low;
}
