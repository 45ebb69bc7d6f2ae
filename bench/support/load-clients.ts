import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

/** What the stock @rails/actioncable client offers, in its order. */
const SUBPROTOCOLS = ['actioncable-v1-json', 'actioncable-unsupported'];
const STAMP = /data-seq="(\d+)" data-sent-at="([\d.]+)"/;

/**
 * The Turbo Stream one broadcast carries: its sequence number and the time it was sent
 * (`performance.now()` of this process, which also times the receipt).
 */
export function stampedMessage(seq: number, sentAt: number): string {
  return `<turbo-stream action="append" target="messages"><template><div id="message_${seq}" data-seq="${seq}" data-sent-at="${sentAt.toFixed(3)}">`
    + 'Broadcast to every subscriber of the room</div></template></turbo-stream>';
}

/**
 * Many bare ActionCable clients (`ws`, actioncable-v1-json) on one server, subscribed to one
 * identifier; records for every client and broadcast the latency from the time stamped in the
 * message to the moment the frame arrived.
 */
export class ClientFleet {
  /** latencies[seq][client]: milliseconds, NaN until received. */
  private readonly latencies = new Map<number, Float64Array>();
  private readonly counts = new Map<number, number>();
  private readonly waiters = new Map<number, () => void>();
  private readonly sockets: WebSocket[] = [];
  duplicates = 0;
  /** Frames that were neither protocol frames nor a stamped broadcast for this identifier. */
  unexpected = 0;
  /** Sockets that closed before the fleet closed them. */
  dropped = 0;
  private closing = false;

  constructor(readonly name: string, private readonly url: string, private readonly identifier: string) {}

  get size(): number {
    return this.sockets.length;
  }

  /** Opens `count` clients, `concurrency` handshakes at a time; each waits for welcome, subscribes and waits for the confirmation. */
  async connect(count: number, concurrency: number, timeoutMs: number): Promise<number> {
    const started = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const index = next++;
        this.sockets[index] = await this.open(index, timeoutMs);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    return performance.now() - started;
  }

  /** Resolves with how many clients got broadcast `seq` once all have, or when `timeoutMs` pass. */
  waitFor(seq: number, timeoutMs: number): Promise<number> {
    if ((this.counts.get(seq) ?? 0) >= this.size) return Promise.resolve(this.size);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(seq);
        resolve(this.counts.get(seq) ?? 0);
      }, timeoutMs);
      this.waiters.set(seq, () => {
        clearTimeout(timer);
        this.waiters.delete(seq);
        resolve(this.size);
      });
    });
  }

  /** Every latency of the broadcasts in `seqs` (one per client that received it) and how many were missing. */
  results(seqs: readonly number[]): { latencies: number[]; missing: number } {
    const latencies: number[] = [];
    let missing = 0;
    for (const seq of seqs) {
      const row = this.latencies.get(seq);
      for (let client = 0; client < this.size; client++) {
        const value = row?.[client] ?? Number.NaN;
        if (Number.isNaN(value)) missing++;
        else latencies.push(value);
      }
    }
    return { latencies, missing };
  }

  /** The last client's latency for each broadcast: when the whole stream had it. */
  lastArrivals(seqs: readonly number[]): number[] {
    return seqs.map((seq) => Math.max(...(this.latencies.get(seq) ?? [Number.NaN])));
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.sockets.map((socket) => new Promise<void>((resolve) => {
      if (socket.readyState === WebSocket.CLOSED) return resolve();
      socket.once('close', () => resolve());
      socket.terminate();
    })));
  }

  private open(index: number, timeoutMs: number): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url, SUBPROTOCOLS, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
      const timer = setTimeout(() => fail(new Error(`${this.name} client ${index}: no confirmation within ${timeoutMs} ms`)), timeoutMs);
      let confirmed = false;
      const fail = (error: Error) => {
        clearTimeout(timer);
        socket.terminate();
        reject(error);
      };
      socket.on('error', (error) => {
        if (!confirmed) fail(new Error(`${this.name} client ${index}: ${error.message}`));
      });
      socket.on('close', () => {
        if (confirmed && !this.closing) this.dropped++;
      });
      socket.on('message', (data) => {
        const receivedAt = performance.now();
        const frame = JSON.parse(data.toString()) as { type?: string; identifier?: string; message?: unknown };
        if (frame.type === 'ping') return;
        if (frame.type === 'welcome') return socket.send(JSON.stringify({ command: 'subscribe', identifier: this.identifier }));
        if (frame.type === 'confirm_subscription' && frame.identifier === this.identifier) {
          confirmed = true;
          clearTimeout(timer);
          return resolve(socket);
        }
        if (frame.type === 'reject_subscription') return fail(new Error(`${this.name} client ${index}: subscription rejected`));
        const stamp = frame.identifier === this.identifier && typeof frame.message === 'string' ? STAMP.exec(frame.message) : null;
        if (!stamp) {
          this.unexpected++;
          return;
        }
        this.record(Number(stamp[1]), index, receivedAt - Number(stamp[2]));
      });
    });
  }

  private record(seq: number, client: number, latencyMs: number): void {
    let row = this.latencies.get(seq);
    if (!row) {
      row = new Float64Array(Math.max(this.size, this.sockets.length)).fill(Number.NaN);
      this.latencies.set(seq, row);
    }
    if (!Number.isNaN(row[client])) {
      this.duplicates++;
      return;
    }
    row[client] = latencyMs;
    const count = (this.counts.get(seq) ?? 0) + 1;
    this.counts.set(seq, count);
    if (count >= this.size) this.waiters.get(seq)?.();
  }
}
