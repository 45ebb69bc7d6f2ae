import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { performance } from 'node:perf_hooks';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startPostSink } from './post-sink';
import { ApiGatewayTransport } from '../../lambda/adapters/apigw/api-gateway-transport';
import { encodeFrame, ping } from '../../lambda/core/protocol';

const STAGE = '/cable';

export interface PostCpuResult {
  readonly protocol: 'http' | 'https';
  readonly posts: number;
  readonly concurrency: number;
  /** CPU time (user + system) of this process per post, microseconds: the SDK, SigV4, HTTP (and TLS). */
  readonly cpuMicrosPerPost: number;
  readonly wallMs: number;
}

/**
 * CPU one `PostToConnection` costs the Lambda function that makes it: the real
 * `ApiGatewayTransport` with the client the fan-out and ping functions build (keep-alive,
 * `concurrency` sockets, no SDK retries), posting a ping frame to a sink in another process that
 * answers 200 at once, so this process's CPU time is the caller's alone. Over HTTPS too, with
 * dynalite's self-signed test certificate, as posts in AWS are TLS.
 */
export async function measurePostCpu(posts: number, concurrency: number, warmup: number, repeats = 3): Promise<PostCpuResult[]> {
  const results: PostCpuResult[] = [];
  for (const protocol of ['http', 'https'] as const) {
    const sink = await startPostSink(protocol, { stage: STAGE, lifetimeMs: 10 * 60_000 });
    try {
      const agent = protocol === 'http'
        ? { httpAgent: new HttpAgent({ keepAlive: true, maxSockets: concurrency }) }
        : { httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: concurrency, rejectUnauthorized: false }) };
      const client = new ApiGatewayManagementApiClient({
        endpoint: `${protocol}://127.0.0.1:${sink.port}${STAGE}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
        maxAttempts: 1,
        requestHandler: new NodeHttpHandler(agent),
      });
      const transport = new ApiGatewayTransport(client);
      const frame = encodeFrame(ping(Math.floor(Date.now() / 1000)));
      const run = async (count: number) => {
        let next = 0;
        await Promise.all(Array.from({ length: concurrency }, async () => {
          while (next < count) {
            next++;
            await transport.send('AbCdEfGhIjKlMn=', frame);
          }
        }));
      };
      await run(warmup);
      // The median of a few runs: a collection of the old generation lands in one of them now and then.
      const samples: { cpu: number; wall: number }[] = [];
      for (let i = 0; i < repeats; i++) {
        const cpu = process.cpuUsage();
        const started = performance.now();
        await run(posts);
        const wall = performance.now() - started;
        const used = process.cpuUsage(cpu);
        samples.push({ cpu: (used.user + used.system) / posts, wall });
      }
      samples.sort((a, b) => a.cpu - b.cpu);
      const middle = samples[Math.floor(samples.length / 2)];
      results.push({ protocol, posts, concurrency, cpuMicrosPerPost: round(middle.cpu, 1), wallMs: round(middle.wall, 0) });
      client.destroy();
    } finally {
      await sink.stop();
    }
  }
  return results;
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}
