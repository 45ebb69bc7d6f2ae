import { StreamPosition } from '../../core/ext-protocol';
import { AppendOptions, StoredMessage, StreamHistoryStore } from '../../core/stream-history';

interface StreamRecord {
  offset: number;
  epoch: string;
  expiresAtMs: number;
  readonly messages: Map<number, StoredMessage & { readonly expiresAtMs: number }>;
}

/** Stream positions and history in memory, with the DynamoDB adapter's expiry semantics. */
export class MemoryStreamHistory implements StreamHistoryStore {
  private readonly streams = new Map<string, StreamRecord>();

  async append(stream: string, data: string, options: AppendOptions): Promise<StreamPosition> {
    const expiresAtMs = options.nowMs + options.ttlSeconds * 1000;
    let record = this.streams.get(stream);
    if (!record || record.expiresAtMs <= options.nowMs) {
      record = { offset: 0, epoch: options.newEpoch, expiresAtMs, messages: new Map() };
      this.streams.set(stream, record);
    }
    // As DynamoDB's TTL removes them: expired messages go, so a busy stream keeps only its TTL's worth.
    for (const [offset, message] of record.messages) {
      if (message.expiresAtMs > options.nowMs) break;
      record.messages.delete(offset);
    }
    record.offset++;
    record.expiresAtMs = expiresAtMs;
    record.messages.set(record.offset, { offset: record.offset, data, storedAt: options.nowMs, expiresAtMs });
    return { offset: record.offset, epoch: record.epoch };
  }

  async position(stream: string, nowMs: number): Promise<StreamPosition | undefined> {
    const record = this.streams.get(stream);
    return record && record.expiresAtMs > nowMs ? { offset: record.offset, epoch: record.epoch } : undefined;
  }

  async read(stream: string, after: number, through: number, nowMs: number): Promise<StoredMessage[]> {
    const record = this.streams.get(stream);
    const found: StoredMessage[] = [];
    for (let offset = after + 1; record && offset <= through; offset++) {
      const message = record.messages.get(offset);
      if (message && message.expiresAtMs > nowMs) found.push({ offset, data: message.data, storedAt: message.storedAt });
    }
    return found;
  }
}
