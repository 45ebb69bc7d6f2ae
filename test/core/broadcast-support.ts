import { Behaviour, makeWorld, playBehaviour, START_MS, World } from './support';
import { MemorySubscriptionStore } from '../../lambda/adapters/memory/memory-subscription-store';
import { FanOutDeps } from '../../lambda/core/broadcast';
import { CableSettings } from '../../lambda/core/config';
import { ShardDispatcher, ShardRequest, SubscriptionPage, SubscriptionStore, Transport } from '../../lambda/core/ports';

export type { Behaviour } from './support';

/**
 * A transport that plays a script per connection and records what fan-out depends on: frames per
 * connection, attempts, and the most posts ever in flight at once. Each post yields to the event
 * loop before answering, so posts that a pool starts together really overlap.
 */
export class ScriptedTransport implements Transport {
  readonly sent = new Map<string, string[]>();
  readonly attempts = new Map<string, number>();
  /** Connection ids in the order their posts began. */
  readonly started: string[] = [];
  maxInFlight = 0;
  private inFlight = 0;

  constructor(private readonly script: Readonly<Record<string, Behaviour>> = {}) {}

  async send(connectionId: string, data: string): Promise<void> {
    this.started.push(connectionId);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((resolve) => setImmediate(resolve));
      playBehaviour(this.script, this.attempts, connectionId);
      this.sent.set(connectionId, [...(this.sent.get(connectionId) ?? []), data]);
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {}

  /** Every frame sent, decoded, keyed by connection. */
  decoded(): Record<string, unknown[]> {
    return Object.fromEntries([...this.sent].map(([id, frames]) => [id, frames.map((f) => JSON.parse(f))]));
  }
}

/** Records shard dispatches; `fail` makes the dispatch of the shards it matches throw. */
export class RecordingDispatcher implements ShardDispatcher {
  readonly shards: ShardRequest[] = [];

  constructor(private readonly fail: (shard: ShardRequest, index: number) => boolean = () => false) {}

  async dispatch(shard: ShardRequest): Promise<void> {
    const index = this.shards.push(shard) - 1;
    if (this.fail(shard, index)) throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
  }
}

/**
 * A store that pages as DynamoDB does: at most `maxPage` items per call whatever the limit (the
 * 1 MB cap), and a cursor whenever a page stopped at the limit, even with nothing after it.
 */
export class DynamoLikeStore implements SubscriptionStore {
  readonly calls: { cursor?: string; limit?: number }[] = [];

  constructor(readonly inner: MemorySubscriptionStore, private readonly maxPage = Number.POSITIVE_INFINITY) {}

  add: SubscriptionStore['add'] = (s) => this.inner.add(s);
  has: SubscriptionStore['has'] = (key) => this.inner.has(key);
  get: SubscriptionStore['get'] = (key) => this.inner.get(key);
  hold: SubscriptionStore['hold'] = (key, untilMs) => this.inner.hold(key, untilMs);
  release: SubscriptionStore['release'] = (key, liveFrom) => this.inner.release(key, liveFrom);
  delete: SubscriptionStore['delete'] = (key) => this.inner.delete(key);
  remove: SubscriptionStore['remove'] = (...args) => this.inner.remove(...args);
  removeStreams: SubscriptionStore['removeStreams'] = (...args) => this.inner.removeStreams(...args);
  removeAll: SubscriptionStore['removeAll'] = (id) => this.inner.removeAll(id);

  async listByStream(stream: string, cursor?: string, limit = 1000): Promise<SubscriptionPage> {
    this.calls.push({ cursor, limit });
    const asked = Math.min(limit, this.maxPage);
    const page = await this.inner.listByStream(stream, cursor, asked);
    const last = page.items[page.items.length - 1];
    return { items: page.items, cursor: page.items.length === asked && last ? `${last.connectionId}#${last.identifier}` : page.cursor };
  }
}

export const ROOM = 'room:1';
export const TURBO_ID = JSON.stringify({ channel: 'Turbo::StreamsChannel', signed_stream_name: 'signed-room' });
export const PUBSUB_ID = JSON.stringify({ channel: '$pubsub', stream_name: ROOM });
/** A Turbo Stream as Rails JSON-encodes it: `data` of the broadcast. */
export const HTML = '<turbo-stream action="append" target="messages"><template><p>hi</p></template></turbo-stream>';
export const DATA = JSON.stringify(HTML);

/** Connection ids that sort in creation order: c000, c001, ... */
export function connectionIds(count: number, prefix = 'c'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);
}

export interface FanOutWorld extends World {
  readonly scripted: ScriptedTransport;
  readonly deps: FanOutDeps;
}

/**
 * A world whose connections `ids` each have a connection row and a subscription to `stream`,
 * alternating Turbo and $pubsub identifiers, with a ScriptedTransport and a fixed jitter of 0.5.
 */
export async function fanOutWorld(options: {
  ids: string[];
  stream?: string;
  script?: Record<string, Behaviour>;
  delivery?: CableSettings['delivery'];
  pageSize?: number;
  subscriptions?: SubscriptionStore;
}): Promise<FanOutWorld> {
  const world = makeWorld({ secret: 'secret', delivery: options.delivery });
  const scripted = new ScriptedTransport(options.script);
  for (const [index, connectionId] of options.ids.entries()) {
    await world.connections.put({ connectionId, connectedAt: START_MS, expiresAt: 0, subprotocol: 'actioncable-v1-json', headers: {}, query: {} });
    const identifier = index % 2 === 0 ? TURBO_ID : PUBSUB_ID;
    await world.subscriptions.add({ stream: options.stream ?? ROOM, connectionId, identifier, expiresAt: 0 });
  }
  const deps: FanOutDeps = {
    ...world,
    subscriptions: options.subscriptions ?? world.subscriptions,
    transport: scripted,
    random: () => 0.5,
    pageSize: options.pageSize,
  };
  return { ...world, scripted, deps };
}

/** The frame a subscriber under `identifier` must receive for `data`, decoded. */
export function expectedFrame(identifier: string, data = DATA): unknown {
  return { identifier, message: JSON.parse(data) };
}
