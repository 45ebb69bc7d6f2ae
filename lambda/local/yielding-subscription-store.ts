import { Subscription, SubscriptionKey, SubscriptionPage, SubscriptionStore } from '../core/ports';

/** Subscriber reads between two turns of the event loop. */
export const READS_PER_TURN = 64;

/**
 * A subscription store whose `listByStream` lets the event loop turn once every `READS_PER_TURN`
 * calls. The core delivers a batch one broadcast after another, each starting with a read; with
 * the in-memory store every await resolves as a microtask, so without this a 50,000-message batch
 * kept every other request (and every socket) waiting until it was done: about 2.8 s. DynamoDB
 * reads are I/O and let the loop turn anyway; in AWS each Function URL request has its own Lambda.
 */
export class YieldingSubscriptionStore implements SubscriptionStore {
  private reads = 0;

  constructor(private readonly store: SubscriptionStore) {}

  async listByStream(stream: string, cursor?: string, limit?: number): Promise<SubscriptionPage> {
    if (++this.reads % READS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
    return this.store.listByStream(stream, cursor, limit);
  }

  add(subscription: Subscription): Promise<'created' | 'exists'> {
    return this.store.add(subscription);
  }

  has(key: SubscriptionKey): Promise<boolean> {
    return this.store.has(key);
  }

  get(key: SubscriptionKey): Promise<Subscription | undefined> {
    return this.store.get(key);
  }

  hold(key: SubscriptionKey, untilMs: number): Promise<boolean> {
    return this.store.hold(key, untilMs);
  }

  release(key: SubscriptionKey, liveFrom?: number): Promise<void> {
    return this.store.release(key, liveFrom);
  }

  delete(key: SubscriptionKey): Promise<boolean> {
    return this.store.delete(key);
  }

  remove(connectionId: string, identifier: string, knownStreams?: string[]): Promise<string[]> {
    return this.store.remove(connectionId, identifier, knownStreams);
  }

  removeStreams(connectionId: string, identifier: string, streams: string[]): Promise<void> {
    return this.store.removeStreams(connectionId, identifier, streams);
  }

  removeAll(connectionId: string): Promise<SubscriptionKey[]> {
    return this.store.removeAll(connectionId);
  }
}
