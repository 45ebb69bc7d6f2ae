/**
 * CPU per post of the two `@connections` transports, side by side in one run: the SDK's
 * (`ApiGatewayTransport` with the client `fanOutTransport` used to build: keep-alive agent,
 * `concurrency` sockets, no SDK retries) and the lean one (`SignedConnectionsTransport`: one
 * SigV4-signed request on a keep-alive agent), plus a bare unsigned request on the same kind of
 * agent as the floor either could reach. Each posts to a sink in a child process that answers
 * 200 at once (zero latency), so this process's CPU time is the caller's alone; over HTTP and
 * over HTTPS (dynalite's self-signed test certificate), with a ping frame and a 1 KB Turbo
 * frame. Rounds alternate the variants' order, so machine noise hits all of them; medians are
 * reported and every sample is kept. Writes bench/results/transport.json.
 *
 * Run: npx projen bench:transport   (ts-node --project bench/tsconfig.json bench/transport.ts)
 * Settings (environment): BENCH_POSTS (5000 a sample), BENCH_CONCURRENCY (64), BENCH_REPEATS
 * (9), BENCH_WARMUP (1000 a variant), BENCH_PROTOCOLS (http,https), BENCH_OUT
 * (bench/results/transport.json).
 */
import * as fs from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SinkProtocol, startPostSink } from './support/post-sink';
import { ApiGatewayTransport } from '../lambda/adapters/apigw/api-gateway-transport';
import { SignedConnectionsTransport } from '../lambda/adapters/apigw/signed-connections-transport';
import { Transport } from '../lambda/core/ports';
import { encodeFrame, ping } from '../lambda/core/protocol';

const ROOT = path.join(__dirname, '..');
const POSTS = integer('BENCH_POSTS', 5_000, 100, 200_000);
const CONCURRENCY = integer('BENCH_CONCURRENCY', 64, 1, 1_024);
const REPEATS = integer('BENCH_REPEATS', 9, 1, 50);
const WARMUP = integer('BENCH_WARMUP', 1_000, 0, 100_000);
const PROTOCOLS = (process.env.BENCH_PROTOCOLS ?? 'http,https').split(',').map((p) => p.trim()) as Protocol[];
const OUT = path.resolve(ROOT, process.env.BENCH_OUT ?? 'bench/results/transport.json');
/** Lambda's environment credentials carry a session token, which is signed too. */
const CREDENTIALS = { accessKeyId: 'ASIABENCHBENCHBENCH0', secretAccessKey: 'bench-secret-access-key-bench-secret-key', sessionToken: 'bench-session-token-'.repeat(40) };
const CONNECTION_ID = 'L0SM9cOFvHcCIhw=';
const STAGE = '/bench';

type Protocol = SinkProtocol;
type Variant = 'sdk' | 'signed' | 'bare';
const VARIANTS: Variant[] = ['sdk', 'signed', 'bare'];

const FRAMES: Record<string, string> = {
  'ping': encodeFrame(ping(1_700_000_000)),
  'turbo-1k': JSON.stringify({
    identifier: JSON.stringify({ channel: 'Turbo::StreamsChannel', signed_stream_name: 'ImdpZDovL2FwcC9Sb29tLzEi--0123456789abcdef0123456789abcdef01234567' }),
    message: `<turbo-stream action="append" target="messages"><template>${'<p>hello from Rails</p>'.repeat(37)}</template></turbo-stream>`,
  }),
};

interface Sample {
  readonly round: number;
  /** Position of the variant in its round (0: first). */
  readonly order: number;
  readonly cpuMicrosPerPost: number;
  readonly wallMs: number;
}

interface VariantResult {
  readonly protocol: Protocol;
  readonly frame: string;
  readonly frameBytes: number;
  readonly variant: Variant;
  readonly cpuMicrosPerPostMedian: number;
  readonly wallMsMedian: number;
  readonly postsPerCpuSecond: number;
  readonly samples: Sample[];
}

function integer(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return value;
}

/** Each variant as the Lambda functions would build it, pointed at the sink. */
function buildVariants(protocol: Protocol, port: number): Record<Variant, Transport & { destroy(): void }> {
  const endpoint = `${protocol}://127.0.0.1:${port}${STAGE}`;
  const agent = () => protocol === 'http'
    ? new HttpAgent({ keepAlive: true, maxSockets: CONCURRENCY })
    : new HttpsAgent({ keepAlive: true, maxSockets: CONCURRENCY, rejectUnauthorized: false });
  const client = new ApiGatewayManagementApiClient({
    endpoint,
    region: 'us-east-1',
    credentials: CREDENTIALS,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler(protocol === 'http' ? { httpAgent: agent() } : { httpsAgent: agent() }),
  });
  const sdk = new ApiGatewayTransport(client);
  return {
    sdk: { send: (id, data) => sdk.send(id, data), close: (id) => sdk.close(id), destroy: () => client.destroy() },
    signed: new SignedConnectionsTransport({ callbackUrl: endpoint, region: 'us-east-1', credentials: async () => CREDENTIALS, concurrency: CONCURRENCY, agent: agent() }),
    bare: new BarePoster(endpoint, agent()),
  };
}

/** The floor: the same POST on the same kind of agent, unsigned, 2xx expected, nothing else. */
class BarePoster implements Transport {
  private readonly url: URL;
  private readonly request: typeof httpRequest;

  constructor(endpoint: string, private readonly agent: HttpAgent) {
    this.url = new URL(endpoint);
    this.request = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
  }

  send(connectionId: string, data: string): Promise<void> {
    const body = Buffer.from(data, 'utf8');
    return new Promise((resolve, reject) => {
      const request = this.request({
        hostname: this.url.hostname,
        port: this.url.port,
        method: 'POST',
        path: `${this.url.pathname}/@connections/${encodeURIComponent(connectionId)}`,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length) },
        agent: this.agent,
      }, (response) => {
        response.once('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`status ${response.statusCode}`))));
        response.resume();
      });
      request.once('error', reject);
      request.end(body);
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  destroy(): void {
    this.agent.destroy();
  }
}

/** `count` posts, at most CONCURRENCY in flight, as fan-out's workers post. */
async function post(transport: Transport, count: number, frame: string): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, async () => {
    while (next < count) {
      next++;
      await transport.send(CONNECTION_ID, frame);
    }
  }));
}

async function measure(transport: Transport, frame: string): Promise<{ cpu: number; wall: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await post(transport, POSTS, frame);
  const wall = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { cpu: (used.user + used.system) / POSTS, wall };
}

async function main(): Promise<void> {
  const deadline = setTimeout(() => {
    console.error('bench:transport did not finish within 30 minutes');
    process.exit(1);
  }, 30 * 60_000);
  deadline.unref();
  const loadAverageAtStart = os.loadavg().map((v) => round(v, 2));
  console.log(`posts ${POSTS} a sample, concurrency ${CONCURRENCY}, ${REPEATS} rounds, protocols ${PROTOCOLS.join(',')}; load average ${loadAverageAtStart.join(' ')}`);
  const results: VariantResult[] = [];

  for (const protocol of PROTOCOLS) {
    const sink = await startPostSink(protocol, { stage: STAGE, lifetimeMs: 30 * 60_000 });
    try {
      const variants = buildVariants(protocol, sink.port);
      for (const [frameName, frame] of Object.entries(FRAMES)) {
        for (const variant of VARIANTS) await post(variants[variant], WARMUP, frame);
        const samples: Record<Variant, Sample[]> = { sdk: [], signed: [], bare: [] };
        for (let rotation = 0; rotation < REPEATS; rotation++) {
          // Rotate who goes first, so a slow moment of the machine does not always hit the same one.
          const order = VARIANTS.map((_, i) => VARIANTS[(i + rotation) % VARIANTS.length]);
          for (const [position, variant] of order.entries()) {
            const { cpu, wall } = await measure(variants[variant], frame);
            samples[variant].push({ round: rotation, order: position, cpuMicrosPerPost: round1(cpu), wallMs: round(wall, 0) });
          }
        }
        for (const variant of VARIANTS) {
          const cpu = median(samples[variant].map((s) => s.cpuMicrosPerPost));
          results.push({
            protocol,
            frame: frameName,
            frameBytes: Buffer.byteLength(frame, 'utf8'),
            variant,
            cpuMicrosPerPostMedian: round1(cpu),
            wallMsMedian: round(median(samples[variant].map((s) => s.wallMs)), 0),
            postsPerCpuSecond: Math.round(1e6 / cpu),
            samples: samples[variant],
          });
        }
      }
      for (const variant of VARIANTS) variants[variant].destroy();
    } finally {
      await sink.stop();
    }
  }

  const ratios = PROTOCOLS.flatMap((protocol) => Object.keys(FRAMES).map((frame): Ratio => {
    const of = (variant: Variant) => results.find((r) => r.protocol === protocol && r.frame === frame && r.variant === variant)!;
    const sdk = of('sdk');
    const signed = of('signed');
    const bare = of('bare');
    return {
      protocol,
      frame,
      cpuSdkOverSigned: round(sdk.cpuMicrosPerPostMedian / signed.cpuMicrosPerPostMedian, 2),
      wallSdkOverSigned: round(sdk.wallMsMedian / signed.wallMsMedian, 2),
      signingAndMappingMicrosPerPost: round1(signed.cpuMicrosPerPostMedian - bare.cpuMicrosPerPostMedian),
      // Paired per round: the spread of the ratio says how much the machine moved under the run.
      cpuSdkOverSignedPerRound: sdk.samples.map((s, i) => round(s.cpuMicrosPerPost / signed.samples[i].cpuMicrosPerPost, 2)),
    };
  }));

  printTable(results, ratios);
  const output = {
    node: process.version,
    measuredAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadAverageAtStart, loadAverageAtEnd: os.loadavg().map((v) => round(v, 2)) },
    settings: { posts: POSTS, concurrency: CONCURRENCY, repeats: REPEATS, warmup: WARMUP, protocols: PROTOCOLS, sink: 'child process, 200 at once, keep-alive' },
    ratios,
    results,
  };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, `${JSON.stringify(output, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(ROOT, OUT)}`);
}

interface Ratio {
  readonly protocol: Protocol;
  readonly frame: string;
  readonly cpuSdkOverSigned: number;
  readonly wallSdkOverSigned: number;
  readonly signingAndMappingMicrosPerPost: number;
  readonly cpuSdkOverSignedPerRound: number[];
}

function printTable(results: VariantResult[], ratios: Ratio[]): void {
  console.log(`\n${'protocol'.padEnd(9)}${'frame'.padEnd(10)}${'variant'.padEnd(8)}${'CPU µs/post'.padStart(12)}${'posts/CPU s'.padStart(13)}${`wall ms/${POSTS}`.padStart(15)}   CPU µs/post by round`);
  for (const r of results) {
    console.log(`${r.protocol.padEnd(9)}${r.frame.padEnd(10)}${r.variant.padEnd(8)}${r.cpuMicrosPerPostMedian.toFixed(1).padStart(12)}${String(r.postsPerCpuSecond).padStart(13)}${String(r.wallMsMedian).padStart(15)}   ${r.samples.map((s) => s.cpuMicrosPerPost.toFixed(0)).join(' ')}`);
  }
  console.log('\nSDK / signed:');
  for (const r of ratios) {
    console.log(`  ${r.protocol.padEnd(6)} ${r.frame.padEnd(9)} CPU ${r.cpuSdkOverSigned.toFixed(2)}x (rounds ${r.cpuSdkOverSignedPerRound.join(', ')}), wall ${r.wallSdkOverSigned.toFixed(2)}x; signing + mapping over a bare request: ${r.signingAndMappingMicrosPerPost} µs/post`);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

function round1(value: number): number {
  return round(value, 1);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
