import { ChannelRecord, ConnectionRecord, ConnectionStateUpdate, ConnectionStore, mergeState, PingCandidatePage } from '../../core/ports';

const DEFAULT_PAGE_SIZE = 1000;

/** Connections in a Map: the local server's embedded store and the core tests' store. */
export class MemoryConnectionStore implements ConnectionStore {
  readonly records = new Map<string, ConnectionRecord>();
  /** Each connection's subscription count and invalid frames, attributes of its row in DynamoDB: they go with it. */
  readonly counts = new Map<string, { subscriptions: number; invalidFrames: number }>();

  /** `pageSize`: connections per `listForPing` page (small in tests, to exercise cursors). */
  constructor(private readonly pageSize = DEFAULT_PAGE_SIZE) {}

  async put(record: ConnectionRecord): Promise<void> {
    this.records.set(record.connectionId, record);
    this.counts.delete(record.connectionId);
  }

  async get(connectionId: string): Promise<ConnectionRecord | undefined> {
    return this.records.get(connectionId);
  }

  async delete(connectionId: string): Promise<ConnectionRecord | undefined> {
    const record = this.records.get(connectionId);
    this.records.delete(connectionId);
    this.counts.delete(connectionId);
    return record;
  }

  async forbidRestore(connectionId: string): Promise<void> {
    const record = this.records.get(connectionId);
    if (record) this.records.set(connectionId, { ...record, noRestore: true });
  }

  async markPresence(connectionId: string): Promise<void> {
    const record = this.records.get(connectionId);
    if (record) this.records.set(connectionId, { ...record, presenceJoined: true });
  }

  async reserveSubscription(connectionId: string, max: number): Promise<boolean> {
    const counts = this.countsOf(connectionId);
    if (!counts || counts.subscriptions >= max) return false;
    counts.subscriptions++;
    return true;
  }

  async releaseSubscription(connectionId: string): Promise<void> {
    const counts = this.countsOf(connectionId);
    if (counts && counts.subscriptions > 0) counts.subscriptions--;
  }

  async countInvalidFrame(connectionId: string): Promise<number | undefined> {
    const counts = this.countsOf(connectionId);
    if (!counts) return undefined;
    return ++counts.invalidFrames;
  }

  /** The counts of a connection that has a row (undefined otherwise), created at zero. */
  private countsOf(connectionId: string): { subscriptions: number; invalidFrames: number } | undefined {
    if (!this.records.has(connectionId)) return undefined;
    let counts = this.counts.get(connectionId);
    if (!counts) {
      counts = { subscriptions: 0, invalidFrames: 0 };
      this.counts.set(connectionId, counts);
    }
    return counts;
  }

  /**
   * A segment holds the connections whose id hashes to it, in id order; a page's cursor is its
   * last id, and the next page starts after it, as DynamoDB's `ExclusiveStartKey` does, so
   * connections removed meanwhile shift nothing.
   */
  async listForPing(segment: number, totalSegments: number, cursor?: string): Promise<PingCandidatePage> {
    if (!Number.isInteger(totalSegments) || totalSegments < 1 || !Number.isInteger(segment) || segment < 0 || segment >= totalSegments) {
      throw new Error(`listForPing: segment must be an integer from 0 to totalSegments - 1, got ${segment} of ${totalSegments}`);
    }
    const ids = [...this.records.keys()]
      .filter((id) => segmentOf(id, totalSegments) === segment && (cursor === undefined || id > cursor))
      .sort();
    const page = ids.slice(0, this.pageSize);
    return {
      items: page.map((id) => {
        const { connectionId, connectedAt, pingIntervalSeconds } = this.records.get(id)!;
        return { connectionId, connectedAt, ...(pingIntervalSeconds !== undefined ? { pingIntervalSeconds } : {}) };
      }),
      cursor: ids.length > page.length ? page[page.length - 1] : undefined,
    };
  }

  async findByIdentifiers(identifiers: string): Promise<string[]> {
    return [...this.records.values()].filter((record) => record.identifiers === identifiers).map((record) => record.connectionId);
  }

  async updateState(connectionId: string, update: ConnectionStateUpdate): Promise<'updated' | 'connection_gone' | 'channel_gone'> {
    const record = this.records.get(connectionId);
    if (!record) return 'connection_gone';
    const channels: Record<string, ChannelRecord> = { ...record.channels };
    const { channel } = update;
    if (channel?.onlyIfSubscribed && !Object.prototype.hasOwnProperty.call(channels, channel.identifier)) return 'channel_gone';
    if (channel) {
      if (channel.record) channels[channel.identifier] = channel.record;
      else delete channels[channel.identifier];
    }
    this.records.set(connectionId, { ...record, cstate: mergeState(record.cstate ?? {}, update.cstate), channels });
    return 'updated';
  }
}

/** A polynomial hash of the id, modulo a prime: a stable, even spread, like DynamoDB's hash segments. */
function segmentOf(connectionId: string, totalSegments: number): number {
  let hash = 0;
  for (let i = 0; i < connectionId.length; i++) hash = (hash * 31 + connectionId.charCodeAt(i)) % 2_147_483_647;
  return hash % totalSegments;
}
