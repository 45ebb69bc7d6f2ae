import { createHash } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * A stand-in for API Gateway's Management API (`@connections`) that answers after a fixed delay,
 * as the real service answers after a network round trip: `POST {stage}/@connections/{id}` is 200
 * with an empty body, or 410 `GoneException` for the connections chosen as gone; `DELETE` is 204
 * (or 410). The delay is a timer, not CPU, so thousands of posts can wait at once. Which
 * connections are gone depends only on the id and the rate, so every design meets the same ones.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html
 */
export interface FakeConnectionsApiOptions {
  /** Milliseconds before each answer. */
  readonly latencyMs: number;
  /** Share of connection ids answered with 410, from 0 to 1. */
  readonly goneRate: number;
  /** The stage path under which `@connections` lives, e.g. `/bench`. */
  readonly stage: string;
  /** Keep, per connection, the time between consecutive POSTs as they arrive (bench/ping.ts). @default false */
  readonly recordGaps?: boolean;
}

/** The time between consecutive POSTs to one connection, over every connection (`recordGaps`). */
export interface PostGapStats {
  /** Gaps measured (a connection's first POST starts its series). */
  readonly gaps: number;
  /** Connections that received at least one POST. */
  readonly connections: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Arrival of the first and the last POST, epoch ms. */
  readonly firstAt: number;
  readonly lastAt: number;
}

export interface FakeConnectionsStats {
  /** POST requests received (every attempt, retries included). */
  readonly posts: number;
  /** POSTs answered 200. */
  readonly delivered: number;
  /** POSTs answered 410. */
  readonly gone: number;
  /** Connection ids that received a 200 more than once (a duplicate delivery). */
  readonly duplicates: number;
  /** Connection ids that received a 200 at least once. */
  readonly distinctDelivered: number;
  readonly deletes: number;
  /** The most requests the server held at once. */
  readonly maxInFlight: number;
  /** The most TCP connections open at once. */
  readonly maxSockets: number;
  /** TCP connections accepted. */
  readonly socketsOpened: number;
  /** Requests that were not a POST/DELETE on `@connections` (should stay 0). */
  readonly unexpected: number;
}

export interface FakeConnectionsApi {
  readonly endpoint: string;
  stats(): FakeConnectionsStats;
  /** With `recordGaps`. */
  gapStats(): PostGapStats;
  reset(): void;
  close(): Promise<void>;
}

/** Whether API Gateway answers 410 for this connection id at this rate (a stable hash, no state). */
export function isGoneConnection(connectionId: string, goneRate: number): boolean {
  if (goneRate <= 0) return false;
  const value = createHash('sha1').update(connectionId).digest().readUInt32BE(0);
  return value / 0x1_0000_0000 < goneRate;
}

export async function startFakeConnectionsApi(options: FakeConnectionsApiOptions): Promise<FakeConnectionsApi> {
  const prefix = `${options.stage}/@connections/`;
  const encodedPrefix = `${options.stage}/%40connections/`;
  let delivered = new Map<string, number>();
  let counters = { posts: 0, gone: 0, deletes: 0, unexpected: 0, maxInFlight: 0, maxSockets: 0, socketsOpened: 0 };
  let inFlight = 0;
  let openSockets = 0;
  let lastPost = new Map<string, number>();
  let gaps = new GapSeries();

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    inFlight++;
    counters.maxInFlight = Math.max(counters.maxInFlight, inFlight);
    if (options.recordGaps && request.method === 'POST') recordPost(request.url ?? '');
    request.resume();
    request.once('end', () => setTimeout(() => {
      inFlight--;
      answer(request, response);
    }, options.latencyMs));
  });
  server.on('connection', () => {
    openSockets++;
    counters.socketsOpened++;
    counters.maxSockets = Math.max(counters.maxSockets, openSockets);
  });
  server.on('connection', (socket) => socket.once('close', () => openSockets--));
  // Keep-alive for as long as a benchmark runs; Node's default (5 s) would close idle sockets.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  server.maxRequestsPerSocket = 0;

  /** On arrival, before the answer's delay: when the sender sent it. */
  function recordPost(url: string): void {
    const now = performance.now() + performance.timeOrigin;
    const previous = lastPost.get(url);
    if (previous !== undefined) gaps.push(now - previous);
    lastPost.set(url, now);
    gaps.firstAt ||= now;
    gaps.lastAt = now;
  }

  function answer(request: IncomingMessage, response: ServerResponse): void {
    const url = request.url ?? '';
    const encoded = url.startsWith(prefix) ? url.slice(prefix.length) : url.startsWith(encodedPrefix) ? url.slice(encodedPrefix.length) : undefined;
    if (encoded === undefined || (request.method !== 'POST' && request.method !== 'DELETE')) {
      counters.unexpected++;
      return reply(response, 404, { message: `no route for ${request.method} ${url}` });
    }
    const connectionId = decodeURIComponent(encoded);
    const gone = isGoneConnection(connectionId, options.goneRate);
    if (request.method === 'DELETE') {
      counters.deletes++;
      return gone ? reply(response, 410, { message: null }, 'GoneException') : reply(response, 204);
    }
    counters.posts++;
    if (gone) {
      counters.gone++;
      return reply(response, 410, { message: null }, 'GoneException');
    }
    delivered.set(connectionId, (delivered.get(connectionId) ?? 0) + 1);
    reply(response, 200);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}${options.stage}`,
    stats: () => {
      let duplicates = 0;
      let deliveredPosts = 0;
      for (const count of delivered.values()) {
        deliveredPosts += count;
        if (count > 1) duplicates++;
      }
      return { ...counters, delivered: deliveredPosts, duplicates, distinctDelivered: delivered.size };
    },
    gapStats: () => gaps.stats(lastPost.size),
    reset: () => {
      delivered = new Map();
      lastPost = new Map();
      gaps = new GapSeries();
      counters = { posts: 0, gone: 0, deletes: 0, unexpected: 0, maxInFlight: inFlight, maxSockets: openSockets, socketsOpened: 0 };
    },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** Gaps in ms, in a growing typed array (a million take 8 MB). */
class GapSeries {
  private values = new Float64Array(65_536);
  private length = 0;
  firstAt = 0;
  lastAt = 0;

  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }

  stats(connections: number): PostGapStats {
    const sorted = this.values.slice(0, this.length).sort();
    const at = (p: number) => (sorted.length === 0 ? 0 : Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]));
    return {
      gaps: sorted.length,
      connections,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      maxMs: at(1),
      firstAt: Math.round(this.firstAt),
      lastAt: Math.round(this.lastAt),
    };
  }
}

/** As API Gateway answers: errors carry `x-amzn-ErrorType`, which the SDK maps to its exception classes. */
function reply(response: ServerResponse, status: number, body?: unknown, errorType?: string): void {
  if (body === undefined) {
    response.writeHead(status, { 'Content-Length': 0 }).end();
    return;
  }
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...(errorType ? { 'x-amzn-ErrorType': errorType } : {}),
  }).end(text);
}
