import { WebSocket } from 'ws';
import { CableSettings } from '../../lambda/core/config';
import { signStream } from '../../lambda/core/signed-stream';
import { InspectableLocalCableServer } from '../../lambda/local/local-cable-server';
import { railsBody, railsBroadcastKey, railsHeaders, railsPublication, TURBO_APPEND_HTML } from '../core/anycable-rails-request';
import { closeServers, eventually, memoryStores, RecordingLogger, SECRET, startTestServer } from '../support/local-server';
import { nodeConsumers } from './support/browser-globals';

/** What the consumers received, by consumer name then stream; filled by the `received` callbacks. */
type Inbox = Record<string, Record<string, unknown[]>>;

const FLUSH = '__flush__';
const KEY = railsBroadcastKey(SECRET);

const consumers = nodeConsumers(WebSocket);

afterEach(closeServers);

const turbo = (stream: string) => ({ channel: 'Turbo::StreamsChannel', signed_stream_name: signStream(stream, SECRET) });

/**
 * Stock `@rails/actioncable` consumers, each subscribed (and confirmed) to its streams through
 * Turbo::StreamsChannel, as a page with `turbo_stream_from` would be.
 */
async function connectConsumers(server: InspectableLocalCableServer, plan: Record<string, string[]>): Promise<Inbox> {
  const inbox: Inbox = {};
  await Promise.all(Object.entries(plan).map(async ([name, streams]) => {
    const consumer = consumers.create(server.url);
    inbox[name] = {};
    await Promise.all(streams.map((stream) => new Promise<void>((resolve, reject) => {
      inbox[name][stream] = [];
      consumer.subscriptions.create(turbo(stream), {
        connected: () => resolve(),
        rejected: () => reject(new Error(`${name}: ${stream} rejected`)),
        received: (data: unknown) => inbox[name][stream].push(data),
      });
    })));
  }));
  return inbox;
}

/**
 * Proves nothing more is on its way: once every shard has run, a marker is posted on every
 * subscription's socket after everything the broadcasts sent, so when each marker has arrived,
 * so has every earlier frame. Returns the inbox without the markers.
 */
async function settled(server: InspectableLocalCableServer, inbox: Inbox): Promise<Inbox> {
  await server.runtime.shards.drain();
  for (const row of memoryStores(server).subscriptions.all()) {
    server.registry.post(row.connectionId, JSON.stringify({ identifier: row.identifier, message: FLUSH }));
  }
  await eventually(() => {
    for (const streams of Object.values(inbox)) for (const messages of Object.values(streams)) expect(messages[messages.length - 1]).toBe(FLUSH);
  });
  return Object.fromEntries(Object.entries(inbox).map(([name, streams]) => [
    name,
    Object.fromEntries(Object.entries(streams).map(([stream, messages]) => [stream, messages.filter((m) => m !== FLUSH)])),
  ]));
}

/** POST /_broadcast exactly as anycable-rails' HTTP adapter sends it. */
async function railsBroadcast(server: InspectableLocalCableServer, body: string, key = KEY): Promise<Response> {
  const { Host: _host, ...headers } = railsHeaders(key);
  return fetch(server.broadcastUrl, { method: 'POST', headers, body });
}

async function start(delivery?: CableSettings['delivery']): Promise<InspectableLocalCableServer> {
  return startTestServer({ settings: { secret: SECRET, delivery } });
}

describe('POST /_broadcast on the local server, to @rails/actioncable consumers', () => {
  test('anycable-rails: a Turbo broadcast reaches every subscriber of its stream once, and no one else', async () => {
    const server = await start();
    const inbox = await connectConsumers(server, { alice: ['rooms:1'], bob: ['rooms:1'], carol: ['rooms:1', 'rooms:2'], dave: ['rooms:2'], erin: ['rooms:3'] });

    const response = await railsBroadcast(server, railsBody(railsPublication('rooms:1', TURBO_APPEND_HTML)));

    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ broadcasts: 1, subscribers: 3, delivered: 3, failed: 0 });
    expect(await settled(server, inbox)).toEqual({
      alice: { 'rooms:1': [TURBO_APPEND_HTML] },
      bob: { 'rooms:1': [TURBO_APPEND_HTML] },
      carol: { 'rooms:1': [TURBO_APPEND_HTML], 'rooms:2': [] },
      dave: { 'rooms:2': [] },
      erin: { 'rooms:3': [] },
    });
  });

  test('anycable-rails: a batch reaches each stream\'s subscribers, in the batch\'s order', async () => {
    const server = await start();
    const inbox = await connectConsumers(server, { alice: ['rooms:1'], carol: ['rooms:1', 'rooms:2'], dave: ['rooms:2'] });
    const body = railsBody([
      railsPublication('rooms:1', { n: 1 }),
      railsPublication('rooms:2', { n: 2 }),
      railsPublication('rooms:1', { n: 3 }),
    ]);

    expect((await railsBroadcast(server, body)).status).toBe(201);

    expect(await settled(server, inbox)).toEqual({
      alice: { 'rooms:1': [{ n: 1 }, { n: 3 }] },
      carol: { 'rooms:1': [{ n: 1 }, { n: 3 }], 'rooms:2': [{ n: 2 }] },
      dave: { 'rooms:2': [{ n: 2 }] },
    });
  });

  test('401: a wrong key is refused and nothing is received', async () => {
    const server = await start();
    const inbox = await connectConsumers(server, { alice: ['rooms:1'], bob: ['rooms:1'] });

    const response = await railsBroadcast(server, railsBody(railsPublication('rooms:1', 'forged')), railsBroadcastKey('not-the-secret'));

    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: expect.stringMatching(/wrong broadcast key/) });
    expect(await settled(server, inbox)).toEqual({ alice: { 'rooms:1': [] }, bob: { 'rooms:1': [] } });
  });

  test('410: a connection that vanished without $disconnect is removed with its rows; the others still get it', async () => {
    const server = await start();
    const inbox = await connectConsumers(server, { alice: ['rooms:1'] });
    const { connections, subscriptions } = memoryStores(server);
    const vanished = 'Vanished0000=';
    await connections.put({ connectionId: vanished, connectedAt: Date.now(), expiresAt: 0, subprotocol: 'actioncable-v1-json', headers: {}, query: {} });
    await subscriptions.add({ stream: 'rooms:1', connectionId: vanished, identifier: JSON.stringify(turbo('rooms:1')), expiresAt: 0 });
    await subscriptions.add({ stream: 'rooms:9', connectionId: vanished, identifier: JSON.stringify(turbo('rooms:9')), expiresAt: 0 });

    const response = await railsBroadcast(server, railsBody(railsPublication('rooms:1', 'hello')));

    expect(await response.json()).toMatchObject({ subscribers: 2, delivered: 1, gone: 1 });
    expect(subscriptions.all().filter((s) => s.connectionId === vanished)).toEqual([]);
    expect(connections.records.has(vanished)).toBe(false);
    expect(await settled(server, inbox)).toEqual({ alice: { 'rooms:1': ['hello'] } });
  });

  test('close: shards still running when the server stops are drained first, and nothing fails', async () => {
    const logger = new RecordingLogger();
    const server = await startTestServer({ settings: { secret: SECRET, delivery: { shardSize: 1 } } }, { logger });
    await connectConsumers(server, { a: ['crowd'], b: ['crowd'], c: ['crowd'] });

    expect((await railsBroadcast(server, railsBody(railsPublication('crowd', 'bye')))).status).toBe(201);
    await server.close();

    expect(logger.events().filter((e) => e === 'broadcast.fan_out')).toHaveLength(3);
    expect(logger.at('error')).toEqual([]);
  });

  test('sharded: above shardSize the reply comes once shards are dispatched, and each subscriber still gets it once', async () => {
    const server = await start({ shardSize: 2 });
    const names = ['a', 'b', 'c', 'd', 'e'];
    const inbox = await connectConsumers(server, Object.fromEntries(names.map((name) => [name, ['crowd']])));

    const response = await railsBroadcast(server, railsBody(railsPublication('crowd', TURBO_APPEND_HTML)));

    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ subscribers: 5, shards: 3 });
    expect(await settled(server, inbox)).toEqual(Object.fromEntries(names.map((name) => [name, { crowd: [TURBO_APPEND_HTML] }])));
  });
});
