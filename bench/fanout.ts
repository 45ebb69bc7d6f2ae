/**
 * One broadcast to N subscribers of one stream, three designs side by side in one run:
 *
 * - "cdk-cable": the real `deliverBroadcast` / `fanOut` (lambda/core/broadcast.ts) with the real
 *   DynamoSubscriptionStore, DynamoConnectionStore and SignedConnectionsTransport, default settings.
 *   Streams above `shardSize` are split into shards, each run as an asynchronous Lambda
 *   invocation would run it: in-process, at once, in its own environment (own SDK clients).
 * - "sequential": Query page by page, await each post in turn.
 * - "unbounded": Scan the table, then `Promise.all` over every post.
 *
 * cdk-cable posts as the stack's broadcast and fan-out functions do (`fanOutTransport`: one
 * SigV4-signed request a post, `concurrency` keep-alive sockets; a variant posts with the SDK's
 * client through ApiGatewayTransport); the naive designs with the SDK's default client
 * (keep-alive, 50 sockets), as samples do. The stand-ins each run in a
 * process of their own: dynalite (the DynamoDB API, in memory) and a fake `@connections` endpoint
 * that answers each post after a fixed delay (a timer), with a configurable share of connections
 * answering 410. Designs that would take minutes are measured on a prefix of the stream and
 * extrapolated linearly ("extrapolated": true). Writes bench/results/fanout.json.
 *
 * Run: npx projen bench:fanout   (quick: BENCH_SIZES=1000,10000 npx projen bench:fanout)
 * Settings (flag or environment variable): --sizes / BENCH_SIZES (1000,10000,100000),
 * --latency-ms / BENCH_LATENCY_MS (20), --gone-rate / BENCH_GONE_RATE (0),
 * --sequential-prefix / BENCH_SEQUENTIAL_PREFIX (2000), --unbounded-prefix / BENCH_UNBOUNDED_PREFIX
 * (none), --repeats / BENCH_REPEATS (3, for sizes up to --repeat-up-to, 10000), --variants /
 * BENCH_VARIANTS (true), --projection / BENCH_PROJECTION (true), --warmup / BENCH_WARMUP (300),
 * --run-timeout-ms (600000), --deadline-ms (3600000), --out / BENCH_OUT (bench/results/fanout.json).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { cdkCableBroadcast, CdkCableOptions, Endpoints, projectOneCpuPerShard, ShardProjection } from './support/cdk-cable-design';
import { startServiceProcess, ServiceProcess } from './support/child-process';
import { SDK_DEFAULT_MAX_SOCKETS, sdkClients } from './support/clients';
import { FakeConnectionsStats, isGoneConnection } from './support/fake-connections-api';
import { NaiveOutcome, sequentialFanOut, unboundedFanOut } from './support/naive-designs';
import { machineInfo, writeReport } from './support/report';
import { BenchSettings, round, withTimeout } from './support/settings';
import { StoreStats } from './support/store-process';
import { BENCH_DATA, BENCH_STREAM, BenchTables, connectionIdOf, createTables, deleteTables, seedSubscribers } from './support/subscribers';
import { DEFAULT_DELIVERY, DeliverySettings } from '../lambda/core/config';

const ROOT = path.join(__dirname, '..');
const settings = new BenchSettings();
const SIZES = settings.integers('sizes', [1_000, 10_000, 100_000], { min: 1, max: 1_000_000 });
const LATENCY_MS = settings.number('latency-ms', 20, { min: 0, max: 10_000 });
const GONE_RATE = settings.number('gone-rate', 0, { min: 0, max: 1 });
const SEQUENTIAL_PREFIX = settings.number('sequential-prefix', 2_000, { min: 1, integer: true });
const UNBOUNDED_PREFIX = settings.number('unbounded-prefix', Number.MAX_SAFE_INTEGER, { min: 1, integer: true });
const VARIANTS = settings.boolean('variants', true);
const WARMUP = settings.number('warmup', 300, { min: 0, max: 10_000, integer: true });
const REPEATS = settings.number('repeats', 3, { min: 1, max: 20, integer: true });
const REPEAT_UP_TO = settings.number('repeat-up-to', 10_000, { min: 0, integer: true });
const PROJECT = settings.boolean('projection', true);
const RUN_TIMEOUT_MS = settings.number('run-timeout-ms', 600_000, { min: 1_000 });
const DEADLINE_MS = settings.number('deadline-ms', 60 * 60_000, { min: 10_000 });
const OUT = path.resolve(ROOT, settings.string('out', 'bench/results/fanout.json'));
const STAGE = '/bench';
const LOAD_AT_START = os.loadavg().map((load) => round(load, 2));

type DesignName = 'cdk-cable' | 'sequential' | 'unbounded';

interface Design {
  readonly design: DesignName;
  /** Set for the extra cdk-cable configurations reported apart from the three designs. */
  readonly variant?: string;
  readonly description: string;
  /** Measured once per round (false: once in all, for a design whose time varies little and is long). */
  readonly repeatable: boolean;
  /** Subscribers to measure at size N (N itself unless the design is measured on a prefix). */
  measured(subscribers: number): number;
  run(context: RunContext, limit: number): Promise<DesignOutcome>;
}

interface RunContext {
  readonly endpoints: Endpoints;
  readonly tables: BenchTables;
}

interface DesignOutcome {
  readonly errors: number;
  readonly details: Record<string, unknown>;
}

interface RunRow {
  design: DesignName;
  variant?: string;
  subscribers: number;
  wallMs: number;
  posts: number;
  storeRequests: number;
  errors: number;
  extrapolated: boolean;
  measuredSubscribers: number;
  measured?: { wallMs: number; posts: number; storeRequests: number; errors: number };
  postsPerSecond: number;
  delivered: number;
  gone: number;
  /** Subscribers of the measured part that got neither a 200 nor a 410 (must be 0). */
  missed: number;
  duplicates: number;
  storeRequestsByOperation: Record<string, number>;
  maxPostsInFlight: number;
  maxSockets: number;
  benchProcessCpuMs: number;
  /** CPU time of the benchmark process (where the designs run) per post: mostly the AWS SDK's. */
  cpuMsPerPost: number;
  details: Record<string, unknown>;
  /** Runs measured (the median one is reported) and their wall times. */
  repeats?: number;
  wallMsSamples?: number[];
  projection?: ShardProjection;
}

const cdkCableDefaults: CdkCableOptions = { delivery: DEFAULT_DELIVERY, shardMode: 'lambda' };

const DESIGNS: Design[] = [
  {
    design: 'cdk-cable',
    description: 'deliverBroadcast/fanOut, default settings, posting with SignedConnectionsTransport as fanOutTransport builds it; '
      + 'shards run concurrently in-process, each with its own clients (as async Lambda invocations)',
    repeatable: true,
    measured: (n) => n,
    run: ({ endpoints, tables }, _limit) => runCdkCable(endpoints, tables, cdkCableDefaults),
  },
  {
    design: 'unbounded',
    description: 'one Scan of the table (every page), then Promise.all over every post; 410 deletes the row',
    repeatable: true,
    measured: (n) => Math.min(n, UNBOUNDED_PREFIX),
    run: (context, limit) => runNaive(context, limit, unboundedFanOut),
  },
  {
    design: 'sequential',
    description: 'Query page by page, await each post in turn; 410 deletes the row',
    repeatable: false,
    measured: (n) => Math.min(n, SEQUENTIAL_PREFIX),
    run: (context, limit) => runNaive(context, limit, sequentialFanOut),
  },
];

const VARIANT_DESIGNS: Design[] = [
  {
    design: 'cdk-cable',
    variant: 'local-shard-dispatcher',
    description: "as the local server runs it: LocalShardDispatcher, every shard sharing the coordinator's stores and transport (one agent with fanOut.concurrency sockets)",
    repeatable: true,
    measured: (n) => n,
    run: ({ endpoints, tables }) => runCdkCable(endpoints, tables, { ...cdkCableDefaults, shardMode: 'local' }),
  },
  {
    design: 'cdk-cable',
    variant: 'api-gateway-transport',
    description: 'as "cdk-cable", posting with ApiGatewayTransport (the SDK\'s ApiGatewayManagementApiClient, '
      + `keep-alive agent with ${DEFAULT_DELIVERY.concurrency} sockets, no SDK retries) instead of SignedConnectionsTransport`,
    repeatable: true,
    measured: (n) => n,
    run: ({ endpoints, tables }) => runCdkCable(endpoints, tables, { ...cdkCableDefaults, transport: 'sdk' }),
  },
  ...(GONE_RATE > 0 ? [{
    design: 'cdk-cable' as const,
    variant: 'gone-cleanup-off-the-posting-path',
    description: "as \"cdk-cable\", with a 410's clean-up (removeAll, then the connection row) run in the background instead of in the posting worker's slot",
    repeatable: true,
    measured: (n: number) => n,
    run: ({ endpoints, tables }: RunContext) => runCdkCable(endpoints, tables, { ...cdkCableDefaults, deferGoneCleanup: true }),
  }] : []),
];

async function runCdkCable(endpoints: Endpoints, tables: BenchTables, options: CdkCableOptions): Promise<DesignOutcome> {
  const { result, logger } = await cdkCableBroadcast(endpoints, tables, { stream: BENCH_STREAM, data: BENCH_DATA }, options);
  const failedShards = result.mode === 'sharded' ? result.failedShards : 0;
  return {
    errors: logger.totals.failed + logger.totals.cleanupFailures + logger.errorEvents + failedShards,
    details: {
      mode: result.mode,
      shards: result.shards,
      fanOuts: logger.totals.fanOuts,
      retries: logger.totals.retries,
      pagesRead: logger.totals.pages + (result.mode === 'sharded' ? result.pages : 0),
      ...(Object.keys(logger.warnings).length > 0 ? { warnings: logger.warnings } : {}),
      ...(Object.keys(logger.errors).length > 0 ? { errorEvents: logger.errors, samples: logger.samples } : {}),
    },
  };
}

async function runNaive(
  { endpoints, tables }: RunContext,
  limit: number,
  design: (deps: Parameters<typeof unboundedFanOut>[0], stream: string, data: string, limit?: number) => Promise<NaiveOutcome>,
): Promise<DesignOutcome> {
  const clients = sdkClients(endpoints);
  try {
    const deps = { doc: clients.doc, api: clients.api, subscriptionsTable: tables.subscriptionsTable };
    const outcome = await design(deps, BENCH_STREAM, BENCH_DATA, limit);
    return { errors: outcome.errors, details: { storePages: outcome.storePages } };
  } finally {
    clients.destroy();
  }
}

interface Services {
  readonly store: ServiceProcess<{ endpoint: string }>;
  readonly api: ServiceProcess<{ endpoint: string }>;
}

async function measure(services: Services, context: RunContext, design: Design, subscribers: number): Promise<RunRow> {
  const limit = design.measured(subscribers);
  await Promise.all([services.store.call('reset'), services.api.call('reset')]);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const outcome = await withTimeout(design.run(context, limit), RUN_TIMEOUT_MS, `${design.variant ?? design.design} at ${subscribers}`);
  const wallMs = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  const [store, api] = await Promise.all([services.store.call<StoreStats>('stats'), services.api.call<FakeConnectionsStats>('stats')]);

  const goneInPart = api.gone; // one 410 per gone connection for every design here
  const missed = limit - api.distinctDelivered - goneInPart;
  const scale = subscribers / limit;
  const extrapolated = limit < subscribers;
  const measured = { wallMs: round(wallMs), posts: api.posts, storeRequests: store.total, errors: outcome.errors };
  return {
    design: design.design,
    ...(design.variant ? { variant: design.variant } : {}),
    subscribers,
    wallMs: round(wallMs * scale),
    posts: Math.round(api.posts * scale),
    storeRequests: Math.ceil(store.total * scale),
    errors: Math.round(outcome.errors * scale),
    extrapolated,
    measuredSubscribers: limit,
    ...(extrapolated ? { measured } : {}),
    postsPerSecond: Math.round(api.posts / (wallMs / 1000)),
    delivered: api.distinctDelivered,
    gone: goneInPart,
    missed,
    duplicates: api.duplicates,
    storeRequestsByOperation: store.byOperation,
    maxPostsInFlight: api.maxInFlight,
    maxSockets: api.maxSockets,
    benchProcessCpuMs: round((user + system) / 1000),
    cpuMsPerPost: round((user + system) / 1000 / Math.max(1, api.posts), 3),
    details: outcome.details,
  };
}

/** Puts back the rows of gone connections that a design removed, so the next design meets the same stream. */
async function restoreGone(endpoints: Endpoints, tables: BenchTables, ids: readonly string[]): Promise<void> {
  const gone = ids.filter((id) => isGoneConnection(id, GONE_RATE));
  if (gone.length === 0) return;
  const clients = sdkClients(endpoints);
  try {
    await seedSubscribers(clients.doc, tables, gone);
  } finally {
    clients.destroy();
  }
}

async function measureSize(services: Services, endpoints: Endpoints, subscribers: number, designs: Design[], log: boolean): Promise<RunRow[]> {
  const admin = sdkClients(endpoints);
  const tables = await createTables(admin.dynamo);
  const ids = Array.from({ length: subscribers }, (_, i) => connectionIdOf(i));
  const seedStarted = performance.now();
  await seedSubscribers(admin.doc, tables, ids);
  if (log) console.log(`\n${subscribers.toLocaleString('en')} subscribers seeded in ${(performance.now() - seedStarted).toFixed(0)} ms`);
  // Let the store settle (garbage collection after seeding) before the first design is timed.
  await new Promise((resolve) => setTimeout(resolve, 2_000));

  // Rounds: every design once per round, so drift in the machine's speed hits all of them alike.
  const repeats = subscribers <= REPEAT_UP_TO ? REPEATS : 1;
  const samples = new Map<Design, RunRow[]>(designs.map((design) => [design, []]));
  try {
    for (let round_ = 0; round_ < repeats; round_++) {
      for (const design of designs) {
        if (round_ > 0 && !design.repeatable) continue;
        const row = await measure(services, { endpoints, tables }, design, subscribers);
        samples.get(design)!.push(row);
        if (log) console.log(`  ${label(row).padEnd(42)} ${describe(row)}`);
        await restoreGone(endpoints, tables, ids);
      }
    }
    const rows = designs.map((design) => aggregate(samples.get(design)!));
    if (log && PROJECT) {
      const cable = rows.find((row) => row.design === 'cdk-cable' && !row.variant);
      const projection = cable && await projectOneCpuPerShard(endpoints, tables, { stream: BENCH_STREAM, data: BENCH_DATA }, cdkCableDefaults);
      if (cable && projection) {
        cable.projection = projection;
        console.log(`  cdk-cable with one CPU per shard (projection): walk ${projection.walkMs} ms, last of ${projection.shards} shards dispatched at ${projection.lastDispatchMs} ms, `
          + `shards alone ${projection.shardSamples.map((sample) => `${sample.subscribers} in ${sample.wallMs} ms`).join(', ')} -> ${projection.projectedWallMs} ms`);
        await restoreGone(endpoints, tables, ids);
      }
    }
    return rows;
  } finally {
    await deleteTables(admin.dynamo, tables).catch(() => undefined);
    admin.destroy();
  }
}

/** The run with the median wall time stands for the design; errors, misses and duplicates are the worst seen. */
function aggregate(rows: RunRow[]): RunRow {
  if (rows.length === 1) return rows[0];
  const sorted = [...rows].sort((a, b) => a.wallMs - b.wallMs);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  return {
    ...median,
    errors: Math.max(...rows.map((row) => row.errors)),
    missed: rows.reduce((worst, row) => (Math.abs(row.missed) > Math.abs(worst) ? row.missed : worst), 0),
    duplicates: Math.max(...rows.map((row) => row.duplicates)),
    repeats: rows.length,
    wallMsSamples: rows.map((row) => row.wallMs),
  };
}

function label(row: RunRow): string {
  return row.variant ? `${row.design} [${row.variant}]` : row.design;
}

function describe(row: RunRow): string {
  const part = row.extrapolated ? ` (measured on ${row.measuredSubscribers.toLocaleString('en')}: ${row.measured?.wallMs} ms, extrapolated)` : '';
  const problems = row.missed !== 0 || row.duplicates !== 0 ? `  MISSED ${row.missed} DUPLICATES ${row.duplicates}` : '';
  return `${row.wallMs.toFixed(0).padStart(9)} ms  ${row.posts} posts  ${row.storeRequests} store requests  ${row.errors} errors${part}${problems}`;
}

function printTable(rows: RunRow[]): { subscribers: number; sequentialOverCdkCable?: number; unboundedOverCdkCable?: number }[] {
  const designsOnly = rows.filter((row) => !row.variant);
  console.log('\n| subscribers | design | wall ms | posts | store requests | errors | posts/s | note |');
  console.log('|---:|---|---:|---:|---:|---:|---:|---|');
  for (const row of rows) {
    const note = row.extrapolated ? `extrapolated from ${row.measuredSubscribers.toLocaleString('en')}` : '';
    console.log(`| ${row.subscribers.toLocaleString('en')} | ${label(row)} | ${row.wallMs.toFixed(0)} | ${row.posts} | ${row.storeRequests} | ${row.errors} | ${row.postsPerSecond} | ${note} |`);
  }
  const ratios = SIZES.map((subscribers) => {
    const wall = (design: DesignName) => designsOnly.find((row) => row.subscribers === subscribers && row.design === design)?.wallMs;
    const cable = wall('cdk-cable');
    const ratio = (other?: number) => (cable && other ? round(other / cable, 2) : undefined);
    return { subscribers, sequentialOverCdkCable: ratio(wall('sequential')), unboundedOverCdkCable: ratio(wall('unbounded')) };
  });
  console.log('\n| subscribers | sequential / cdk-cable | unbounded / cdk-cable |');
  console.log('|---:|---:|---:|');
  for (const ratio of ratios) {
    console.log(`| ${ratio.subscribers.toLocaleString('en')} | ${ratio.sequentialOverCdkCable ?? '-'}× | ${ratio.unboundedOverCdkCable ?? '-'}× |`);
  }
  for (const row of designsOnly.filter((candidate) => candidate.projection)) {
    const unbounded = designsOnly.find((candidate) => candidate.subscribers === row.subscribers && candidate.design === 'unbounded');
    const sequential = designsOnly.find((candidate) => candidate.subscribers === row.subscribers && candidate.design === 'sequential');
    const projected = row.projection!.projectedWallMs;
    console.log(`\ncdk-cable at ${row.subscribers.toLocaleString('en')}, projected with one CPU per shard (${row.projection!.shards} shards): ${projected} ms`
      + ` (sequential / projected ${sequential ? round(sequential.wallMs / projected, 1) : '-'}×, unbounded / projected ${unbounded ? round(unbounded.wallMs / projected, 1) : '-'}×)`);
  }
  return ratios;
}

function targets(rows: RunRow[], ratios: ReturnType<typeof printTable>) {
  const at10k = ratios.find((ratio) => ratio.subscribers === 10_000);
  if (!at10k) return undefined;
  const cable = rows.find((row) => !row.variant && row.design === 'cdk-cable' && row.subscribers === 10_000);
  const result = {
    atSubscribers: 10_000,
    tenTimesFasterThanSequential: (at10k.sequentialOverCdkCable ?? 0) >= 10,
    notSlowerThanUnbounded: (at10k.unboundedOverCdkCable ?? 0) >= 1,
    noErrors: cable !== undefined && cable.errors === 0 && cable.missed === 0 && cable.duplicates === 0,
  };
  const met = result.tenTimesFasterThanSequential && result.notSlowerThanUnbounded && result.noErrors;
  console.log(`\ntarget at 10,000 (>= 10x sequential, not slower than unbounded, no errors): ${met ? 'met' : 'NOT met'} ${JSON.stringify(result)}`);
  return { ...result, met };
}

async function main(): Promise<void> {
  const deadline = setTimeout(() => {
    console.error(`bench:fanout: still running after ${DEADLINE_MS} ms; stopping`);
    process.exit(2);
  }, DEADLINE_MS);
  deadline.unref();

  const store = await startServiceProcess<{ endpoint: string }>('store-process', {});
  let api: ServiceProcess<{ endpoint: string }> | undefined;
  try {
    api = await startServiceProcess<{ endpoint: string }>('connections-process', { latencyMs: LATENCY_MS, goneRate: GONE_RATE, stage: STAGE });
    const services = { store, api };
    const endpoints: Endpoints = { store: store.ready.endpoint, connections: api.ready.endpoint };
    const designs = VARIANTS ? [...DESIGNS, ...VARIANT_DESIGNS] : DESIGNS;
    console.log(`fan-out benchmark: ${SIZES.join(', ')} subscribers, @connections latency ${LATENCY_MS} ms, 410 rate ${GONE_RATE}, `
      + `${os.cpus().length} CPUs (load average ${LOAD_AT_START.join(' ')}), node ${process.version}`);

    if (WARMUP > 0) {
      // JIT and module loading for every design, on a small stream; not reported.
      const warm = designs.map((design) => ({ ...design, measured: (n: number) => n }));
      await measureSize(services, endpoints, WARMUP, warm, false);
    }
    const rows: RunRow[] = [];
    for (const subscribers of SIZES) rows.push(...await measureSize(services, endpoints, subscribers, designs, true));

    const ratios = printTable(rows);
    const target = targets(rows, ratios);
    const fanOut: DeliverySettings = DEFAULT_DELIVERY;
    const report = {
      postLatencyMs: LATENCY_MS,
      goneRate: GONE_RATE,
      runs: rows.filter((row) => !row.variant),
      ratios,
      ...(target ? { target } : {}),
      variants: rows.filter((row) => row.variant),
      designs: Object.fromEntries([...DESIGNS, ...VARIANT_DESIGNS].map((design) => [design.variant ?? design.design, design.description])),
      settings: {
        fanOut,
        connectionsClients: {
          'cdk-cable': `as fanOutTransport builds it: SignedConnectionsTransport, keep-alive agent with ${fanOut.concurrency} sockets (fanOut.concurrency)`,
          'naive': `the SDK's ApiGatewayManagementApiClient with its defaults: keep-alive agent with ${SDK_DEFAULT_MAX_SOCKETS} sockets, maxAttempts 3`,
        },
        sequentialPrefix: SEQUENTIAL_PREFIX,
        ...(UNBOUNDED_PREFIX < Number.MAX_SAFE_INTEGER ? { unboundedPrefix: UNBOUNDED_PREFIX } : {}),
        warmupSubscribers: WARMUP,
        repeats: `${REPEATS} interleaved rounds up to ${REPEAT_UP_TO} subscribers (median reported; sequential once), 1 above`,
        store: 'dynalite (in-memory DynamoDB API) in its own process',
        connections: 'fake @connections endpoint in its own process, answering after a timer',
      },
      machine: machineInfo(LOAD_AT_START),
      measuredAt: new Date().toISOString(),
    };
    writeReport(OUT, report);
  } finally {
    await Promise.all([store.close(), api?.close()]);
  }
}

main().then(() => process.exit(0), (error: unknown) => {
  console.error(error);
  process.exit(1);
});
