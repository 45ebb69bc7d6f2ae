import { Subscription, SubscriptionPage, SubscriptionStore } from '../../core/ports';
import { subscriberKey } from '../dynamodb/schema';

const DEFAULT_PAGE_SIZE = 1000;

/** Subscriptions keyed like the DynamoDB table (stream, then `<connectionId>#<identifier>`). */
export class MemorySubscriptionStore implements SubscriptionStore {
  private readonly byStream = new Map<string, Map<string, Subscription>>();

  async add(subscription: Subscription): Promise<'created' | 'exists'> {
    let subscribers = this.byStream.get(subscription.stream);
    if (!subscribers) {
      subscribers = new Map();
      this.byStream.set(subscription.stream, subscribers);
    }
    const key = subscriberKey(subscription.connectionId, subscription.identifier);
    if (subscribers.has(key)) return 'exists';
    subscribers.set(key, subscription);
    return 'created';
  }

  // Memory is consistent: known streams add nothing the scan does not find.
  async remove(connectionId: string, identifier: string, _knownStreams?: string[]): Promise<string[]> {
    return this.removeWhere((s) => s.connectionId === connectionId && s.identifier === identifier);
  }

  async removeAll(connectionId: string): Promise<number> {
    return (await this.removeWhere((s) => s.connectionId === connectionId)).length;
  }

  async listByStream(stream: string, cursor?: string, limit = DEFAULT_PAGE_SIZE): Promise<SubscriptionPage> {
    const all = [...(this.byStream.get(stream)?.values() ?? [])];
    const start = cursor ? Number(cursor) : 0;
    const items = all.slice(start, start + limit);
    const next = start + limit;
    return { items, cursor: next < all.length ? String(next) : undefined };
  }

  /** Every subscription, for tests and the local server's diagnostics. */
  all(): Subscription[] {
    return [...this.byStream.values()].flatMap((subscribers) => [...subscribers.values()]);
  }

  private async removeWhere(match: (s: Subscription) => boolean): Promise<string[]> {
    const removed: string[] = [];
    for (const [stream, subscribers] of this.byStream) {
      for (const [key, subscription] of subscribers) {
        if (!match(subscription)) continue;
        subscribers.delete(key);
        removed.push(stream);
      }
      if (subscribers.size === 0) this.byStream.delete(stream);
    }
    return removed;
  }
}
