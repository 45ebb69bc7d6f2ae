import type { Cable } from '@anycable/core' with { 'resolution-mode': 'import' };
import { WebSocket } from 'ws';
import { signStream } from '../../lambda/core/signed-stream';
import { closeServers, memoryStores, startTestServer } from '../support/local-server';
import { loadAnyCable } from './support/anycable-core';

const STREAMS_SECRET = 'streams-secret';
const { createCable } = loadAnyCable();
const cables: Cable[] = [];

afterEach(async () => {
  cables.splice(0).forEach((cable) => cable.disconnect());
  await closeServers();
});

function cableFor(url: string): Cable {
  const cable = createCable(url, {
    websocketImplementation: WebSocket,
    protocol: 'actioncable-v1-json',
    // No monitor: the tests do not run long enough to need one (keepalive.test.ts covers pings and the monitor).
    monitor: false,
    // The client leaves a timer of this length behind every subscribe; 5 s (its default) outlives the run.
    protocolOptions: { subscribeRetryInterval: 250 },
    logLevel: 'error',
  });
  cables.push(cable);
  return cable;
}

/** 'confirmed' when `ensureSubscribed` resolves, 'rejected' when it rejects. */
async function outcome(subscribed: Promise<void>): Promise<'confirmed' | 'rejected'> {
  return subscribed.then(() => 'confirmed' as const, () => 'rejected' as const);
}

describe('@anycable/core client', () => {
  test('$pubsub: a signed_stream_name signed with the streams secret is confirmed', async () => {
    const server = await startTestServer({ settings: { secret: 'app-secret', streamsSecret: STREAMS_SECRET } });
    const channel = cableFor(server.url).streamFromSigned(signStream('chat:42', STREAMS_SECRET));
    expect(await outcome(channel.ensureSubscribed())).toBe('confirmed');
    expect(memoryStores(server).subscriptions.all()).toEqual([
      expect.objectContaining({ stream: 'chat:42', identifier: expect.stringContaining('"channel":"$pubsub"') }),
    ]);
  });

  test('$pubsub: a signed_stream_name signed with another key is rejected', async () => {
    const server = await startTestServer({ settings: { secret: 'app-secret', streamsSecret: STREAMS_SECRET } });
    const channel = cableFor(server.url).streamFromSigned(signStream('chat:42', 'app-secret'));
    expect(await outcome(channel.ensureSubscribed())).toBe('rejected');
  });

  test.each([
    [false, 'rejected'],
    [true, 'confirmed'],
  ] as const)('publicStreams: %s, an unsigned stream_name is %s', async (publicStreams, expected) => {
    const server = await startTestServer({ settings: { streamsSecret: STREAMS_SECRET, publicStreams } });
    const channel = cableFor(server.url).streamFrom('lobby');
    expect(await outcome(channel.ensureSubscribed())).toBe(expected);
    expect(memoryStores(server).subscriptions.all().map((s) => s.stream)).toEqual(publicStreams ? ['lobby'] : []);
  });
});
