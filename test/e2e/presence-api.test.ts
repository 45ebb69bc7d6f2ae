import * as path from 'node:path';
import type { Cable, Channel } from '@anycable/core' with { 'resolution-mode': 'import' };
import { WebSocket } from 'ws';
import { loadAnyCable } from './support/anycable-core';
import { LocalCableServerOptions } from '../../lambda/local/local-cable-server';
import { loadBundledHandlersInWorkers } from '../../lambda/local/worker-bundled-handlers';
import { FUNCTIONS_DIR } from '../../src/contract/functions';
import { useDynalite } from '../support/dynalite';
import { closeServers, startTestServer } from '../support/local-server';

/*
 * anycable-go's presence API, `GET /api/presence/:stream/users` (docs/presence.md "Presence API"),
 * on the local server's broadcast port with the broadcast key: stock `@anycable/core` clients
 * join, `fetch` reads, on memory, dynalite and the bundled broadcast function.
 */

const { createCable } = loadAnyCable();
const SECRET = 'presence-api-secret';
const KEY = 'presence-api-broadcast-key';
const ASSETS = path.join(__dirname, '..', '..', 'assets', FUNCTIONS_DIR);
const WAIT_MS = 5_000;
/** A stream with a slash: the path carries it as one encoded segment (`room%2F42`). */
const STREAM = 'room/42';

type Store = 'memory' | 'dynalite' | 'bundled functions on dynalite';

const dynamo = useDynalite();
const cables: Cable[] = [];

afterEach(async () => {
  cables.splice(0).forEach((cable) => cable.disconnect());
  await closeServers();
});

async function startServer(store: Store, options: Partial<LocalCableServerOptions> = {}) {
  const tables = store === 'memory' ? undefined : await dynamo.createTables(store === 'dynalite' ? 'presence-api' : 'presence-api-bundled');
  return startTestServer({
    ...(tables ? { store: { kind: 'dynamodb', endpoint: dynamo.endpoint, ...tables } } : {}),
    ...(store === 'bundled functions on dynalite' ? { lambdaAssets: ASSETS } : {}),
    ...options,
    settings: { secret: SECRET, broadcastKey: KEY, publicStreams: true },
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

async function client(url: string): Promise<{ channel: Channel; events: unknown[] }> {
  const cable = createCable(url, { websocketImplementation: WebSocket, protocol: 'actioncable-v1-ext-json', logLevel: 'error' });
  cables.push(cable);
  const channel = cable.streamFrom(STREAM);
  const events: unknown[] = [];
  channel.on('presence', (event: unknown) => events.push(event));
  await channel.ensureSubscribed();
  return { channel, events };
}

async function read(broadcastUrl: string, stream: string, init: RequestInit = {}): Promise<{ status: number; type: string | null; body: string }> {
  const url = broadcastUrl.replace(/\/_broadcast$/, `/api/presence/${encodeURIComponent(stream)}/users`);
  const response = await fetch(url, { headers: { Authorization: `Bearer ${KEY}` }, ...init });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

describe.each<Store>(['memory', 'dynalite', 'bundled functions on dynalite'])('GET /api/presence/:stream/users, %s', (store) => {
  test('the set @anycable/core clients joined, in anycable-go\'s JSON; 401 without the key, 422 for POST', async () => {
    const server = await startServer(store);
    const [ann, bob] = [await client(server.url), await client(server.url)];
    await ann.channel.presence.join('ann', { name: 'Ann' });
    await bob.channel.presence.join('bob', { name: 'Bob' });
    await eventually(() => bob.events.length >= 2);

    expect(await read(server.broadcastUrl, STREAM)).toEqual({
      status: 200,
      type: 'application/json',
      body: '{"type":"info","total":2,"records":[{"info":{"name":"Ann"},"id":"ann"},{"info":{"name":"Bob"},"id":"bob"}]}',
    });
    expect(await read(server.broadcastUrl, 'room/nobody')).toEqual({ status: 200, type: 'application/json', body: '{"type":"info","total":0}' });

    expect((await read(server.broadcastUrl, STREAM, { headers: {} })).status).toBe(401);
    expect((await read(server.broadcastUrl, STREAM, { headers: { Authorization: 'Bearer guess' } })).status).toBe(401);
    expect((await read(server.broadcastUrl, STREAM, { method: 'POST' })).status).toBe(422);

    await ann.channel.presence.leave();
    await eventually(() => bob.events.length >= 3);
    expect(JSON.parse((await read(server.broadcastUrl, STREAM)).body)).toEqual({ type: 'info', total: 1, records: [{ id: 'bob', info: { name: 'Bob' } }] });
  });
});
