/**
 * The keepalive pinger over N open connections for S seconds, two designs alternating in one run:
 *
 * - "workers": the ping function as deployed (lambda/handlers/ping-handler.ts, coordination as
 *   aws-runtime.ts builds it): the schedule's invocation coordinates the period on the lease in
 *   the subscriptions table, sizes it from the previous period's count and starts workers
 *   1 … n-1, each an invocation of its own.
 * - "single": the same handler with no coordination, as the pinger ran before workers: one
 *   invocation pings every connection (workers forced to 1).
 *
 * Every invocation runs in-process in an environment of its own (its own DynamoDB client and
 * SignedConnectionsTransport, as fanOutTransport builds it), as bench/fanout.ts runs shards; an
 * asynchronous invoke starts at once, with no invocation latency or cold start. A Lambda
 * invocation of 256 MB has a seventh of a vCPU; here each gets what the machine has, so each
 * invocation's posts are capped at `--invocation-rate` (default: what defaults.ts assumes at
 * 256 MB, 700/s) to stand in for that CPU (0: no cap; then this machine's CPU is the limit).
 * The previous period's count is seeded on the lease (steady state: the minute before was
 * pinged), so the first period is already sized. dynalite and the fake `@connections` endpoint
 * run in processes of their own; the endpoint records, per connection, the time between
 * consecutive pings as they arrive. Writes bench/results/ping.json.
 *
 * Run: npx projen bench:ping   (e.g. BENCH_CONNECTIONS=10000 BENCH_SECONDS=60 npx projen bench:ping)
 * Settings (flag or environment variable): --connections / BENCH_CONNECTIONS (3000; a list runs
 * each), --seconds / BENCH_SECONDS (20), --interval / BENCH_INTERVAL (3), --latency-ms /
 * BENCH_LATENCY_MS (20), --invocation-rate / BENCH_INVOCATION_RATE (700), --rounds /
 * BENCH_ROUNDS (1), --period-seconds / BENCH_PERIOD_SECONDS (60), --out / BENCH_OUT
 * (bench/results/ping.json; an existing file keeps its runs of other sizes and settings).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startServiceProcess, ServiceProcess } from './support/child-process';
import { BENCH_CREDENTIALS, sdkClients } from './support/clients';
import { CountingLogger } from './support/counting-logger';
import { FakeConnectionsStats, PostGapStats } from './support/fake-connections-api';
import { machineInfo, writeReport } from './support/report';
import { BenchSettings, round } from './support/settings';
import { BenchTables, connectionIdOf, createTables, deleteTables, seedSubscribers } from './support/subscribers';
import { SignedConnectionsTransport } from '../lambda/adapters/apigw/signed-connections-transport';
import { DynamoConnectionStore } from '../lambda/adapters/dynamodb/dynamo-connection-store';
import { DynamoPingerState } from '../lambda/adapters/dynamodb/dynamo-pinger-state';
import { DynamoSubscriptionStore } from '../lambda/adapters/dynamodb/dynamo-subscription-store';
import { CableConfig, resolveConfig } from '../lambda/core/config';
import { PingCoordination, PingInvocationResult } from '../lambda/core/ping-invocation';
import { PingInvocationEvent } from '../lambda/core/ping-workers';
import { systemClock, Transport } from '../lambda/core/ports';
import { RateLimiter } from '../lambda/core/rate-limiter';
import { makePingHandler } from '../lambda/handlers/ping-handler';
import { pingPostsPerSecondPerInvocation } from '../src/contract/defaults';

const ROOT = path.join(__dirname, '..');
const settings = new BenchSettings();
const SIZES = settings.integers('connections', [3_000], { min: 1, max: 1_000_000 });
const SECONDS = settings.number('seconds', 20, { min: 3, max: 3_600, integer: true });
const INTERVAL = settings.number('interval', 3, { min: 1, max: 3_600, integer: true });
const LATENCY_MS = settings.number('latency-ms', 20, { min: 0, max: 10_000 });
const INVOCATION_RATE = settings.number('invocation-rate', pingPostsPerSecondPerInvocation(256), { min: 0, integer: true });
const ROUNDS = settings.number('rounds', 1, { min: 1, max: 10, integer: true });
const PERIOD_MS = settings.number('period-seconds', 60, { min: 1, max: 3_600, integer: true }) * 1000;
const OUT = path.resolve(ROOT, settings.string('out', 'bench/results/ping.json'));
const STAGE = '/bench';

type DesignName = 'workers' | 'single';

interface Endpoints {
  readonly store: string;
  readonly connections: string;
}

interface RunRow {
  design: DesignName;
  connections: number;
  intervalS: number;
  seconds: number;
  /** Scan segments of a period, all invocations together. */
  segments: number;
  /** The most invocations one period ran. */
  workers: number;
  p50GapMs: number;
  p99GapMs: number;
  maxGapMs: number;
  postsPerSecond: number;
  invocations: number;
  errors: number;
  /** Connections pinged at least once, and gaps measured. */
  pingedConnections: number;
  gaps: number;
  /** Pings the connections were due in the run (seconds / interval each), and the posts made. */
  expectedPings: number;
  posts: number;
  lateTicks: number;
  maxLagMs: number;
  invocationRate: number;
  latencyMs: number;
  round: number;
}

/** One invocation's environment: its own clients and transport, released when it returns. */
function invocationEnvironment(endpoints: Endpoints, tables: BenchTables, config: CableConfig) {
  const clients = sdkClients(endpoints);
  const signed = new SignedConnectionsTransport({
    callbackUrl: endpoints.connections,
    region: 'us-east-1',
    credentials: async () => BENCH_CREDENTIALS,
    concurrency: config.delivery.concurrency,
  });
  // A 256 MB invocation's CPU, stood in for by a cap on its posts (see the header).
  const cap = INVOCATION_RATE > 0 ? new RateLimiter(systemClock, INVOCATION_RATE) : undefined;
  const transport: Transport = !cap ? signed : {
    send: async (id, data) => {
      await cap.take();
      return signed.send(id, data);
    },
    close: async (id) => {
      await cap.take();
      return signed.close(id);
    },
  };
  return {
    doc: clients.doc,
    connections: new DynamoConnectionStore(clients.doc, tables.connectionsTable),
    subscriptions: new DynamoSubscriptionStore(clients.doc, tables.subscriptionsTable),
    transport,
    destroy: () => {
      signed.destroy();
      clients.destroy();
    },
  };
}

/** Lambda for the ping function: each invoke a new environment, started at once, run concurrently. */
class PingFunction {
  private readonly pending = new Set<Promise<void>>();
  readonly results: PingInvocationResult[] = [];
  failures = 0;

  constructor(
    private readonly endpoints: Endpoints,
    private readonly tables: BenchTables,
    private readonly config: CableConfig,
    private readonly design: DesignName,
    readonly logger: CountingLogger,
    private readonly stopped: () => boolean,
  ) {}

  invoke(event: { time: string } | PingInvocationEvent): void {
    const task: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(async () => {
        const env = invocationEnvironment(this.endpoints, this.tables, this.config);
        const coordination: PingCoordination | undefined = this.design === 'workers' ? {
          state: new DynamoPingerState(env.doc, this.tables.subscriptionsTable),
          launcher: { launch: async (worker) => this.invoke(worker) },
          postsPerSecondPerWorker: INVOCATION_RATE > 0 ? INVOCATION_RATE : pingPostsPerSecondPerInvocation(256),
        } : undefined;
        const handler = makePingHandler(async () => ({
          connections: env.connections,
          subscriptions: env.subscriptions,
          transport: env.transport,
          clock: systemClock,
          logger: this.logger,
          config: this.config,
          periodMs: PERIOD_MS,
          stopped: this.stopped,
          coordination,
        }));
        try {
          this.results.push(await handler(event as PingInvocationEvent));
        } finally {
          env.destroy();
        }
      })
      .catch(() => {
        this.failures++;
      })
      .finally(() => this.pending.delete(task));
    this.pending.add(task);
  }

  get invocations(): number {
    return this.results.length + this.failures;
  }

  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}

interface Services {
  readonly store: ServiceProcess<{ endpoint: string }>;
  readonly api: ServiceProcess<{ endpoint: string }>;
}

/** The schedule: an event every period from the next whole second, until the run's end. */
async function runDesign(
  services: Services, endpoints: Endpoints, tables: BenchTables, design: DesignName, connections: number, index: number,
): Promise<RunRow> {
  const config = resolveConfig({ ping: { intervalSeconds: INTERVAL } });
  const start = Math.ceil(Date.now() / 1000) * 1000 + 1000;
  const end = start + SECONDS * 1000;
  if (design === 'workers') {
    // Steady state: the minute before found every connection (as the coordinator records it).
    const clients = sdkClients(endpoints);
    try {
      const state = new DynamoPingerState(clients.doc, tables.subscriptionsTable);
      await state.claimPeriod(start - PERIOD_MS, start - PERIOD_MS);
      await state.record(start - PERIOD_MS, connections, 1);
    } finally {
      clients.destroy();
    }
  }
  await services.api.call('reset');
  const logger = new CountingLogger();
  const fn = new PingFunction(endpoints, tables, config, design, logger, () => Date.now() >= end);
  const cpu = process.cpuUsage();
  const wallStarted = performance.now();
  for (let time = start; time < end; time += PERIOD_MS) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, time - Date.now())));
    fn.invoke({ time: new Date(time).toISOString() });
  }
  await fn.drain();
  const wallMs = performance.now() - wallStarted;
  const { user, system } = process.cpuUsage(cpu);
  const [api, gaps] = await Promise.all([services.api.call<FakeConnectionsStats>('stats'), services.api.call<PostGapStats>('gapStats')]);
  const workers = Math.max(1, ...fn.results.map((r) => r.workers));
  const row: RunRow = {
    design,
    connections,
    intervalS: INTERVAL,
    seconds: SECONDS,
    segments: workers * config.ping.segments,
    workers,
    p50GapMs: gaps.p50Ms,
    p99GapMs: gaps.p99Ms,
    maxGapMs: gaps.maxMs,
    postsPerSecond: Math.round(api.posts / SECONDS),
    invocations: fn.invocations,
    errors: fn.failures + logger.errorEvents + fn.results.reduce((sum, r) => sum + r.failed + r.failedRounds, 0),
    pingedConnections: gaps.connections,
    gaps: gaps.gaps,
    // Rounds run at start + k × interval while under the run's seconds.
    expectedPings: connections * Math.ceil(SECONDS / INTERVAL),
    posts: api.posts,
    lateTicks: fn.results.reduce((sum, r) => sum + r.lateTicks, 0),
    maxLagMs: Math.max(0, ...fn.results.map((r) => r.lagMs)),
    invocationRate: INVOCATION_RATE,
    latencyMs: LATENCY_MS,
    round: index,
  };
  console.log(`  ${design.padEnd(8)} ${workers} worker(s), ${row.invocations} invocations: `
    + `gaps p50 ${row.p50GapMs} ms, p99 ${row.p99GapMs} ms, max ${row.maxGapMs} ms; `
    + `${row.posts} posts (${row.postsPerSecond}/s, ${row.expectedPings} due), ${row.pingedConnections} connections pinged, ${row.errors} errors, `
    + `${row.lateTicks} late ticks, wall ${Math.round(wallMs)} ms, bench CPU ${Math.round((user + system) / 1000)} ms`);
  return row;
}

async function measureSize(services: Services, endpoints: Endpoints, connections: number): Promise<RunRow[]> {
  const admin = sdkClients(endpoints);
  const tables = await createTables(admin.dynamo);
  const seedStarted = performance.now();
  await seedSubscribers(admin.doc, tables, Array.from({ length: connections }, (_, i) => connectionIdOf(i)));
  console.log(`\n${connections.toLocaleString('en')} connections seeded in ${Math.round(performance.now() - seedStarted)} ms; ${SECONDS} s each, interval ${INTERVAL} s`);
  const rows: RunRow[] = [];
  try {
    for (let index = 0; index < ROUNDS; index++) {
      // Alternating: the baseline first in even rounds, so drift in the machine hits both alike.
      const order: DesignName[] = index % 2 === 0 ? ['single', 'workers'] : ['workers', 'single'];
      for (const design of order) rows.push(await runDesign(services, endpoints, tables, design, connections, index));
    }
    return rows;
  } finally {
    await deleteTables(admin.dynamo, tables).catch(() => undefined);
    admin.destroy();
  }
}

async function main(): Promise<void> {
  const loadAtStart = os.loadavg().map((load) => round(load, 2));
  const store = await startServiceProcess<{ endpoint: string }>('store-process', {});
  let api: ServiceProcess<{ endpoint: string }> | undefined;
  try {
    api = await startServiceProcess<{ endpoint: string }>('connections-process', { latencyMs: LATENCY_MS, goneRate: 0, stage: STAGE, recordGaps: true });
    const endpoints: Endpoints = { store: store.ready.endpoint, connections: api.ready.endpoint };
    console.log(`ping benchmark: ${SIZES.join(', ')} connections, ${SECONDS} s, interval ${INTERVAL} s, @connections latency ${LATENCY_MS} ms, `
      + `${INVOCATION_RATE || 'uncapped'} posts/s per invocation, ${os.cpus().length} CPUs (load average ${loadAtStart.join(' ')}), node ${process.version}`);
    const rows: RunRow[] = [];
    for (const connections of SIZES) rows.push(...await measureSize({ store, api }, endpoints, connections));

    // Runs of other sizes or settings already in the file are kept; these replace their own kind.
    const same = (a: RunRow, b: RunRow) => a.connections === b.connections && a.intervalS === b.intervalS && a.seconds === b.seconds
      && a.invocationRate === b.invocationRate && a.latencyMs === b.latencyMs;
    const previous = fs.existsSync(OUT) ? (JSON.parse(fs.readFileSync(OUT, 'utf8')) as { runs?: RunRow[] }).runs ?? [] : [];
    const kept = previous.filter((old) => !rows.some((row) => same(old, row)));
    const report = {
      runs: [...kept, ...rows].sort((a, b) => a.connections - b.connections || a.seconds - b.seconds || a.round - b.round),
      designs: {
        workers: 'the ping handler with coordination as aws-runtime.ts builds it: lease, sizing from the previous period, workers as asynchronous invocations',
        single: 'the same handler without coordination: one invocation a period (workers forced to 1), the pinger before workers',
      },
      settings: {
        periodSeconds: PERIOD_MS / 1000,
        invocationRate: 'each invocation\'s posts capped at the given posts/s, standing in for a 256 MB Lambda\'s CPU (0: uncapped); also the sizing rate',
        postsPerSecond: 'posts over the run\'s seconds (the load offered; rounds post in bursts)',
        steadyState: "the lease holds the previous period's count (every connection), so the first period is sized",
        gaps: 'per connection, the time between consecutive POSTs as they arrive at the fake @connections endpoint (before its latency)',
        store: 'dynalite (in-memory DynamoDB API) in its own process',
        connectionsEndpoint: 'fake @connections endpoint in its own process, answering after a timer',
      },
      machine: machineInfo(loadAtStart),
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
