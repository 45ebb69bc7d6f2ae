/**
 * Request counts per operation, the inputs of docs/cost.md: the local server (lambda/local, API
 * Gateway's semantics, the handlers of lambda/handlers/ in-process) with the DynamoDB store on
 * dynalite, driven by real WebSocket clients over loopback, one run. Counted:
 *
 * - Lambda invocations per function (connect, message, disconnect, deliver, broadcast, fanout,
 *   ping) by wrapping the handler factories the server builds them from
 *   (support/cost-instrument.ts), with their wall time and the log lines each wrote;
 * - API Gateway messages both ways in billed 32 KB units, `$connect`/`$disconnect` events,
 *   `@connections` calls (PostToConnection delivered / 410, DeleteConnection), at the server's
 *   connection registry, the one place both the HTTP `@connections` endpoint and the in-process
 *   transport go through; the clients' own frame counts are kept as a cross-check;
 * - DynamoDB requests by operation with the request units DynamoDB would bill, through a
 *   metering proxy in front of dynalite (support/cost-dynamo-meter.ts: dynalite's
 *   ReturnConsumedCapacity for reads, DynamoDB's write rules, index writes included, applied to
 *   item pre-images for writes).
 *
 * Operations: connect (+ welcome), subscribe (and a repeated subscribe), a client message,
 * unsubscribe, disconnect with 0, 1 and 3 subscriptions; then with N = 1, 100, 1,000 connections
 * subscribed to one stream: one broadcast, one ping round (3 s interval, every connection due),
 * one ping round with nothing due (the 9-minute interval's read), and at the largest N a
 * broadcast split into shards and the 2-hour close; then whispers and presence with clients of
 * AnyCable's extended protocol on public `$pubsub` streams (bench/cost-presence.ts; the server runs
 * with `publicStreams` on, which changes nothing for the Turbo streams above). The server's own ping schedule is held back
 * and rounds are run by the bench with the real pinger (`makePingHandler`), so that no round
 * lands inside another operation's counts. First of all, the CPU time one PostToConnection
 * costs its caller (SDK, SigV4, HTTP/TLS), which sizes the fan-out and ping functions.
 *
 * The counts feed the cost model (support/cost-model.ts), whose monthly tables are printed and
 * written too, and the whisper and presence rows are printed as docs/cost.md's table. Writes bench/results/cost-counts.json.
 *
 * Run: npx projen bench:cost   (ts-node --project bench/tsconfig.json bench/cost-counts.ts)
 * Settings (environment): BENCH_SIZES (1,100,1000), BENCH_SMALL (20, clients for the
 * per-operation counts), BENCH_PAYLOAD_BYTES (1024, broadcast frame size), BENCH_POSTS (5000,
 * posts for the CPU measurement), BENCH_OUT (bench/results/cost-counts.json), BENCH_ECHO (0: 1
 * prints the server's log lines).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { presenceMarkdownRows, runPresenceOperations } from './cost-presence';
import { CONNECT_CONCURRENCY, CostBench, round, SETTLE_TIMEOUT_MS } from './support/cost-bench';
import { BenchCableClient, BROWSER_HEADERS, inBatches } from './support/cost-clients';
import { DynamoMeter } from './support/cost-dynamo-meter';
import { Instrument } from './support/cost-instrument';
import { buildModel, MeasuredInputs, printModel } from './support/cost-model';
import { measurePostCpu, PostCpuResult } from './support/cost-post-cpu';
import { startCostDynamo } from './support/cost-tables';
import { emitMetrics } from '../lambda/adapters/emf-metrics';
import { handleBroadcastHttp } from '../lambda/core/broadcast-http';
import { Logger } from '../lambda/core/ports';
import { encodeFrame, ping } from '../lambda/core/protocol';
import { signStream } from '../lambda/core/signed-stream';
import { startInspectableServer } from '../lambda/local/local-cable-server';

const ROOT = path.join(__dirname, '..');
const SIZES = integers('BENCH_SIZES', [1, 100, 1_000], 1, 5_000);
const SMALL = integers('BENCH_SMALL', [20], 5, 200)[0];
const PAYLOAD_BYTES = integers('BENCH_PAYLOAD_BYTES', [1_024], 200, 120_000)[0];
const POSTS = integers('BENCH_POSTS', [5_000], 100, 100_000)[0];
const OUT = path.resolve(ROOT, process.env.BENCH_OUT ?? 'bench/results/cost-counts.json');
const ECHO = process.env.BENCH_ECHO === '1';
const SECRET = 'cost-bench-secret';

function integers(name: string, fallback: number[], min: number, max: number): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  return raw.split(',').map((part) => {
    const value = Number(part.trim().replace(/_/g, ''));
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must list integers from ${min} to ${max}, got "${raw}"`);
    return value;
  });
}

/** Rails' `turbo_stream_from record`: the stream is the record's GlobalID param, signed. */
function turboIdentifier(record: string): { stream: string; identifier: string } {
  const stream = Buffer.from(`gid://app/${record}`, 'utf8').toString('base64url');
  return { stream, identifier: JSON.stringify({ channel: 'Turbo::StreamsChannel', signed_stream_name: signStream(stream, SECRET) }) };
}

/** A Turbo Stream `append` of about `bytes` bytes once framed, marked with `tag`. */
function turboData(tag: string, bytes: number): string {
  const head = `<turbo-stream action="append" target="messages"><template><div id="message_${tag}" class="message"><p>`;
  const tail = '</p></div></template></turbo-stream>';
  const frameOverhead = 220; // {"identifier":"…","message":"…"} around the HTML, escapes included
  return JSON.stringify(`${head}${'x'.repeat(Math.max(0, bytes - frameOverhead - head.length - tail.length))}${tail}`);
}

/** Bytes of the metrics line the AWS broadcast and fan-out handlers add (the in-process path does not write it). */
function metricsLineBytes(values: Record<string, number>): number {
  let bytes = 0;
  const capture: Logger = { info: (event, fields) => { bytes = Buffer.byteLength(JSON.stringify({ level: 'info', event, ...fields })) + 1; }, warn: () => undefined, error: () => undefined };
  emitMetrics(capture, 'a1b2c3d4e5', values);
  return bytes;
}

async function runOperations(bench: CostBench): Promise<void> {
  const roomA = turboIdentifier('Room/1');
  const roomB = turboIdentifier('Room/2');
  const roomC = turboIdentifier('Room/3');

  console.log(`\nper-operation counts (${SMALL} clients, one after another)`);
  const small: BenchCableClient[] = [];
  await bench.measure('connect', '$connect (PutItem, async invoke of deliver) and the welcome posted by deliver', SMALL, async () => {
    for (let i = 0; i < SMALL; i++) {
      const [client] = await bench.connect(1);
      small.push(client);
    }
  });
  await bench.measure('subscribe', 'Turbo::StreamsChannel subscribe: $default, conditional PutItem, confirm_subscription', SMALL, async () => {
    for (const client of small) await client.subscribe(roomA.identifier);
  });
  await bench.measure('subscribe (repeated)', 'the same subscribe again (the client re-sends until confirmed): the condition fails, still confirmed', SMALL, async () => {
    for (const client of small) await client.subscribe(roomA.identifier);
  });
  const inbound = () => bench.instrument.counts.apiGateway.inboundMessages;
  let target = 0;
  await bench.measure('client message (built-in channel)', '{"command":"message"} to a Turbo stream: $default, logged and ignored (no app channels yet)', SMALL, async () => {
    target = inbound() + SMALL;
    for (const client of small) client.perform(roomA.identifier, { action: 'speak', body: 'hello' });
  }, () => inbound() >= target);
  await bench.measure('unsubscribe', '$default: Query byConnection + BatchWriteItem delete; no reply', SMALL, async () => {
    target = inbound() + SMALL;
    for (const client of small) client.unsubscribe(roomA.identifier);
  }, () => inbound() >= target);

  // Set-up for the disconnect variants: 0, 1 and 3 subscriptions.
  const none = small.slice(0, Math.floor(SMALL / 4));
  const three = small.slice(none.length, none.length + Math.floor(SMALL / 4));
  const one = small.slice(none.length + three.length);
  for (const client of [...three, ...one]) await client.subscribe(roomA.identifier);
  for (const client of three) {
    await client.subscribe(roomB.identifier);
    await client.subscribe(roomC.identifier);
  }
  const disconnects = () => bench.instrument.counts.apiGateway.disconnects;
  for (const [label, group] of [['0', none], ['1', one], ['3', three]] as const) {
    await bench.measure(`disconnect (${label} subscriptions)`, '$disconnect: Query byConnection, BatchWriteItem per 25 rows, DeleteItem', group.length, async () => {
      target = disconnects() + group.length;
      for (const client of group) await client.close();
    }, () => disconnects() >= target);
  }

  const stream = turboIdentifier('Room/42');
  const members: BenchCableClient[] = [];
  for (const size of SIZES) {
    console.log(`\nN = ${size} connections subscribed to one stream`);
    const added = size - members.length;
    if (added > 0) {
      const fresh: BenchCableClient[] = [];
      await bench.measure(`connect (${added} at once, up to N = ${size})`, `${CONNECT_CONCURRENCY} handshakes in flight: welcome races the handshake more often`, added, async () => {
        fresh.push(...await bench.connect(added));
      });
      await bench.measure(`subscribe (${added} at once, up to N = ${size})`, 'the same subscribe, concurrently', added, async () => {
        await inBatches(fresh, CONNECT_CONCURRENCY, (client) => client.subscribe(stream.identifier));
      });
      members.push(...fresh);
    }
    const repeats = size <= 100 ? 3 : 1;
    await bench.measure(`broadcast to N = ${size}`, `POST /_broadcast of a ${PAYLOAD_BYTES}-byte frame: Query pages, one post per subscriber`, repeats, async () => {
      for (let i = 0; i < repeats; i++) {
        const tag = `n${size}-${i}`;
        await bench.broadcast(stream.stream, turboData(tag, PAYLOAD_BYTES), members, (frame) => typeof frame.message === 'string' && frame.message.includes(`message_${tag}"`));
      }
    });
    const pings = () => bench.clients.reduce((sum, client) => sum + client.receivedFrames, 0);
    target = 0;
    await bench.measure(`ping round over N = ${size} (3 s interval)`, 'one pinger invocation of one round: parallel Scan of the pings index, a ping to every connection', 1, async () => {
      target = pings() + size;
      await bench.pingInvocation({}, 3_000);
    }, () => pings() >= target);
    await bench.measure(`ping round over N = ${size}, none due (9-minute interval)`, 'the Scan every round pays, whether or not a connection is due', 1, async () => {
      await bench.pingInvocation({ ping: { ...bench.server.runtime.config.ping, intervalSeconds: 540, minClientIntervalSeconds: 540 } }, 60_000);
    });
  }

  const largest = members.length;
  if (largest >= 4) {
    const shardSize = Math.max(1, Math.ceil(largest / 4));
    await bench.measure(`broadcast to N = ${largest}, sharded (shardSize ${shardSize})`, 'the sharded path of streams over shardSize (5,000 by default), made to run here with a smaller shardSize', 1, async () => {
      const tag = `sharded-${largest}`;
      const received = Promise.all(members.map((client) => client.waitFor((frame) => typeof frame.message === 'string' && frame.message.includes(`message_${tag}"`), SETTLE_TIMEOUT_MS)));
      const runtime = bench.server.runtime;
      const deps = { ...runtime, config: { ...runtime.config, delivery: { ...runtime.config.delivery, shardSize } }, publicBroadcasts: false };
      const serve = bench.instrument.wrap('broadcast', (request: Parameters<typeof handleBroadcastHttp>[1]) => handleBroadcastHttp(deps, request));
      const response = await serve({
        method: 'POST',
        path: '/_broadcast',
        headers: { authorization: `Bearer ${runtime.config.broadcastKey}` },
        body: JSON.stringify({ stream: stream.stream, data: turboData(tag, PAYLOAD_BYTES) }),
      } as never);
      if (response.status !== 201) throw new Error(`sharded broadcast answered ${response.status}: ${response.body}`);
      await received;
    });
  }
  await bench.measure(`2-hour close over N = ${largest}`, 'a pinger round finding every connection past maxConnectionAge: server_restart frame, DeleteConnection, then $disconnect', largest, async () => {
    target = disconnects() + largest;
    await bench.pingInvocation({ maxConnectionAgeSeconds: 1 }, 3_000);
    await Promise.all(members.map((client) => client.whenClosed()));
  }, () => disconnects() >= target);
}

async function main(): Promise<void> {
  // First, while the heap is small: the CPU one PostToConnection costs its caller.
  console.log(`CPU per PostToConnection (median of 3 × ${POSTS} posts, 64 in flight, the real ApiGatewayTransport against a sink in another process)`);
  const postCpu: PostCpuResult[] = await measurePostCpu(POSTS, 64, Math.min(2_000, POSTS));
  for (const result of postCpu) console.log(`  ${result.protocol.padEnd(6)} ${result.cpuMicrosPerPost} µs CPU per post (${result.wallMs} ms wall)`);

  const instrument = new Instrument();
  instrument.instrumentHandlers();
  const dynamo = await startCostDynamo();
  const meter = await DynamoMeter.start(dynamo.endpoint, dynamo.client);
  const server = await startInspectableServer({
    port: 0,
    host: '127.0.0.1',
    // Public streams on: the presence and whisper operations use `$pubsub` `stream_name` (anycable-go's --public_streams).
    settings: { secret: SECRET, allowedOrigins: [BROWSER_HEADERS.Origin], publicStreams: true },
    store: { kind: 'dynamodb', endpoint: meter.endpoint, connectionsTable: dynamo.connectionsTable, subscriptionsTable: dynamo.subscriptionsTable },
  }, { logger: instrument.logger(ECHO) });
  instrument.watchRegistry(server.registry);
  const bench = new CostBench(server, instrument, meter);
  const started = Date.now();
  try {
    await runOperations(bench);
    await runPresenceOperations(bench, { sizes: SIZES, payloadBytes: PAYLOAD_BYTES });
    instrument.assertInstrumented(['connect', 'message', 'disconnect', 'deliver', 'broadcast', 'fanout', 'ping']);
  } finally {
    await Promise.all(bench.clients.map((client) => client.close()));
    await server.close();
    await meter.close();
    await dynamo.close();
  }

  const inputs: MeasuredInputs = {
    operations: Object.fromEntries(bench.operations.map((operation) => [operation.name, operation.perOperation])),
    postCpuMicros: postCpu.find((result) => result.protocol === 'https')?.cpuMicrosPerPost ?? postCpu[0].cpuMicrosPerPost,
    sizes: SIZES,
    payloadBytes: PAYLOAD_BYTES,
    pingFrameBytes: Buffer.byteLength(encodeFrame(ping(Math.floor(Date.now() / 1000)))),
    broadcastMetricsLineBytes: metricsLineBytes({ Broadcasts: 1, Delivered: 100, GoneConnections: 0, FanOutFailures: 0, Shards: 0 }),
  };
  const model = buildModel(inputs);
  printModel(model);
  console.log('\nwhispers and presence (docs/cost.md):');
  for (const row of presenceMarkdownRows(bench.operations, model)) console.log(row);

  const report = {
    benchmark: 'cost-counts',
    measuredAt: new Date().toISOString(),
    node: process.version,
    durationMs: Date.now() - started,
    settings: { sizes: SIZES, smallClients: SMALL, payloadBytes: PAYLOAD_BYTES, postsForCpu: POSTS, connectConcurrency: CONNECT_CONCURRENCY },
    method: {
      server: 'startInspectableServer (lambda/local) with the DynamoDB store, handlers in-process, loopback only',
      lambda: 'handler factories wrapped before the server starts (bench/support/cost-instrument.ts); medianMs is local wall time with dynalite in the same process, not AWS latency',
      apiGateway: 'messages counted at the connection registry (every @connections post and DeleteConnection) and at the $default handler (every client frame), billed per started 32 KB',
      dynamodb: 'metering proxy in front of dynalite (bench/support/cost-dynamo-meter.ts): ReturnConsumedCapacity INDEXES for reads, raised to the per-request minimum; writes by DynamoDB\'s rules from item pre-images, index writes included',
      pinger: 'the local server\'s schedule is held back; rounds run by the bench through the real makePingHandler with a one-tick period',
    },
    operations: bench.operations,
    postCpu,
    modelInputs: { ...inputs, operations: '(the perOperation counts above)' },
    model,
  };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(ROOT, OUT)} in ${round((Date.now() - started) / 1000, 1)} s`);
}

main().then(() => process.exit(0), (error: unknown) => {
  console.error(error);
  process.exit(1);
});

