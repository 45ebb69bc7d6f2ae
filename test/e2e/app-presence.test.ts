import * as path from 'node:path';
import type { Cable, Channel } from '@anycable/core' with { 'resolution-mode': 'import' };
import { WebSocket } from 'ws';
import { loadAnyCable } from './support/anycable-core';
import { LocalCableServerOptions } from '../../lambda/local/local-cable-server';
import { loadBundledHandlersInWorkers } from '../../lambda/local/worker-bundled-handlers';
import { FUNCTIONS_DIR } from '../../src/contract/functions';
import { useDynalite } from '../support/dynalite';
import { closeServers, startTestServer } from '../support/local-server';
import { RecordingServer } from '../support/rpc-test-server';

/*
 * Presence set by the app's RPC reply (docs/presence.md "Presence from the app"): an app that
 * answers as anycable-rb's `presence_join`/`presence_leave` do (spec/anycable/rpc/handlers/
 * command_spec.rb: `$p` in istate, the stream, `presence {type, id, info}`), stock `@anycable/core`
 * clients on its channel, and the presence API reading the set, on memory, dynalite and the
 * bundled functions.
 */

const { createCable } = loadAnyCable();
const SECRET = 'app-presence-secret';
const KEY = 'app-presence-broadcast-key';
const ASSETS = path.join(__dirname, '..', '..', 'assets', FUNCTIONS_DIR);
const WAIT_MS = 5_000;
const STREAM = 'presence:lobby';

type Store = 'memory' | 'dynalite' | 'bundled functions on dynalite';

const dynamo = useDynalite();
const cables: Cable[] = [];
const apps: RecordingServer[] = [];

afterEach(async () => {
  cables.splice(0).forEach((cable) => cable.disconnect());
  await closeServers();
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

/**
 * The app: `?user=` identifies; subscribing to LobbyChannel streams from STREAM and joins its
 * presence as the user; the `leave` action leaves (anycable-rb answers a leave with its id, no info).
 */
async function lobbyApp(): Promise<string> {
  const app = new RecordingServer();
  apps.push(app);
  app.handler = (request, res) => {
    type Body = { identifier?: string; command?: string; data?: string; connection_identifiers?: string; env: { url: string } };
    const body = JSON.parse(request.body) as Body;
    let reply: Record<string, unknown>;
    if (request.url.endsWith('/connect')) {
      const user = new URL(body.env.url).searchParams.get('user');
      reply = { status: 1, identifiers: JSON.stringify({ user }), transmissions: [JSON.stringify({ type: 'welcome' })] };
    } else if (request.url.endsWith('/disconnect')) {
      reply = { status: 1 };
    } else {
      const user = (JSON.parse(body.connection_identifiers ?? '{}') as { user?: string }).user ?? '';
      if (body.command === 'subscribe') {
        reply = {
          status: 1,
          streams: [STREAM],
          env: { istate: { $p: STREAM } },
          transmissions: [JSON.stringify({ identifier: body.identifier, type: 'confirm_subscription' })],
          presence: { type: 'join', id: `u_${user}`, info: JSON.stringify({ name: user }) },
        };
      } else if (body.command === 'message' && (JSON.parse(body.data ?? '{}') as { action?: string }).action === 'leave') {
        reply = { status: 1, presence: { type: 'leave', id: `u_${user}` } };
      } else {
        reply = { status: 1 };
      }
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(reply));
  };
  return `${await app.start()}/_anycable`;
}

async function startServer(store: Store, options: Partial<LocalCableServerOptions> = {}) {
  const tables = store === 'memory' ? undefined : await dynamo.createTables(store === 'dynalite' ? 'app-presence' : 'app-presence-bundled');
  return startTestServer({
    ...(tables ? { store: { kind: 'dynamodb', endpoint: dynamo.endpoint, ...tables } } : {}),
    ...(store === 'bundled functions on dynalite' ? { lambdaAssets: ASSETS } : {}),
    ...options,
    settings: { secret: SECRET, broadcastKey: KEY },
  }, {
    loadBundles: (dir, environment) => loadBundledHandlersInWorkers(dir, () => ({ ...environment, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' })),
  });
}

async function eventually(check: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function client(url: string, user: string): Promise<{ channel: Channel; events: unknown[] }> {
  const cable = createCable(`${url}?user=${user}`, { websocketImplementation: WebSocket, protocol: 'actioncable-v1-ext-json', logLevel: 'error' });
  cables.push(cable);
  const channel = cable.subscribeTo('LobbyChannel');
  const events: unknown[] = [];
  channel.on('presence', (event: unknown) => events.push(event));
  await channel.ensureSubscribed();
  return { channel, events };
}

async function users(broadcastUrl: string): Promise<unknown> {
  const url = broadcastUrl.replace(/\/_broadcast$/, `/api/presence/${encodeURIComponent(STREAM)}/users`);
  return (await fetch(url, { headers: { Authorization: `Bearer ${KEY}` } })).json();
}

describe.each<Store>(['memory', 'dynalite', 'bundled functions on dynalite'])('presence from the app\'s RPC reply, %s', (store) => {
  test('subscribing joins as the app says, the others are told, info() and the presence API list it; the app\'s leave is announced', async () => {
    const server = await startServer(store, { rpc: { url: await lobbyApp() } });
    const ann = await client(server.url, 'ann');
    const bob = await client(server.url, 'bob');
    // Ann is told of Bob's join. (Its own join comes right after its confirmation: @anycable/core
    // drops a presence event that arrives before it has processed the confirmation, so it may or may not show.)
    const bobJoined = { type: 'join', id: 'u_bob', info: { name: 'bob' } };
    await eventually(() => ann.events.some((event) => JSON.stringify(event) === JSON.stringify(bobJoined)));
    expect(ann.events.filter((event) => (event as { id?: string }).id !== 'u_ann')).toEqual([bobJoined]);

    expect(await bob.channel.presence.info()).toEqual({ u_ann: { name: 'ann' }, u_bob: { name: 'bob' } });
    expect(await users(server.broadcastUrl)).toEqual({
      type: 'info', total: 2, records: [{ id: 'u_ann', info: { name: 'ann' } }, { id: 'u_bob', info: { name: 'bob' } }],
    });

    await bob.channel.perform('leave');
    await eventually(() => ann.events.some((event) => (event as { type?: string }).type === 'leave'));
    expect(ann.events.filter((event) => (event as { id?: string }).id !== 'u_ann')).toEqual([bobJoined, { type: 'leave', id: 'u_bob' }]);
    expect(await users(server.broadcastUrl)).toEqual({ type: 'info', total: 1, records: [{ id: 'u_ann', info: { name: 'ann' } }] });
  });
});
