/**
 * Forced reconnects on the local server (memory store): what a client loses and how long it takes
 * to get messages again, three clients side by side in one run:
 *
 * - "stock": `@rails/actioncable`'s consumer (plain protocol). Its ConnectionMonitor reopens a
 *   connection only once it has been stale for 6 s and disconnected for 6 s.
 * - "ext-default": `@anycable/core` 1.1.7 with `actioncable-v1-ext-json` and its default reconnect
 *   strategy (`backoffWithJitter(pingInterval = 3000)`: a first wait of 1.5-9 s).
 * - "ext-tuned": the same with `reconnectStrategy: backoffWithJitter(500, { maxInterval: 5000 })`
 *   (a first wait of 0.25-1.5 s).
 *
 * Two kinds of cut, each on a server of its own, both running at once (the machine is noisy;
 * every client of every kind sees the same moment of it):
 *
 * - "server_restart": the pinger ends connections older than `maxConnectionAgeSeconds` with
 *   `{"type":"disconnect","reason":"server_restart","reconnect":true}`, then closes them (what
 *   the deployed pinger does before API Gateway's 2-hour cut). `@anycable/core` drops its sid on
 *   that frame, reconnects as a new session and resubscribes with `history`.
 * - "drop": the local server closes the socket (1001) at `maxConnectionMs`, no frame first, as
 *   API Gateway's own cut or a network drop looks. `@anycable/core` keeps its sid and reconnects
 *   with `?sid=`; the session is restored and the client asks for what it missed with `history`.
 *
 * A broadcast goes out every 1/rate s to each server's stream over `POST /_broadcast`, in order
 * (each POST awaited, on an absolute schedule). Each client's sockets are recorded as they open,
 * get `welcome` and are cut (frame or close); a cut's recovery is the time to the first message
 * delivered to the app after a new socket opened. Benchmarks are not tests: nothing is asserted
 * on timing, but the run stops if a subscription or a broadcast cannot be set up.
 *
 * Run: npx projen bench:recovery
 * Settings (flag or environment variable): --seconds / BENCH_SECONDS (90, broadcasting time),
 * --cut-seconds / BENCH_CUT_SECONDS (4, connection age at the cut), --rate / BENCH_RATE (10
 * broadcasts a second), --out / BENCH_OUT (bench/results/recovery.json).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as ActionCable from '@rails/actioncable';
import { WebSocket } from 'ws';
import { ClientTimeline, recoveryStats, RecoveryStats } from './support/recovery-timeline';
import { machineInfo, writeReport } from './support/report';
import { BenchSettings, round, withTimeout } from './support/settings';
import { LogFields, Logger } from '../lambda/core/ports';
import { InspectableLocalCableServer, startInspectableServer } from '../lambda/local/local-cable-server';
import { loadAnyCable } from '../test/e2e/support/anycable-core';
import { installNodeConsumer } from '../test/e2e/support/browser-globals';

const ROOT = path.join(__dirname, '..');
const settings = new BenchSettings();
const SECONDS = settings.number('seconds', 90, { min: 5, max: 3_600, integer: true });
const CUT_SECONDS = settings.number('cut-seconds', 4, { min: 1, max: 600, integer: true });
const RATE = settings.number('rate', 10, { min: 1, max: 200 });
const OUT = path.resolve(ROOT, settings.string('out', 'bench/results/recovery.json'));
const BROADCAST_KEY = 'recovery-bench-key';
const TUNED_BASE_MS = 500;
const TUNED_MAX_MS = 5_000;
/** Time for clients still reconnecting at the end to catch up (the stock client's wait is up to ~18 s). */
const DRAIN_MS = 20_000;
/** AnyCable's published delivery-under-jitter figures (nodejs-websocket-bench README, AnyCable OSS). */
const ANYCABLE_PUBLISHED = {
  source: 'https://github.com/anycable/nodejs-websocket-bench#delivery-under-jitter--10000-clients-120-messages-at-2sec',
  setup: '10,000 clients, TCP socket force-closed every ~15 s, ~2 s offline (the client library\'s reconnect backoff), anycable-go 1.6+ in-memory broker',
  deliveryRate: '100%',
  replayLatencyMs: { p50: 250, p95: 4_100, p99: 6_140, max: 9_230 },
  issueFigure: '1.4 s recovery (quoted in issue 16; its source was not found)',
};

type Design = 'stock' | 'ext-default' | 'ext-tuned';
type CutKind = 'server_restart' | 'drop';
const DESIGNS: Design[] = ['stock', 'ext-default', 'ext-tuned'];
const { createCable, backoffWithJitter } = loadAnyCable();

interface Client {
  readonly design: Design;
  readonly timeline: ClientTimeline;
  readonly subscribed: Promise<void>;
  close(): void;
}

/** Counts what the server logs about sessions, and every warning and error, by event (and reason). */
class EventCounter implements Logger {
  readonly counts: Record<string, number> = {};
  info(event: string, fields?: LogFields): void {
    if (event.startsWith('session.')) this.count(event, fields);
  }
  warn(event: string, fields?: LogFields): void {
    this.count(`warn ${event}`, fields);
  }
  error(event: string, fields?: LogFields): void {
    this.count(`error ${event}`, fields);
  }
  private count(event: string, fields?: LogFields): void {
    const key = typeof fields?.reason === 'string' ? `${event} (${fields.reason})` : event;
    this.counts[key] = (this.counts[key] ?? 0) + 1;
  }
}

interface Lane {
  readonly kind: CutKind;
  readonly events: EventCounter;
  readonly stream: string;
  readonly server: InspectableLocalCableServer;
  readonly clients: Client[];
  sent: number;
}

/** Stock consumers read `ActionCable.adapters.WebSocket` globally: one recording class, a timeline per server port. */
const stockTimelines = new Map<string, ClientTimeline>();

class StockWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols);
    const timeline = stockTimelines.get(new URL(url).port);
    if (!timeline) throw new Error(`no stock client dials ${url}`);
    timeline.attach(this);
  }
}

function stockClient(url: string, stream: string): Client {
  const timeline = new ClientTimeline();
  stockTimelines.set(new URL(url).port, timeline);
  const consumer = ActionCable.createConsumer(url);
  const subscribed = new Promise<void>((resolve, reject) => {
    consumer.subscriptions.create({ channel: '$pubsub', stream_name: stream }, {
      connected: () => resolve(),
      rejected: () => reject(new Error(`stock: ${stream} rejected`)),
      received: (data: unknown) => timeline.receive(data),
    });
  });
  return { design: 'stock', timeline, subscribed, close: () => consumer.disconnect() };
}

function extClient(design: 'ext-default' | 'ext-tuned', url: string, stream: string): Client {
  const timeline = new ClientTimeline();
  const cable = createCable(url, {
    websocketImplementation: timeline.webSocketClass(),
    protocol: 'actioncable-v1-ext-json',
    logLevel: 'error',
    ...(design === 'ext-tuned' ? { reconnectStrategy: backoffWithJitter(TUNED_BASE_MS, { maxInterval: TUNED_MAX_MS }) } : {}),
  });
  const channel = cable.streamFrom(stream);
  channel.on('message', (message: unknown) => timeline.receive(message));
  return { design, timeline, subscribed: channel.ensureSubscribed(), close: () => cable.disconnect() };
}

async function startLane(kind: CutKind): Promise<Lane> {
  const events = new EventCounter();
  const server = await startInspectableServer({
    port: 0,
    logLevel: 'silent',
    ...(kind === 'drop' ? { maxConnectionMs: CUT_SECONDS * 1000 } : {}),
    settings: {
      secret: 'recovery-bench',
      publicStreams: true,
      broadcastKey: BROADCAST_KEY,
      ...(kind === 'server_restart' ? { maxConnectionAgeSeconds: CUT_SECONDS } : {}),
    },
  }, { logger: events });
  const stream = `recovery:${kind}`;
  const clients = DESIGNS.map((design) => (design === 'stock' ? stockClient(server.url, stream) : extClient(design, server.url, stream)));
  const lane: Lane = { kind, events, stream, server, clients, sent: 0 };
  try {
    await withTimeout(Promise.all(clients.map((client) => client.subscribed)), 10_000, `subscribing the ${kind} clients to ${stream}`);
  } catch (error) {
    await stopLane(lane);
    throw error;
  }
  return lane;
}

async function broadcast(lane: Lane, n: number): Promise<void> {
  const response = await fetch(lane.server.broadcastUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Authorization': `Bearer ${BROADCAST_KEY}` },
    // An object: @anycable/core drops a falsy message (0) as an unknown frame.
    body: JSON.stringify({ stream: lane.stream, data: JSON.stringify({ n }) }),
  });
  if (response.status !== 201) throw new Error(`POST ${lane.server.broadcastUrl} for ${lane.stream} answered ${response.status}: ${await response.text()}`);
}

/** Broadcasts 0, 1, 2 … in order, the k-th due at start + k/rate (a slow POST delays only its followers). */
async function broadcastSteadily(lane: Lane, start: number, end: number): Promise<void> {
  for (let n = 0; start + (n * 1000) / RATE < end; n++) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, start + (n * 1000) / RATE - Date.now())));
    await broadcast(lane, n);
    lane.sent = n + 1;
    // The first broadcast must reach every client: otherwise the stream is not set up and nothing below means anything.
    if (n === 0) await withTimeout(waitUntil(() => lane.clients.every((c) => c.timeline.has(0)), end), 5_000, `the first broadcast on ${lane.stream} reaching every client`);
  }
}

async function waitUntil(done: () => boolean, deadline: number): Promise<void> {
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

async function stopLane(lane: Lane): Promise<void> {
  lane.clients.forEach((client) => client.close());
  await lane.server.close();
}

interface Row extends RecoveryStats {
  design: Design;
  cut: CutKind;
}

function ms(value: number | null): string {
  return value === null ? '-' : `${(value / 1000).toFixed(2)}`;
}

function printTable(rows: Row[]): void {
  const header = ['design', 'cut', 'sent', 'recv', 'lost', 'dup', 'ooo', 'cuts', 'sid/restored', 'age at cut s p50',
    'recovery s p50/max', 'client wait s p50', 'dial→open s p50', 'reconnect→msg s p50/max'];
  const lines = rows.map((r) => [
    r.design, r.cut, r.sent, r.received, r.lost, r.duplicated, r.outOfOrder, `${r.recovered}/${r.cuts}`, `${r.restoreAsked}/${r.restored}`, ms(r.ageAtCutMs.p50),
    `${ms(r.recoveryMs.p50)} / ${ms(r.recoveryMs.max)}`, ms(r.cutToDialMs.p50), ms(r.dialToOpenMs.p50),
    `${ms(r.reconnectToMessageMs.p50)} / ${ms(r.reconnectToMessageMs.max)}`,
  ].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => line[i].length)));
  for (const line of [header, ...lines]) console.log(line.map((cell, i) => cell.padEnd(widths[i])).join('  '));
}

/** Every client's sockets, times in ms from the first broadcast, to check a figure against what happened. */
function socketLog(lanes: Lane[], start: number) {
  const at = (time: number | undefined) => (time === undefined ? undefined : time - start);
  return Object.fromEntries(lanes.flatMap((lane) => lane.clients.map((client) => [
    `${client.design} ${lane.kind}`,
    client.timeline.sockets.map((s) => ({
      opened: at(s.openedAt), welcome: at(s.welcomeAt), cut: at(s.cutAt), cutBy: s.cutBy, sid: s.sid !== undefined, restored: s.restored,
    })),
  ])));
}

async function main(): Promise<void> {
  const loadAtStart = os.loadavg().map((load) => round(load, 2));
  console.log(`recovery benchmark: ${SECONDS} s at ${RATE} broadcasts/s per stream, connections cut at ${CUT_SECONDS} s of age, `
    + `${os.cpus().length} CPUs (load average ${loadAtStart.join(' ')}), node ${process.version}`);
  const restoreGlobals = installNodeConsumer(StockWebSocket);
  const lanes: Lane[] = [];
  try {
    for (const kind of ['server_restart', 'drop'] as const) lanes.push(await startLane(kind));
    const start = Date.now() + 200;
    const end = start + SECONDS * 1000;
    await Promise.all(lanes.map((lane) => broadcastSteadily(lane, start, end)));
    const stoppedAt = Date.now();
    // Let clients that were reconnecting at the end catch up; the ext clients must, the stock one may not.
    await waitUntil(() => lanes.every((lane) => lane.clients.every((c) => c.design === 'stock' || c.timeline.has(lane.sent - 1))), stoppedAt + DRAIN_MS);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rows: Row[] = lanes.flatMap((lane) => lane.clients.map((client) => ({
      design: client.design, cut: lane.kind, ...recoveryStats(client.timeline, lane.sent, stoppedAt),
    })));
    console.log('');
    printTable(rows);
    writeReport(OUT, {
      rows,
      anycablePublished: ANYCABLE_PUBLISHED,
      designs: {
        'stock': '@rails/actioncable consumer (actioncable-v1-json), its ConnectionMonitor as shipped',
        'ext-default': '@anycable/core 1.1.7, actioncable-v1-ext-json, default reconnectStrategy backoffWithJitter(3000): first wait 1.5-9 s',
        'ext-tuned': `@anycable/core 1.1.7, actioncable-v1-ext-json, reconnectStrategy backoffWithJitter(${TUNED_BASE_MS}, { maxInterval: ${TUNED_MAX_MS} }): first wait 0.25-1.5 s`,
      },
      cuts: {
        server_restart: `settings.maxConnectionAgeSeconds = ${CUT_SECONDS}: the pinger (a round every 3 s tick) sends the server_restart disconnect frame and closes; `
          + 'its rounds look one tick ahead, so a connection is ended at an age between N - 3 s and N (see ageAtCutMs)',
        drop: `maxConnectionMs = ${CUT_SECONDS * 1000}: the local server closes the socket (1001) with no frame, as API Gateway's cut`,
      },
      settings: {
        seconds: SECONDS,
        cutSeconds: CUT_SECONDS,
        rate: RATE,
        store: 'memory',
        run: 'both servers and all six clients at once in one process; each server has its own stream',
        recovery: 'cut (disconnect frame or close, whichever first) to the first message delivered after a new socket opened; reconnect = that socket\'s welcome',
        lost: 'broadcasts never delivered by the end of the run (after up to 20 s for clients still reconnecting)',
      },
      serverEvents: Object.fromEntries(lanes.map((lane) => [lane.kind, lane.events.counts])),
      sockets: socketLog(lanes, start),
      machine: machineInfo(loadAtStart),
      measuredAt: new Date().toISOString(),
    });
  } finally {
    await Promise.all(lanes.map(stopLane));
    restoreGlobals();
  }
}

main().then(() => process.exit(0), (error: unknown) => {
  console.error(error);
  process.exit(1);
});
