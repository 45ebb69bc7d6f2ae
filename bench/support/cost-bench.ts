import { performance } from 'node:perf_hooks';
import { BenchCableClient, Frame, inBatches } from './cost-clients';
import { DynamoCounts, DynamoMeter, DynamoOperationCounts } from './cost-dynamo-meter';
import { FUNCTIONS, Instrument, InstrumentCounts } from './cost-instrument';
import { PingDeps } from '../../lambda/core/ping';
import { InspectableLocalCableServer } from '../../lambda/local/local-cable-server';

/*
 * The measuring loop of bench/cost-counts.ts (and the operations it runs from other files, such
 * as bench/cost-presence.ts): settle the server, snapshot every counter, run an operation, settle,
 * and keep the difference, per operation and divided by how many times it ran.
 */

/** Every wait is bounded: an operation that has not settled by then fails the run. */
export const SETTLE_TIMEOUT_MS = 60_000;
const RUN_DEADLINE_MS = 20 * 60_000;
export const CONNECT_CONCURRENCY = 50;

export interface OperationReport {
  readonly name: string;
  readonly description: string;
  /** How many times the operation ran; `perOperation` divides the totals by it. */
  readonly count: number;
  readonly wallMs: number;
  readonly totals: OperationCounts;
  readonly perOperation: OperationCounts;
}

export interface OperationCounts {
  /** Per function; `posts`: its `@connections` posts (delivered or 410), so a whisper's `message` and `fanout` are told apart. */
  readonly lambda: Record<string, { invocations: number; errors: number; logLines: number; logBytes: number; posts: number; medianMs?: number }>;
  readonly apiGateway: Record<string, number>;
  readonly dynamodb: Record<string, DynamoOperationCounts>;
  readonly dynamodbTotals: { requests: number; readRequestUnits: number; writeRequestUnits: number; indexWriteUnits: number };
  readonly clients: { framesSent: number; framesReceived: number; bytesReceived: number };
  readonly scheduledPingsSkipped: number;
}

export class CostBench {
  readonly operations: OperationReport[] = [];
  readonly clients: BenchCableClient[] = [];
  private readonly started = Date.now();

  constructor(
    readonly server: InspectableLocalCableServer,
    readonly instrument: Instrument,
    readonly meter: DynamoMeter,
  ) {}

  /** Waits until no handler runs, no DynamoDB request is open, nothing is scheduled, and `until` holds. */
  async settle(until: () => boolean = () => true): Promise<void> {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    if (Date.now() - this.started > RUN_DEADLINE_MS) throw new Error(`the run is over its ${RUN_DEADLINE_MS} ms deadline`);
    let quiet = 0;
    while (quiet < 3) {
      if (Date.now() > deadline) throw new Error(`the server did not settle within ${SETTLE_TIMEOUT_MS} ms`);
      await this.server.runtime.delivery.drain();
      await this.server.runtime.shards.drain();
      await new Promise((resolve) => setTimeout(resolve, 15));
      quiet = this.instrument.inFlight === 0 && this.meter.inFlight === 0 && until() ? quiet + 1 : 0;
    }
  }

  /** Runs `body` (which does the operation `count` times) between two settled snapshots. */
  async measure(name: string, description: string, count: number, body: () => Promise<void>, until?: () => boolean): Promise<OperationReport> {
    await this.settle();
    const before = this.snapshot();
    const started = performance.now();
    await body();
    await this.settle(until);
    const wallMs = performance.now() - started;
    const totals = difference(before, this.snapshot());
    const report: OperationReport = { name, description, count, wallMs: round(wallMs, 0), totals, perOperation: divide(totals, count) };
    this.operations.push(report);
    console.log(`  ${name.padEnd(44)} x${String(count).padEnd(5)} ${summary(report.perOperation)}`);
    return report;
  }

  snapshot(): Snapshot {
    return {
      instrument: this.instrument.snapshot(),
      dynamodb: this.meter.snapshot(),
      clients: this.clients.reduce((sum, client) => ({
        framesSent: sum.framesSent + client.sentFrames,
        framesReceived: sum.framesReceived + client.receivedFrames,
        bytesReceived: sum.bytesReceived + client.receivedBytes,
      }), { framesSent: 0, framesReceived: 0, bytesReceived: 0 }),
    };
  }

  async connect(count: number, protocol?: string): Promise<BenchCableClient[]> {
    const opened = await inBatches(Array.from({ length: count }), CONNECT_CONCURRENCY, () => BenchCableClient.connect(this.server.url, { protocol }));
    this.clients.push(...opened);
    return opened;
  }

  /**
   * One broadcast through `POST /_broadcast` (`data` as the body's `data`), resolved once every
   * client in `to` has a frame that `arrived` accepts.
   */
  async broadcast(stream: string, data: string, to: readonly BenchCableClient[], arrived: (frame: Frame) => boolean): Promise<void> {
    const received = Promise.all(to.map((client) => client.waitFor(arrived, SETTLE_TIMEOUT_MS)));
    const response = await fetch(this.server.broadcastUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Authorization': `Bearer ${this.server.runtime.config.broadcastKey}` },
      body: JSON.stringify({ stream, data }),
    });
    if (response.status !== 201) throw new Error(`broadcast answered ${response.status}: ${await response.text()}`);
    await received;
  }

  /**
   * One invocation of the real pinger (`makePingHandler`, as the local server and AWS run it) whose
   * period is one tick, so it runs exactly one round: every connection older than the period's
   * start is due once with a 3 s interval.
   */
  async pingInvocation(overrides: Partial<PingDeps['config']>, periodMs: number): Promise<void> {
    const factory = this.instrument.realPingFactory as unknown as (deps: () => Promise<unknown>) => (event: { time: string }) => Promise<unknown>;
    if (!factory) throw new Error('the pinger factory was not captured');
    const runtime = this.server.runtime;
    const handler = this.instrument.wrap('ping', factory(async () => ({ ...runtime, config: { ...runtime.config, ...overrides }, periodMs })));
    await handler({ time: new Date(Date.now()).toISOString() } as never);
  }
}

interface Snapshot {
  readonly instrument: InstrumentCounts;
  readonly dynamodb: DynamoCounts;
  readonly clients: { framesSent: number; framesReceived: number; bytesReceived: number };
}

function difference(before: Snapshot, after: Snapshot): OperationCounts {
  const lambda: OperationCounts['lambda'] = {};
  for (const name of FUNCTIONS) {
    const a = before.instrument.functions[name];
    const b = after.instrument.functions[name];
    const invocations = b.invocations - a.invocations;
    if (invocations === 0) continue;
    const ms = b.ms.slice(a.ms.length);
    lambda[name] = {
      invocations,
      errors: b.errors - a.errors,
      logLines: b.logLines - a.logLines,
      logBytes: b.logBytes - a.logBytes,
      posts: b.posts - a.posts,
      medianMs: round(median(ms), 2),
    };
  }
  const apiGateway: Record<string, number> = {};
  for (const [key, value] of Object.entries(after.instrument.apiGateway)) {
    const delta = value - before.instrument.apiGateway[key as keyof typeof after.instrument.apiGateway];
    if (delta !== 0) apiGateway[key] = delta;
  }
  const dynamodb: Record<string, DynamoOperationCounts> = {};
  const dynamodbTotals = { requests: 0, readRequestUnits: 0, writeRequestUnits: 0, indexWriteUnits: 0 };
  for (const [operation, counts] of Object.entries(after.dynamodb)) {
    const previous = before.dynamodb[operation];
    const delta = Object.fromEntries(Object.entries(counts)
      .map(([key, value]) => [key, value - (previous?.[key as keyof DynamoOperationCounts] ?? 0)])) as unknown as DynamoOperationCounts;
    if (delta.requests === 0) continue;
    dynamodb[operation] = delta;
    dynamodbTotals.requests += delta.requests;
    dynamodbTotals.readRequestUnits += delta.readRequestUnits;
    dynamodbTotals.writeRequestUnits += delta.tableWriteUnits + delta.indexWriteUnits;
    dynamodbTotals.indexWriteUnits += delta.indexWriteUnits;
  }
  return {
    lambda,
    apiGateway,
    dynamodb,
    dynamodbTotals,
    clients: {
      framesSent: after.clients.framesSent - before.clients.framesSent,
      framesReceived: after.clients.framesReceived - before.clients.framesReceived,
      bytesReceived: after.clients.bytesReceived - before.clients.bytesReceived,
    },
    scheduledPingsSkipped: after.instrument.scheduledPingsSkipped - before.instrument.scheduledPingsSkipped,
  };
}

function divide(totals: OperationCounts, count: number): OperationCounts {
  const per = (value: number) => round(value / count, 4);
  return {
    lambda: Object.fromEntries(Object.entries(totals.lambda).map(([name, counts]) => [name, {
      invocations: per(counts.invocations),
      errors: per(counts.errors),
      logLines: per(counts.logLines),
      logBytes: per(counts.logBytes),
      posts: per(counts.posts),
      medianMs: counts.medianMs,
    }])),
    apiGateway: Object.fromEntries(Object.entries(totals.apiGateway).map(([key, value]) => [key, per(value)])),
    dynamodb: Object.fromEntries(Object.entries(totals.dynamodb).map(([operation, counts]) => [operation,
      Object.fromEntries(Object.entries(counts).map(([key, value]) => [key, per(value)])) as unknown as DynamoOperationCounts])),
    dynamodbTotals: {
      requests: per(totals.dynamodbTotals.requests),
      readRequestUnits: per(totals.dynamodbTotals.readRequestUnits),
      writeRequestUnits: per(totals.dynamodbTotals.writeRequestUnits),
      indexWriteUnits: per(totals.dynamodbTotals.indexWriteUnits),
    },
    clients: {
      framesSent: per(totals.clients.framesSent),
      framesReceived: per(totals.clients.framesReceived),
      bytesReceived: per(totals.clients.bytesReceived),
    },
    scheduledPingsSkipped: totals.scheduledPingsSkipped,
  };
}

export function summary(counts: OperationCounts): string {
  const lambda = Object.entries(counts.lambda).map(([name, c]) => `${name} ${fmt(c.invocations)}`).join(', ') || '-';
  const api = counts.apiGateway;
  const messages = `in ${fmt(api.inboundBilled ?? 0)} out ${fmt(api.outboundBilled ?? 0)}${api.postsGone ? ` (410 ${fmt(api.postsGone)})` : ''}`;
  const dynamo = Object.entries(counts.dynamodb).map(([op, c]) => `${op} ${fmt(c.requests)}`).join(', ') || '-';
  const units = `RRU ${fmt(counts.dynamodbTotals.readRequestUnits)} WRU ${fmt(counts.dynamodbTotals.writeRequestUnits)}`;
  return `| λ ${lambda} | msgs ${messages} | ddb ${dynamo} | ${units}`;
}

function fmt(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2).replace(/\.?0+$/, '');
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function round(value: number, digits: number): number {
  return Number.isFinite(value) ? Number(value.toFixed(digits)) : value;
}

