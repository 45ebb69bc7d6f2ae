import type { Cable, Channel } from '@anycable/core' with { 'resolution-mode': 'import' };
import { WebSocket } from 'ws';
import { loadAnyCable } from './support/anycable-core';
import { E2eStore, eventually, startStoreServer } from './support/store-server';
import { signStream } from '../../lambda/core/signed-stream';
import { LocalCableServerOptions } from '../../lambda/local/local-cable-server';
import { useDynalite } from '../support/dynalite';
import { closeServers } from '../support/local-server';

/*
 * Presence end to end (docs/presence.md): the stock `@anycable/core` client's
 * `channel.presence.join/leave/info()` and `channel.on('presence')` against the local server on
 * memory, dynalite and the bundled functions.
 */

const { createCable } = loadAnyCable();
const SECRET = 'presence-secret';
const QUIET_MS = 500;

type Store = E2eStore;

const dynamo = useDynalite();
const cables: Cable[] = [];

afterEach(async () => {
  cables.splice(0).forEach((cable) => cable.disconnect());
  await closeServers();
});

const startServer = (store: Store, options: Partial<LocalCableServerOptions> = {}) => startStoreServer(dynamo, store, 'presence', SECRET, options);

type Client = { cable: Cable; channel: Channel; events: unknown[] };

async function client(url: string, subscribe: (cable: Cable) => Channel): Promise<Client> {
  const cable = createCable(url, { websocketImplementation: WebSocket, protocol: 'actioncable-v1-ext-json', logLevel: 'error' });
  cables.push(cable);
  const channel = subscribe(cable);
  const events: unknown[] = [];
  channel.on('presence', (event: unknown) => events.push(event));
  await channel.ensureSubscribed();
  return { cable, channel, events };
}

describe.each<Store>(['memory', 'dynalite', 'bundled functions on dynalite'])('presence across session restores, %s', (store) => {
  /*
   * Every socket is closed after 2 s (1001, no disconnect frame): @anycable/core keeps its sid,
   * restores the session and re-sends its join (action_cable_ext `restored`), which finds its own
   * record still within the presence TTL: no leave, no second join.
   */
  test('a dropped client that restores its session stays present, announced once', async () => {
    const server = await startServer(store, { maxConnectionMs: 2_000 });
    const room = (cable: Cable) => cable.streamFrom('room:restore');
    const ann = await client(server.url, room);
    const bob = await client(server.url, room);
    const restored: boolean[] = [];
    ann.cable.on('connect', (event) => restored.push(event.restored === true));
    await ann.channel.presence.join('ann', { name: 'Ann' });
    await eventually(() => bob.events.length > 0);

    // @anycable/core's default backoff waits 1.5 to 9 s before it reconnects, and a restore can miss
    // (a fan-out's 410 clean-up first): the sockets keep dropping every 2 s, so give it several tries.
    await eventually(() => restored.includes(true), 30_000);
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    const late = await client(server.url, room);
    expect(await late.channel.presence.info()).toEqual({ ann: { name: 'Ann' } });
    expect(bob.events).toEqual([{ type: 'join', id: 'ann', info: { name: 'Ann' } }]);
  });
});

describe.each<Store>(['memory', 'dynalite', 'bundled functions on dynalite'])('presence with the stock @anycable/core client, %s', (store) => {
  test('presence.join/info/leave on a public stream: join and leave events reach every subscriber, one id over two sessions counts once', async () => {
    const server = await startServer(store);
    const room = (cable: Cable) => cable.streamFrom('room:presence');
    const [ann, bob, annAgain] = [await client(server.url, room), await client(server.url, room), await client(server.url, room)];

    await ann.channel.presence.join('ann', { name: 'Ann' });
    await eventually(() => bob.events.length > 0 && ann.events.length > 0);
    expect(bob.events).toEqual([{ type: 'join', id: 'ann', info: { name: 'Ann' } }]);
    await bob.channel.presence.join('bob', { name: 'Bob' });
    await annAgain.channel.presence.join('ann', { name: 'Ann' });
    await eventually(() => ann.events.length >= 2);

    expect(await annAgain.channel.presence.info()).toEqual({ ann: { name: 'Ann' }, bob: { name: 'Bob' } });

    await ann.channel.presence.leave();
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    // Another session still holds "ann": no leave yet.
    expect(bob.events).toEqual([{ type: 'join', id: 'ann', info: { name: 'Ann' } }, { type: 'join', id: 'bob', info: { name: 'Bob' } }]);
    await annAgain.channel.presence.leave();
    await eventually(() => bob.events.length >= 3);
    expect(bob.events[2]).toEqual({ type: 'leave', id: 'ann' });
  });

  test('presence on a signed stream: refused (info rejects) without streamsPresence', async () => {
    const server = await startServer(store);
    const signed = signStream('room:signed', SECRET);
    const ann = await client(server.url, (cable) => cable.streamFromSigned(signed));
    await expect(ann.channel.presence.info()).rejects.toThrow('failed to retrieve presence');
  });

  test('a disconnected client stays present for the presence TTL, then is gone', async () => {
    const server = await startServer(store, { settings: { presenceTtlSeconds: 1 } });
    const room = (cable: Cable) => cable.streamFrom('room:ttl');
    const ann = await client(server.url, room);
    await ann.channel.presence.join('ann', {});
    ann.cable.disconnect();
    const watcher = await client(server.url, room);
    expect(Object.keys((await watcher.channel.presence.info()) ?? {})).toEqual(['ann']);

    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const late = await client(server.url, room);
    expect(await late.channel.presence.info()).toEqual({});
  });

  test('a client gone without leaving: once the presence TTL runs out, the others see its leave (the pinger\'s sweep), once', async () => {
    const server = await startServer(store, { settings: { presenceTtlSeconds: 1 } });
    const room = (cable: Cable) => cable.streamFrom('room:expiry');
    const [ann, bob, carl] = [await client(server.url, room), await client(server.url, room), await client(server.url, room)];
    await ann.channel.presence.join('ann', { name: 'Ann' });
    await eventually(() => bob.events.length >= 1);
    await carl.channel.presence.join('carl', {});
    await eventually(() => bob.events.length >= 2);
    // Its socket closes; no leave is sent (a cut or a closed tab looks the same to the server).
    ann.cable.disconnect();

    // The TTL (1 s), then the next ping round (every 3 s) sweeps it.
    await eventually(() => bob.events.length >= 3, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    expect(bob.events).toEqual([{ type: 'join', id: 'ann', info: { name: 'Ann' } }, { type: 'join', id: 'carl', info: {} }, { type: 'leave', id: 'ann' }]);
    expect(carl.events.slice(-1)).toEqual([{ type: 'leave', id: 'ann' }]);
    expect(await bob.channel.presence.info()).toEqual({ carl: {} });
  });
});
