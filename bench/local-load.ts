/**
 * 2,000 WebSocket clients on one Turbo stream, against the cdk-cable local server and a real Rails
 * ActionCable server (test/conformance/rails on puma) side by side in one run: every client
 * connects as the stock @rails/actioncable client does (actioncable-v1-json, welcome, subscribe to
 * Turbo::StreamsChannel with a signed stream name, confirmation), then each server gets 20
 * broadcasts through its own HTTP entry point (cdk-cable: AnyCable's `POST /_broadcast` with the
 * broadcast key; Rails: `POST /broadcast` -> `ActionCable.server.broadcast`). Each message carries
 * the time it was sent; every client records when it arrived. Broadcasts alternate between the
 * servers, the next one sent `--spacing-ms` after the previous one reached every client (or timed
 * out), so the two never overlap. Writes bench/results/local-load.json.
 *
 * Run: npx projen bench:local-load
 * Settings (flag or environment variable): --clients / BENCH_CLIENTS (2000), --broadcasts /
 * BENCH_BROADCASTS (20), --spacing-ms (200), --warmup-broadcasts (2), --connect-concurrency (50),
 * --puma-threads ("8:32"), --delivery-timeout-ms (10000), --deadline-ms (600000), --out.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CableServerReady } from './support/cable-server-process';
import { ServiceProcess, startServiceProcess } from './support/child-process';
import { ClientFleet, stampedMessage } from './support/load-clients';
import { RailsServer, startRailsServer } from './support/rails-server';
import { machineInfo, writeReport } from './support/report';
import { BenchSettings, percentile, round, withTimeout } from './support/settings';
import { resolveConfig } from '../lambda/core/config';
import { signStream } from '../lambda/core/signed-stream';

const ROOT = path.join(__dirname, '..');
const settings = new BenchSettings();
const CLIENTS = settings.number('clients', 2_000, { min: 1, max: 50_000, integer: true });
const BROADCASTS = settings.number('broadcasts', 20, { min: 1, max: 1_000, integer: true });
const SPACING_MS = settings.number('spacing-ms', 200, { min: 0, max: 60_000 });
const WARMUP_BROADCASTS = settings.number('warmup-broadcasts', 2, { min: 0, max: 100, integer: true });
const CONNECT_CONCURRENCY = settings.number('connect-concurrency', 50, { min: 1, max: 10_000, integer: true });
const CONNECT_TIMEOUT_MS = settings.number('connect-timeout-ms', 30_000, { min: 1_000 });
const DELIVERY_TIMEOUT_MS = settings.number('delivery-timeout-ms', 10_000, { min: 100 });
const PUMA_THREADS = settings.string('puma-threads', '8:32');
const DEADLINE_MS = settings.number('deadline-ms', 600_000, { min: 10_000 });
const OUT = path.resolve(ROOT, settings.string('out', 'bench/results/local-load.json'));

const SECRET = 'local-load-benchmark-secret';
const STREAM = 'Z2lkOi8vYXBwL1Jvb20vMQ:messages';
const IDENTIFIER = JSON.stringify({ channel: 'Turbo::StreamsChannel', signed_stream_name: signStream(STREAM, SECRET) });
/** Sockets this process holds (one per client per server) plus room for the HTTP broadcasts and stdio. */
const FILES_NEEDED = CLIENTS * 2 + 256;

type ServerName = 'cdk-cable' | 'rails';

interface Target {
  readonly name: ServerName;
  readonly fleet: ClientFleet;
  readonly acceptedStatus: number;
  /** Sends one message to the stream through the server's HTTP broadcast entry point; resolves with the HTTP status. */
  broadcast(html: string): Promise<number>;
}

/**
 * This process's limits on open files. Node raises its own soft limit to the hard limit when it
 * starts (src/node.cc, PlatformInit), so the hard limit is what counts; `sh` here inherits it.
 */
function openFileLimits(): { soft: number; hard: number } {
  const read = (flag: string) => {
    const text = spawnSync('sh', ['-c', `ulimit ${flag}`], { encoding: 'utf8' }).stdout.trim();
    return text === 'unlimited' ? Number.POSITIVE_INFINITY : Number(text);
  };
  return { soft: read('-Sn'), hard: read('-Hn') };
}

async function broadcastTo(target: Target, seq: number): Promise<{ delivered: number; httpMs: number; status: number }> {
  const sentAt = performance.now();
  const status = await target.broadcast(stampedMessage(seq, sentAt));
  const httpMs = performance.now() - sentAt;
  if (status !== target.acceptedStatus) throw new Error(`${target.name}: broadcast ${seq} answered ${status}`);
  const delivered = await target.fleet.waitFor(seq, DELIVERY_TIMEOUT_MS);
  return { delivered, httpMs, status };
}

function summarize(target: Target, seqs: number[], httpMs: number[], connectMs: number) {
  const { latencies, missing } = target.fleet.results(seqs);
  const sorted = latencies.sort((a, b) => a - b);
  const expected = target.fleet.size * seqs.length;
  const lastArrivals = target.fleet.lastArrivals(seqs).sort((a, b) => a - b);
  return {
    clients: target.fleet.size,
    broadcasts: seqs.length,
    expectedReceipts: expected,
    received: sorted.length,
    missing,
    deliveryRatio: round(sorted.length / expected, 4),
    duplicates: target.fleet.duplicates,
    unexpectedFrames: target.fleet.unexpected,
    droppedConnections: target.fleet.dropped,
    latencyMs: {
      p50: round(percentile(sorted, 50), 2),
      p95: round(percentile(sorted, 95), 2),
      p99: round(percentile(sorted, 99), 2),
      max: round(sorted[sorted.length - 1] ?? Number.NaN, 2),
      mean: round(sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, sorted.length), 2),
      min: round(sorted[0] ?? Number.NaN, 2),
    },
    /** When the last of the clients had each broadcast. */
    lastClientMs: { p50: round(percentile(lastArrivals, 50), 2), max: round(lastArrivals[lastArrivals.length - 1] ?? Number.NaN, 2) },
    broadcastHttpMs: { p50: round(percentile([...httpMs].sort((a, b) => a - b), 50), 2), max: round(Math.max(...httpMs), 2) },
    connectAllMs: Math.round(connectMs),
  };
}

async function main(): Promise<void> {
  const limits = openFileLimits();
  if (limits.soft < FILES_NEEDED) {
    throw new Error(`${CLIENTS} clients on two servers need about ${FILES_NEEDED} open files; the limit is ${limits.soft} (hard ${limits.hard}). `
      + `Raise the hard limit (ulimit -Hn ${FILES_NEEDED}, as root) or pass --clients with fewer.`);
  }
  const deadline = setTimeout(() => {
    console.error(`bench:local-load: still running after ${DEADLINE_MS} ms; stopping`);
    process.exit(2);
  }, DEADLINE_MS);
  deadline.unref();

  const broadcastKey = resolveConfig({ secret: SECRET }).broadcastKey!;
  let cable: ServiceProcess<CableServerReady> | undefined;
  let rails: RailsServer | undefined;
  const fleets: ClientFleet[] = [];
  try {
    console.log(`local load: ${CLIENTS} clients per server, ${BROADCASTS} broadcasts each, ${os.cpus().length} CPUs, open files ${limits.soft}/${limits.hard}, node ${process.version}`);
    [cable, rails] = await Promise.all([
      startServiceProcess<CableServerReady>('cable-server-process', { secret: SECRET, logLevel: 'warn' }),
      startRailsServer({
        turboStreamsSecret: SECRET,
        threads: PUMA_THREADS,
        openFiles: Math.min(limits.hard, FILES_NEEDED * 2),
        bootTimeoutMs: 30_000,
      }),
    ]);
    const cableReady = cable.ready;
    const railsServer = rails;
    const targets: Target[] = [
      {
        name: 'cdk-cable',
        fleet: new ClientFleet('cdk-cable', cableReady.url, IDENTIFIER),
        acceptedStatus: 201,
        broadcast: async (html) => (await fetch(cableReady.broadcastUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'authorization': `Bearer ${broadcastKey}` },
          body: JSON.stringify({ stream: STREAM, data: JSON.stringify(html) }),
          signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
        })).status,
      },
      {
        name: 'rails',
        fleet: new ClientFleet('rails', railsServer.url, IDENTIFIER),
        acceptedStatus: 202,
        broadcast: async (html) => (await fetch(railsServer.broadcastUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ stream: STREAM, message: html }),
          signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
        })).status,
      },
    ];
    fleets.push(...targets.map((target) => target.fleet));

    const connectMs: Record<string, number> = {};
    for (const target of targets) {
      connectMs[target.name] = await withTimeout(target.fleet.connect(CLIENTS, CONNECT_CONCURRENCY, CONNECT_TIMEOUT_MS), CONNECT_TIMEOUT_MS * 4, `${target.name}: connecting ${CLIENTS} clients`);
      console.log(`${target.name}: ${CLIENTS} clients connected and subscribed in ${connectMs[target.name].toFixed(0)} ms`);
    }

    // Warm-up broadcasts (not counted): JIT on both sides, the HTTP client's connections.
    let seq = 0;
    for (let i = 0; i < WARMUP_BROADCASTS; i++) {
      for (const target of targets) await broadcastTo(target, seq);
      seq++;
      await new Promise((resolve) => setTimeout(resolve, SPACING_MS));
    }

    const measured: Record<ServerName, number[]> = { 'cdk-cable': [], 'rails': [] };
    const httpMs: Record<ServerName, number[]> = { 'cdk-cable': [], 'rails': [] };
    for (let i = 0; i < BROADCASTS; i++, seq++) {
      // Alternate which server goes first, so neither always follows the other's traffic.
      for (const target of i % 2 === 0 ? targets : [...targets].reverse()) {
        const outcome = await broadcastTo(target, seq);
        measured[target.name].push(seq);
        httpMs[target.name].push(outcome.httpMs);
        if (outcome.delivered < target.fleet.size) console.log(`${target.name}: broadcast ${seq} reached ${outcome.delivered}/${target.fleet.size} clients`);
        await new Promise((resolve) => setTimeout(resolve, SPACING_MS));
      }
    }

    const servers = Object.fromEntries(targets.map((target) => [
      target.name,
      summarize(target, measured[target.name], httpMs[target.name], connectMs[target.name]),
    ]));
    const cableSummary = servers['cdk-cable'];
    const railsSummary = servers.rails;
    const ratio = round(cableSummary.latencyMs.p95 / railsSummary.latencyMs.p95, 3);
    const target = {
      fullDelivery: cableSummary.deliveryRatio === 1 && cableSummary.duplicates === 0,
      p95AtMostHalfOfRails: ratio <= 0.5,
    };
    const met = target.fullDelivery && target.p95AtMostHalfOfRails;

    console.log('\n| server | delivered | p50 ms | p95 ms | p99 ms | max ms | last client p50 ms | connect all ms |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const [name, summary] of Object.entries(servers)) {
      console.log(`| ${name} | ${summary.received}/${summary.expectedReceipts} (${(summary.deliveryRatio * 100).toFixed(2)} %) | ${summary.latencyMs.p50} | `
        + `${summary.latencyMs.p95} | ${summary.latencyMs.p99} | ${summary.latencyMs.max} | ${summary.lastClientMs.p50} | ${summary.connectAllMs} |`);
    }
    console.log(`\ncdk-cable p95 / Rails p95 = ${ratio} (target <= 0.5); 100 % delivery: ${target.fullDelivery}; target ${met ? 'met' : 'NOT met'}`);

    const report = {
      clients: CLIENTS,
      broadcastsPerServer: BROADCASTS,
      spacingMs: SPACING_MS,
      servers,
      ratioP95CdkCableOverRails: ratio,
      target: { ...target, met },
      setup: {
        'stream': STREAM,
        'clientsProcess': 'one Node process, ws clients without compression, offering actioncable-v1-json as @rails/actioncable does',
        'cdk-cable': 'startLocalCableServer (lambda/local) in its own Node process, in-memory stores, log level warn; POST /_broadcast with Authorization: Bearer hex(HMAC-SHA256(secret, "broadcast-cable"))',
        'rails': `test/conformance/rails (ActionCable ${railsVersion()}, async adapter, worker_pool_size 4) on puma ${pumaVersion()} --threads ${PUMA_THREADS}, single mode, log level warn; POST /broadcast -> ActionCable.server.broadcast`,
        'order': `${WARMUP_BROADCASTS} warm-up broadcasts per server (not counted); then alternating servers, each broadcast sent ${SPACING_MS} ms after the previous one reached every client`,
        'latency': 'receive time minus the send time stamped in the message (performance.now() of the client process, taken just before the HTTP broadcast request)',
        'openFiles': limits,
      },
      machine: machineInfo(os.loadavg().map((load) => round(load, 2))),
      measuredAt: new Date().toISOString(),
    };
    writeReport(OUT, report);
  } catch (error) {
    if (rails) console.error(`puma's last output:\n${rails.log().slice(-4_000)}`);
    throw error;
  } finally {
    await Promise.all(fleets.map((fleet) => fleet.close()));
    await Promise.all([cable?.close(), rails?.close()]);
  }
}

function railsVersion(): string {
  return spawnSync('ruby', ['-e', 'require "action_cable"; print ActionCable.version'], { encoding: 'utf8' }).stdout.trim();
}

function pumaVersion(): string {
  return spawnSync('puma', ['--version'], { encoding: 'utf8' }).stdout.trim().replace(/^puma version /, '');
}

main().then(() => process.exit(0), (error: unknown) => {
  console.error(error);
  process.exit(1);
});
