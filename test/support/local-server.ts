import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { ClientOptions, RawData, WebSocket } from 'ws';
import { LogEntry, RecordingLogger } from './recording-logger';
import { MemoryConnectionStore } from '../../lambda/adapters/memory/memory-connection-store';
import { MemorySubscriptionStore } from '../../lambda/adapters/memory/memory-subscription-store';
import { ConnectionRecord, ConnectionStore, PingCandidatePage } from '../../lambda/core/ports';
import {
  InspectableLocalCableServer,
  LocalCableServerOptions,
  LocalCableServerOverrides,
  startInspectableServer,
} from '../../lambda/local/local-cable-server';

export const SECRET = 'local-server-test-secret';
export const SUBPROTOCOL = 'actioncable-v1-json';

const running = new Set<InspectableLocalCableServer>();

/** A server on a random port, silent unless given a logger; `closeServers()` in `afterEach` closes it. */
export async function startTestServer(
  options: LocalCableServerOptions = {},
  overrides: LocalCableServerOverrides = {},
): Promise<InspectableLocalCableServer> {
  const server = await startInspectableServer({ port: 0, logLevel: 'silent', settings: { secret: SECRET }, ...options }, overrides);
  running.add(server);
  return server;
}

export async function closeServers(): Promise<void> {
  const servers = [...running];
  running.clear();
  await Promise.all(servers.map((server) => server.close()));
}

export function memoryStores(server: InspectableLocalCableServer): { connections: MemoryConnectionStore; subscriptions: MemorySubscriptionStore } {
  const { connections, subscriptions } = server.runtime;
  if (!(connections instanceof MemoryConnectionStore) || !(subscriptions instanceof MemorySubscriptionStore)) {
    throw new Error('the server does not use the memory stores');
  }
  return { connections, subscriptions };
}

/** The real Management API client, pointed at the server as the Lambda functions point it at API Gateway. */
export function managementClient(server: { callbackUrl: string }): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({
    endpoint: server.callbackUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

/** A ws client that records every text frame and its close. */
export class TestClient {
  readonly frames: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData) => {
      this.frames.push(data.toString());
      const waiters = this.waiters;
      this.waiters = [];
      waiters.forEach((wake) => wake());
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Decoded frames. */
  get messages(): unknown[] {
    return this.frames.map((frame) => JSON.parse(frame));
  }

  /** Resolves with the first frame (decoded when JSON) that satisfies `match`, received so far or later. */
  async next(match: (frame: unknown) => boolean = () => true): Promise<unknown> {
    for (;;) {
      const found = this.frames.map(decode).find(match);
      if (found !== undefined) return found;
      await new Promise<void>((resolve, reject) => {
        this.waiters.push(resolve);
        this.closed.then(() => reject(new Error(`closed before the frame came; got ${JSON.stringify(this.frames)}`)), reject);
      });
    }
  }

  async welcome(): Promise<void> {
    await this.next((frame) => (frame as { type?: string }).type === 'welcome');
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  async close(): Promise<void> {
    if (this.ws.readyState !== this.ws.CLOSED) this.ws.close();
    await this.closed;
  }
}

/** Opens a socket (resolves on open) offering `protocols`. */
export async function connectClient(url: string, protocols: string[] = [SUBPROTOCOL], options: ClientOptions = {}): Promise<TestClient> {
  const ws = new WebSocket(url, protocols, options);
  const client = new TestClient(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return client;
}

/** The HTTP status with which the server refuses an upgrade (throws if it accepts). */
export async function refusedStatus(url: string, protocols: string[] = [SUBPROTOCOL], options: ClientOptions = {}): Promise<number> {
  const ws = new WebSocket(url, protocols, options);
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.once('error', () => undefined);
  });
}

export function subscribeCommand(identifier: Record<string, unknown>): { command: 'subscribe'; identifier: string } {
  return { command: 'subscribe', identifier: JSON.stringify(identifier) };
}

/** Polls until `check` stops throwing (for effects of asynchronous events such as `$disconnect`). */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** A connection store whose `put` waits until released, holding `$connect` open. */
export class HeldConnectionStore implements ConnectionStore {
  readonly inner = new MemoryConnectionStore();
  /** Resolves with the id of the first connection whose `$connect` is being held. */
  readonly held: Promise<string>;
  private reached!: (connectionId: string) => void;
  private release!: () => void;
  private readonly released = new Promise<void>((resolve) => (this.release = resolve));

  constructor() {
    this.held = new Promise((resolve) => (this.reached = resolve));
  }

  async put(record: ConnectionRecord): Promise<void> {
    this.reached(record.connectionId);
    await this.released;
    await this.inner.put(record);
  }

  get(connectionId: string): Promise<ConnectionRecord | undefined> {
    return this.inner.get(connectionId);
  }

  delete(connectionId: string): Promise<ConnectionRecord | undefined> {
    return this.inner.delete(connectionId);
  }

  listForPing(segment: number, totalSegments: number, cursor?: string): Promise<PingCandidatePage> {
    return this.inner.listForPing(segment, totalSegments, cursor);
  }

  findByIdentifiers(identifiers: string): Promise<string[]> {
    return this.inner.findByIdentifiers(identifiers);
  }

  updateState(...args: Parameters<ConnectionStore['updateState']>): ReturnType<ConnectionStore['updateState']> {
    return this.inner.updateState(...args);
  }

  reserveSubscription(connectionId: string, max: number): Promise<boolean> {
    return this.inner.reserveSubscription(connectionId, max);
  }

  releaseSubscription(connectionId: string): Promise<void> {
    return this.inner.releaseSubscription(connectionId);
  }

  countInvalidFrame(connectionId: string): Promise<number | undefined> {
    return this.inner.countInvalidFrame(connectionId);
  }

  forbidRestore(connectionId: string): Promise<void> {
    return this.inner.forbidRestore(connectionId);
  }

  markPresence(connectionId: string): Promise<void> {
    return this.inner.markPresence(connectionId);
  }

  /** Lets every held `$connect` go on. */
  open(): void {
    this.release();
  }
}


function decode(frame: string): unknown {
  try {
    return JSON.parse(frame);
  } catch {
    return frame;
  }
}

export { RecordingLogger };
export type { LogEntry };
