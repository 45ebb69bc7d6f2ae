import * as path from 'node:path';
import type { Cable } from '@anycable/core' with { 'resolution-mode': 'import' };
import { ClientOptions, WebSocket } from 'ws';
import { loadAnyCable } from './support/anycable-core';
import { LocalCableServerOptions } from '../../lambda/local/local-cable-server';
import { loadBundledHandlersInWorkers } from '../../lambda/local/worker-bundled-handlers';
import { FUNCTIONS_DIR } from '../../src/contract/functions';
import { useDynalite } from '../support/dynalite';
import { closeServers, startTestServer } from '../support/local-server';

const { createCable } = loadAnyCable();
const BROADCAST_KEY = 'session-restore-key';
/** The bundled functions (`npx projen bundle`). */
const ASSETS = path.join(__dirname, '..', '..', 'assets', FUNCTIONS_DIR);
const STREAM = 'restore:room';
const cables: Cable[] = [];
const dynamo = useDynalite();

afterEach(async () => {
  cables.splice(0).forEach((cable) => cable.disconnect());
  await closeServers();
});

type Store = 'memory' | 'dynalite' | 'bundled functions on dynalite';

async function serverOptions(store: Store): Promise<LocalCableServerOptions> {
  if (store === 'memory') return {};
  const tables = await dynamo.createTables(store === 'dynalite' ? 'restore' : 'restore-bundled');
  return {
    store: { kind: 'dynamodb', endpoint: dynamo.endpoint, ...tables },
    ...(store === 'dynalite' ? {} : { lambdaAssets: ASSETS }),
  };
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What the client's sockets saw: the URL each opened and every welcome. */
interface SocketLog {
  readonly urls: string[];
  readonly welcomes: Array<Record<string, unknown>>;
}

function loggingWebSocket(log: SocketLog) {
  return class LoggingWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[], options?: ClientOptions) {
      super(url, protocols, options);
      log.urls.push(url);
      this.on('message', (data) => {
        const frame = JSON.parse(String(data)) as Record<string, unknown>;
        if (frame.type === 'welcome') log.welcomes.push(frame);
      });
    }
  };
}

/**
 * A dropped connection, as a network drop or API Gateway's cuts look to a client: the local server
 * closes every socket after 2 s (1001, no `disconnect` frame first), so `@anycable/core` keeps its
 * session id and reconnects with `?sid=`. The server restores the session (no resubscribe), the
 * client asks for what it missed with the `history` command, and every broadcast of a steady
 * stream arrives exactly once, in order.
 */
describe.each<Store>(['memory', 'dynalite', 'bundled functions on dynalite'])('session restore with @anycable/core, %s', (store) => {
  test('drops: the client restores its session with its sid and misses nothing', async () => {
    const server = await startTestServer({
      ...await serverOptions(store),
      maxConnectionMs: 2_000,
      settings: { secret: 'secret', publicStreams: true, broadcastKey: BROADCAST_KEY },
    }, {
      // As test/jest.global-setup.ts quiets the SDK's Node.js 22 notice in this process.
      loadBundles: (dir, environment) => loadBundledHandlersInWorkers(dir, () => ({ ...environment, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' })),
    });
    const log: SocketLog = { urls: [], welcomes: [] };
    const cable = createCable(server.url, {
      websocketImplementation: loggingWebSocket(log),
      protocol: 'actioncable-v1-ext-json',
      protocolOptions: { subscribeRetryInterval: 250 },
      logLevel: 'error',
    });
    cables.push(cable);
    const received: unknown[] = [];
    const drops: number[] = [];
    const recoveries: number[] = [];
    let droppedAt: number | undefined;
    cable.on('disconnect', () => {
      droppedAt = Date.now();
      drops.push(droppedAt);
    });
    const channel = cable.streamFrom(STREAM);
    channel.on('message', (message: unknown) => {
      if (droppedAt !== undefined) {
        recoveries.push(Date.now() - droppedAt);
        droppedAt = undefined;
      }
      received.push(message);
    });
    await channel.ensureSubscribed();

    const sent: number[] = [];
    const restored = () => log.welcomes.filter((w) => w.restored === true).length;
    for (let n = 0; n < 300 && !(restored() >= 2 && recoveries.length >= 2 && n >= 50); n++) {
      const response = await fetch(server.broadcastUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Authorization': `Bearer ${BROADCAST_KEY}` },
        body: JSON.stringify({ stream: STREAM, data: JSON.stringify({ n }) }),
      });
      expect(response.status).toBe(201);
      sent.push(n);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await waitFor(() => received.length >= sent.length, 15_000).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));

    // Each reconnect named the session before it, and was restored into it. A session may come back
    // without its subscription: a fan-out that met the dropped socket (410) removed the row while
    // $disconnect kept the session (docs/reliable-streams.md); the client then resubscribes with history.
    expect(restored()).toBeGreaterThanOrEqual(2);
    const identifier = JSON.stringify({ channel: '$pubsub', stream_name: STREAM });
    for (const welcome of log.welcomes.filter((w) => w.restored === true)) expect([[identifier], []]).toContainEqual(welcome.restored_ids);
    expect(log.welcomes.some((w) => w.restored === true && (w.restored_ids as string[]).length === 1)).toBe(true);
    const sids = log.welcomes.map((w) => w.sid as string);
    expect(new Set(sids).size).toBe(sids.length);
    expect(log.urls.slice(1).every((url, i) => new URL(url).searchParams.get('sid') === sids[i])).toBe(true);
    expect(received).toEqual(sent.map((n) => ({ n })));
    // Figures for the report (not asserted: timing belongs to bench/).
    process.stdout.write(`session restore (${store}): ${sent.length} broadcasts, ${drops.length} drops, ${restored()} restored, drop to messages ms ${JSON.stringify(recoveries)}\n`);
  }, 60_000);
});
