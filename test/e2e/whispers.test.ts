import type { Cable, Channel, ProtocolID } from '@anycable/core' with { 'resolution-mode': 'import' };
import { WebSocket } from 'ws';
import { loadAnyCable } from './support/anycable-core';
import { anytClient } from './support/anyt-client';
import { E2eStore, eventually, startStoreServer } from './support/store-server';
import { signStream } from '../../lambda/core/signed-stream';
import { LocalCableServerOptions } from '../../lambda/local/local-cable-server';
import { useDynalite } from '../support/dynalite';
import { closeServers } from '../support/local-server';
import { RecordingServer } from '../support/rpc-test-server';

/*
 * Whispers end to end (docs/whispers.md): the stock `@anycable/core` client's `channel.whisper()`
 * against the local server on memory, dynalite and the bundled functions, and anycable-go's
 * `etc/anyt/broadcast_tests/whisper_test.rb` frame for frame with raw `ws` clients.
 */

const { createCable } = loadAnyCable();
const SECRET = 'whispers-secret';
/** anyt's `WAIT_WHEN_NOT_EXPECTING_EVENT` (lib/anyt/client.rb): how long "nothing arrives" is watched. */
const QUIET_MS = 500;
const TYPING = { event: 'typing', user: 'Vova' };

type Store = E2eStore;

const dynamo = useDynalite();
const cables: Cable[] = [];
const sockets: WebSocket[] = [];
const apps: RecordingServer[] = [];

afterEach(async () => {
  cables.splice(0).forEach((cable) => cable.disconnect());
  sockets.splice(0).forEach((ws) => ws.terminate());
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  await closeServers();
});

const startServer = (store: Store, options: Partial<LocalCableServerOptions> = {}) => startStoreServer(dynamo, store, 'whispers', SECRET, options);

const quiet = () => new Promise((resolve) => setTimeout(resolve, QUIET_MS));

/** Three stock clients on one channel each (`subscribe`), every message each receives recorded. */
type Client = { channel: Channel; received: unknown[] };

async function threeClients(url: string, protocol: ProtocolID, subscribe: (cable: Cable) => Channel): Promise<Client[]> {
  return Promise.all([0, 1, 2].map(async () => {
    const cable = createCable(url, { websocketImplementation: WebSocket, protocol, logLevel: 'error' });
    cables.push(cable);
    const channel = subscribe(cable);
    const received: unknown[] = [];
    channel.on('message', (message: unknown) => received.push(message));
    await channel.ensureSubscribed();
    return { channel, received };
  }));
}

describe.each<Store>(['memory', 'dynalite', 'bundled functions on dynalite'])('whispers with the stock @anycable/core client, %s', (store) => {
  test.each<ProtocolID>(['actioncable-v1-ext-json', 'actioncable-v1-json'])('channel.whisper() on a public stream (cable.streamFrom) reaches the other two, not the sender (%s)', async (protocol) => {
    const server = await startServer(store);
    const [sender, ...others] = await threeClients(server.url, protocol, (cable) => cable.streamFrom('chat:whispers'));

    await sender.channel.whisper(TYPING);
    await eventually(() => others.every((other) => other.received.length > 0));
    await quiet();
    expect(others.map((other) => other.received)).toEqual([[TYPING], [TYPING]]);
    expect(sender.received).toEqual([]);
  });

  test('channel.whisper() on a signed stream (cable.streamFromSigned): only with --streams_whisper', async () => {
    const signed = signStream('chat:signed', SECRET);
    const off = await startServer(store);
    const [offSender, offOther] = await threeClients(off.url, 'actioncable-v1-ext-json', (cable) => cable.streamFromSigned(signed));
    await offSender.channel.whisper(TYPING);
    await quiet();
    expect(offOther.received).toEqual([]);

    const on = await startServer(store, { settings: { streamsWhisper: true } });
    const [sender, other] = await threeClients(on.url, 'actioncable-v1-ext-json', (cable) => cable.streamFromSigned(signed));
    await sender.channel.whisper(TYPING);
    await eventually(() => other.received.length > 0);
    expect(other.received).toEqual([TYPING]);
    expect(sender.received).toEqual([]);
  });
});

async function threeAnytClients(url: string) {
  return [await anytClient(url, sockets), await anytClient(url, sockets), await anytClient(url, sockets)];
}

/**
 * The anyt channel (`def subscribed; stream_from "a", whisper: true; end`) as the app's AnyCable
 * RPC answers for it: anycable-rails' `stream_from ..., whisper: true` adds the stream and sets the
 * channel state `$w` to it (anycable-go common.go `WHISPER_STREAM_STATE`), with the confirmation.
 */
async function anytApp(): Promise<string> {
  const app = new RecordingServer();
  apps.push(app);
  app.handler = (request, res) => {
    const body = JSON.parse(request.body) as { identifier?: string };
    const reply = request.url.endsWith('/connect')
      ? { status: 1, identifiers: '{}', transmissions: [JSON.stringify({ type: 'welcome' })] }
      : { status: 1, streams: ['a'], env: { istate: { $w: 'a' } }, transmissions: [JSON.stringify({ identifier: body.identifier, type: 'confirm_subscription' })] };
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(reply));
  };
  return `${await app.start()}/_anycable`;
}

describe.each<Store>(['memory', 'dynalite'])('anycable-go etc/anyt/broadcast_tests/whisper_test.rb ("Whisper"), %s', (store) => {
  test('whisper: only other clients receive the whisper message', async () => {
    const server = await startServer(store, { rpc: { url: await anytApp() }, settings: { publicStreams: false } });
    const channel = 'WhisperChannel';
    const identifier = JSON.stringify({ channel });
    const [client, client2, client3] = await threeAnytClients(server.url);

    // before
    const subscribeRequest = { command: 'subscribe', identifier };
    for (const c of [client, client2, client3]) c.send(subscribeRequest);
    const ack = { identifier, type: 'confirm_subscription' };
    for (const c of [client, client2, client3]) expect(await c.receive()).toEqual(ack);

    // scenario
    client.send({ command: 'whisper', identifier, data: { event: 'typing', user: 'Vova' } });
    const msg = { identifier, message: { event: 'typing', user: 'Vova' } };
    expect(await client2.receive()).toEqual(msg);
    expect(await client3.receive()).toEqual(msg);
    await expect(client.receive(QUIET_MS)).rejects.toThrow('Anyt::Client::TimeoutError');
  });
});
