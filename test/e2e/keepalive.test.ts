import * as ActionCable from '@rails/actioncable';
import { RawData, WebSocket } from 'ws';
import { signStream } from '../../lambda/core/signed-stream';
import { closeServers, eventually, memoryStores, SECRET, startTestServer } from '../support/local-server';
import { nodeConsumers } from './support/browser-globals';

/**
 * A stock @rails/actioncable consumer on the local server, with its stale threshold cut from 6 s
 * to 2 s and pings every second (the shortest interval the settings take), so that "several times
 * the stale threshold" is seconds: the same ratio as Rails' 3 s pings against its 6 s threshold.
 */
const STALE_THRESHOLD_S = 2;
const PING_INTERVAL_S = 1;

/** `ws` as the consumer's WebSocket: every socket it opens, with the frames each received. */
class RecordingWebSocket extends WebSocket {
  static readonly opened: RecordingWebSocket[] = [];
  readonly frames: { readonly at: number; readonly frame: Record<string, unknown> }[] = [];

  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols);
    RecordingWebSocket.opened.push(this);
    this.on('message', (data: RawData) => this.frames.push({ at: Date.now(), frame: JSON.parse(data.toString()) }));
  }
}

interface ConsumerInternals {
  readonly connection: { readonly monitor: { readonly reconnectAttempts: number }; isOpen(): boolean };
}

type Consumer = ActionCable.Consumer & ConsumerInternals;

let savedThreshold: number;
const consumers = nodeConsumers<Consumer>(RecordingWebSocket);

beforeAll(() => {
  const monitor = (ActionCable as unknown as { ConnectionMonitor: { staleThreshold: number } }).ConnectionMonitor;
  savedThreshold = monitor.staleThreshold;
  monitor.staleThreshold = STALE_THRESHOLD_S;
});

beforeEach(() => {
  RecordingWebSocket.opened.length = 0;
});

afterEach(closeServers);

afterAll(() => {
  (ActionCable as unknown as { ConnectionMonitor: { staleThreshold: number } }).ConnectionMonitor.staleThreshold = savedThreshold;
});

function connectedConsumer(url: string): Consumer {
  const consumer = consumers.create(url);
  consumer.connect();
  return consumer;
}

const welcomes = () => RecordingWebSocket.opened.filter((ws) => ws.frames.some(({ frame }) => frame.type === 'welcome')).length;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('keepalive: a stock @rails/actioncable consumer', () => {
  test('pings on: stays connected for 4× its stale threshold (one socket, one welcome, no reconnect attempt)', async () => {
    const server = await startTestServer({ settings: { secret: SECRET, ping: { intervalSeconds: PING_INTERVAL_S } } });
    const consumer = connectedConsumer(server.url);
    await eventually(() => expect(welcomes()).toBe(1));

    await sleep(4 * STALE_THRESHOLD_S * 1000);

    expect(RecordingWebSocket.opened).toHaveLength(1);
    expect(welcomes()).toBe(1);
    expect(consumer.connection.isOpen()).toBe(true);
    expect(consumer.connection.monitor.reconnectAttempts).toBe(0);
    const pings = RecordingWebSocket.opened[0].frames.filter(({ frame }) => frame.type === 'ping');
    expect(pings.length).toBeGreaterThanOrEqual(6);
    // Rails' frame: {"type":"ping","message":<integer unix seconds>}, nothing else.
    for (const { at, frame } of pings) {
      expect(frame).toEqual({ type: 'ping', message: expect.any(Number) });
      expect(Number.isInteger(frame.message)).toBe(true);
      expect(Math.abs(Math.floor(at / 1000) - (frame.message as number))).toBeLessThanOrEqual(1);
    }
  }, 20_000);

  test('pings off (the control): the same consumer goes stale and reconnects', async () => {
    const server = await startTestServer({ settings: { secret: SECRET, ping: { intervalSeconds: 0 } } });
    connectedConsumer(server.url);
    await eventually(() => expect(welcomes()).toBe(1));
    await eventually(() => expect(welcomes()).toBeGreaterThanOrEqual(2), 4 * STALE_THRESHOLD_S * 1000);
    expect(RecordingWebSocket.opened[0].frames.filter(({ frame }) => frame.type === 'ping')).toEqual([]);
  }, 20_000);

  test('max age: server_restart with reconnect: true, then the consumer reconnects and is subscribed again', async () => {
    const server = await startTestServer({ settings: { secret: SECRET, ping: { intervalSeconds: PING_INTERVAL_S }, maxConnectionAgeSeconds: 3 } });
    const consumer = connectedConsumer(server.url);
    const events: string[] = [];
    consumer.subscriptions.create({ channel: 'Turbo::StreamsChannel', signed_stream_name: signStream('messages:1', SECRET) }, {
      connected: (details?: { reconnected?: boolean }) => events.push(details?.reconnected ? 'reconnected' : 'connected'),
      disconnected: () => events.push('disconnected'),
    });
    await eventually(() => expect(events).toEqual(['connected']));

    await eventually(() => expect(events).toEqual(['connected', 'disconnected', 'reconnected']), 12_000);

    const [first, second] = RecordingWebSocket.opened;
    expect(first.frames.map(({ frame }) => frame).filter((frame) => frame.type === 'disconnect'))
      .toEqual([{ type: 'disconnect', reason: 'server_restart', reconnect: true }]);
    expect(second.frames.map(({ frame }) => frame.type)).toEqual(expect.arrayContaining(['welcome', 'confirm_subscription']));
    // The first connection's rows went with its $disconnect; the second one holds the subscription.
    const { connections, subscriptions } = memoryStores(server);
    await eventually(() => {
      expect(connections.records.size).toBe(1);
      expect(subscriptions.all()).toEqual([expect.objectContaining({ stream: 'messages:1', connectionId: [...connections.records.keys()][0] })]);
    });
  }, 20_000);
});
