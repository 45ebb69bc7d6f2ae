import { ConnectionGoneError } from '../../core/errors';
import { Transport } from '../../core/ports';

/** Records what would be sent; connections not `open()`ed answer "gone" like API Gateway. */
export class MemoryTransport implements Transport {
  readonly sent = new Map<string, string[]>();
  readonly closed = new Set<string>();
  private readonly openConnections = new Set<string>();

  open(connectionId: string): void {
    this.openConnections.add(connectionId);
  }

  async send(connectionId: string, data: string): Promise<void> {
    if (!this.openConnections.has(connectionId)) throw new ConnectionGoneError(connectionId);
    const frames = this.sent.get(connectionId) ?? [];
    frames.push(data);
    this.sent.set(connectionId, frames);
  }

  async close(connectionId: string): Promise<void> {
    this.openConnections.delete(connectionId);
    this.closed.add(connectionId);
  }

  /** Frames sent to a connection, decoded. */
  framesOf(connectionId: string): unknown[] {
    return (this.sent.get(connectionId) ?? []).map((frame) => JSON.parse(frame));
  }
}
