import { ConnectionRecord, ConnectionStore } from '../../core/ports';

/** Connections in a Map: the local server's embedded store and the core tests' store. */
export class MemoryConnectionStore implements ConnectionStore {
  readonly records = new Map<string, ConnectionRecord>();

  async put(record: ConnectionRecord): Promise<void> {
    this.records.set(record.connectionId, record);
  }

  async get(connectionId: string): Promise<ConnectionRecord | undefined> {
    return this.records.get(connectionId);
  }

  async delete(connectionId: string): Promise<void> {
    this.records.delete(connectionId);
  }
}
