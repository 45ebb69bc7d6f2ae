import { performance } from 'node:perf_hooks';
import { BENCH_CREDENTIALS, sdkClients } from './clients';
import { CountingLogger } from './counting-logger';
import { BenchTables } from './subscribers';
import { ApiGatewayTransport } from '../../lambda/adapters/apigw/api-gateway-transport';
import { SignedConnectionsTransport } from '../../lambda/adapters/apigw/signed-connections-transport';
import { DynamoConnectionStore } from '../../lambda/adapters/dynamodb/dynamo-connection-store';
import { DynamoSubscriptionStore } from '../../lambda/adapters/dynamodb/dynamo-subscription-store';
import { deliverBroadcast, DeliverBroadcastResult, fanOut, FanOutDeps } from '../../lambda/core/broadcast';
import { DeliverySettings } from '../../lambda/core/config';
import { Broadcast, ShardDispatcher, ShardRequest, systemClock } from '../../lambda/core/ports';
import { LocalShardDispatcher } from '../../lambda/local/local-shard-dispatcher';

export interface Endpoints {
  readonly store: string;
  readonly connections: string;
}

/**
 * How shards run:
 * - `lambda`: each shard in its own "execution environment" (its own SDK clients and sockets),
 *   started at once, as asynchronous invocations of the fan-out function run in AWS;
 * - `local`: the local server's LocalShardDispatcher, every shard sharing one set of clients.
 */
export type ShardMode = 'lambda' | 'local';

export interface CdkCableOptions {
  readonly delivery: DeliverySettings;
  readonly shardMode: ShardMode;
  /**
   * How posts are made: `signed` is what the broadcast and fan-out functions use
   * (`fanOutTransport`: SignedConnectionsTransport, one signed request a post, `concurrency`
   * keep-alive sockets); `sdk` is ApiGatewayTransport over the SDK's ApiGatewayManagementApiClient
   * (keep-alive agent with `concurrency` sockets, no SDK retries), which they used before it.
   * @default 'signed'
   */
  readonly transport?: 'signed' | 'sdk';
  /**
   * Emulates a fan-out that does not hold a posting slot while it removes a gone connection's
   * rows: the stores' `removeAll` and `delete` return at once and finish in the background (all
   * awaited before the broadcast counts as done). Only matters with a 410 rate.
   * @default false
   */
  readonly deferGoneCleanup?: boolean;
}

export interface CdkCableOutcome {
  readonly result: DeliverBroadcastResult;
  readonly logger: CountingLogger;
}

/** One environment's adapters: the real DynamoDB stores and `@connections` transport, as lambda-runtime.ts makes them. */
interface Environment {
  readonly deps: FanOutDeps;
  /** Clean-ups still running in the background (with `deferGoneCleanup`); awaited before the clients go. */
  readonly cleanups: BackgroundCleanups;
  /** Releases the environment's clients and sockets. */
  destroy(): void;
}

/** Background clean-ups of one environment (see `deferGoneCleanup`). */
class BackgroundCleanups {
  private readonly pending = new Set<Promise<unknown>>();

  /** Runs `task` without making the caller wait; errors are counted as clean-up failures. */
  start(task: () => Promise<unknown>, logger: CountingLogger): void {
    const promise = task()
      .catch((error: unknown) => logger.error('bench.cleanup_failed', { error }))
      .finally(() => this.pending.delete(promise));
    this.pending.add(promise);
  }

  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}

function environment(endpoints: Endpoints, tables: BenchTables, options: CdkCableOptions, logger: CountingLogger): Environment {
  const cleanups = new BackgroundCleanups();
  const { concurrency } = options.delivery;
  const clients = sdkClients(endpoints, { apiMaxSockets: concurrency, apiMaxAttempts: 1 });
  const signed = options.transport === 'sdk' ? undefined : new SignedConnectionsTransport({
    callbackUrl: endpoints.connections,
    region: 'us-east-1',
    credentials: async () => BENCH_CREDENTIALS,
    concurrency,
  });
  const subscriptions = new DynamoSubscriptionStore(clients.doc, tables.subscriptionsTable);
  const connections = new DynamoConnectionStore(clients.doc, tables.connectionsTable);
  if (options.deferGoneCleanup) {
    // Fan-out calls these two only to clean up after a 410.
    const removeAll = subscriptions.removeAll.bind(subscriptions);
    const remove = connections.delete.bind(connections);
    subscriptions.removeAll = async (connectionId) => {
      cleanups.start(() => removeAll(connectionId).then(() => remove(connectionId)), logger);
      return [];
    };
    connections.delete = async () => undefined;
  }
  return {
    cleanups,
    destroy: () => {
      signed?.destroy();
      clients.destroy();
    },
    deps: {
      subscriptions,
      connections,
      transport: signed ?? new ApiGatewayTransport(clients.api),
      clock: systemClock,
      logger,
      config: { delivery: options.delivery },
    },
  };
}

/**
 * Asynchronous Lambda invocations of the fan-out function, in-process: `dispatch` returns at
 * once (Lambda answers 202), and each shard runs in a fresh environment with its own clients,
 * concurrently with the others. No invocation latency or cold start is added.
 */
class LambdaLikeShardDispatcher implements ShardDispatcher {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly start: () => Environment, private readonly logger: CountingLogger) {}

  async dispatch(shard: ShardRequest): Promise<void> {
    const task: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(async () => {
        const { deps, cleanups, destroy } = this.start();
        try {
          await fanOut(deps, shard.broadcast, { cursor: shard.cursor, limit: shard.limit });
          await cleanups.drain();
        } finally {
          destroy();
        }
      })
      .catch((error: unknown) => this.logger.error('bench.shard_failed', { cursor: shard.cursor, error }))
      .finally(() => this.pending.delete(task));
    this.pending.add(task);
  }

  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}

/**
 * One broadcast through `deliverBroadcast` (inline up to `shardSize` subscribers, sharded above),
 * resolved once every subscriber has been posted to, shards included.
 */
export async function cdkCableBroadcast(
  endpoints: Endpoints,
  tables: BenchTables,
  broadcast: Broadcast,
  options: CdkCableOptions,
): Promise<CdkCableOutcome> {
  const logger = new CountingLogger();
  const coordinator = environment(endpoints, tables, options, logger);
  const shards = options.shardMode === 'lambda'
    ? new LambdaLikeShardDispatcher(() => environment(endpoints, tables, options, logger), logger)
    : new LocalShardDispatcher(coordinator.deps);
  try {
    const result = await deliverBroadcast({ ...coordinator.deps, shards }, broadcast);
    await shards.drain();
    await coordinator.cleanups.drain();
    return { result, logger };
  } finally {
    coordinator.destroy();
  }
}

export interface ShardProjection {
  /** The coordinator alone: reading the stream and dispatching every shard. */
  readonly walkMs: number;
  readonly shards: number;
  /** When the last shard was dispatched, from the start of the broadcast. */
  readonly lastDispatchMs: number;
  /** Shards (first, middle, last) each run alone in a fresh environment. */
  readonly shardSamples: { readonly subscribers: number; readonly wallMs: number }[];
  /** `lastDispatchMs` + the slowest sampled shard: the wall time if every shard had a CPU of its own. */
  readonly projectedWallMs: number;
}

/**
 * What a sharded broadcast would take with one CPU per shard, as asynchronous Lambda invocations
 * have, which one process on a small machine cannot show: the coordinator's walk is timed alone
 * (shards recorded, not run), then sample shards are each timed alone. The last shard starts when
 * the walk dispatches it and ends a shard's time later. Invocation latency and cold starts are not
 * included. Undefined when the stream is delivered inline.
 */
export async function projectOneCpuPerShard(
  endpoints: Endpoints,
  tables: BenchTables,
  broadcast: Broadcast,
  options: CdkCableOptions,
): Promise<ShardProjection | undefined> {
  const logger = new CountingLogger();
  const coordinator = environment(endpoints, tables, options, logger);
  const dispatched: { shard: ShardRequest; atMs: number }[] = [];
  const started = performance.now();
  let result: DeliverBroadcastResult;
  try {
    result = await deliverBroadcast({
      ...coordinator.deps,
      shards: { dispatch: async (shard) => void dispatched.push({ shard, atMs: performance.now() - started }) },
    }, broadcast);
  } finally {
    coordinator.destroy();
  }
  const walkMs = performance.now() - started;
  if (result.mode === 'inline' || dispatched.length === 0) return undefined;

  const picks = [...new Set([0, Math.floor(dispatched.length / 2), dispatched.length - 1])];
  const shardSamples: { subscribers: number; wallMs: number }[] = [];
  for (const index of picks) {
    const { shard } = dispatched[index];
    const { deps, destroy } = environment(endpoints, tables, options, logger);
    const shardStarted = performance.now();
    try {
      await fanOut(deps, shard.broadcast, { cursor: shard.cursor, limit: shard.limit });
    } finally {
      destroy();
    }
    shardSamples.push({ subscribers: shard.limit ?? 0, wallMs: Math.round(performance.now() - shardStarted) });
  }
  const lastDispatchMs = dispatched[dispatched.length - 1].atMs;
  return {
    walkMs: Math.round(walkMs),
    shards: dispatched.length,
    lastDispatchMs: Math.round(lastDispatchMs),
    shardSamples,
    projectedWallMs: Math.round(lastDispatchMs + Math.max(...shardSamples.map((sample) => sample.wallMs))),
  };
}
