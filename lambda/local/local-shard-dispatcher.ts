import { fanOut, FanOutDeps } from '../core/broadcast';
import { ShardDispatcher, ShardRequest } from '../core/ports';

/**
 * Runs each shard's fan-out in-process, as an asynchronous Lambda invocation runs it in AWS:
 * `dispatch` returns once the shard is scheduled (the next turn of the event loop), so the
 * broadcast's HTTP reply does not wait for delivery, and shards run concurrently. Unlike Lambda,
 * a failed shard is logged, not retried. The server's `close()` calls `drain()`.
 */
export class LocalShardDispatcher implements ShardDispatcher {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly deps: FanOutDeps) {}

  async dispatch(shard: ShardRequest): Promise<void> {
    const task: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => fanOut(this.deps, shard.broadcast, { cursor: shard.cursor, limit: shard.limit }))
      .then(
        () => undefined,
        // fanOut has logged its summary; this says the shard is lost, as no one retries it here.
        (error: unknown) => this.deps.logger.error('local.shard_failed', { stream: shard.broadcast.stream, cursor: shard.cursor, error }),
      )
      .finally(() => this.pending.delete(task));
    this.pending.add(task);
  }

  /** Resolves once every dispatched shard has finished, including ones dispatched meanwhile. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
