import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import * as ActionCable from '@rails/actioncable';
import { RawData, WebSocket } from 'ws';
import { signStream } from '../../lambda/core/signed-stream';
import {
  closeServers, eventually, managementClient, memoryStores, refusedStatus, SECRET, startTestServer,
} from '../support/local-server';
import { nodeConsumers } from './support/browser-globals';
import { subscribe } from './support/subscription';

/** `ws` as the consumer's WebSocket, keeping every frame the consumer receives. */
class RecordingWebSocket extends WebSocket {
  readonly frames: string[] = [];

  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols);
    this.on('message', (data: RawData) => this.frames.push(data.toString()));
  }
}

/** The parts of the consumer these tests look at that its type definitions leave out. */
interface ConsumerInternals {
  readonly connection: { readonly webSocket?: RecordingWebSocket; isOpen(): boolean; getProtocol(): string | undefined };
}

const consumers = nodeConsumers<ActionCable.Consumer & ConsumerInternals>(RecordingWebSocket);

afterEach(closeServers);

async function connectedConsumer(url: string): Promise<ActionCable.Consumer & ConsumerInternals> {
  const consumer = consumers.create(url);
  consumer.connect();
  await eventually(() => {
    expect(consumer.connection.isOpen()).toBe(true);
    expect(consumer.connection.webSocket?.frames.map((f) => JSON.parse(f))).toContainEqual({ type: 'welcome' });
  });
  return consumer;
}


const turbo = (stream: string, key = SECRET) => ({ channel: 'Turbo::StreamsChannel', signed_stream_name: signStream(stream, key) });

describe('@rails/actioncable consumer', () => {
  test('welcome: the consumer connects over actioncable-v1-json and receives the welcome', async () => {
    const server = await startTestServer();
    const consumer = await connectedConsumer(server.url);
    expect(consumer.connection.getProtocol()).toBe('actioncable-v1-json');
  });

  test('Turbo::StreamsChannel: a valid signed_stream_name is confirmed (connected)', async () => {
    const server = await startTestServer();
    const consumer = await connectedConsumer(server.url);
    expect(await subscribe(consumer, turbo('messages:1')).outcome).toBe('connected');
    expect(memoryStores(server).subscriptions.all().map((s) => s.stream)).toEqual(['messages:1']);
  });

  test('Turbo::StreamsChannel: a forged signed_stream_name is rejected', async () => {
    const server = await startTestServer();
    const consumer = await connectedConsumer(server.url);
    expect(await subscribe(consumer, turbo('messages:1', 'not-the-secret')).outcome).toBe('rejected');
    expect(memoryStores(server).subscriptions.all()).toEqual([]);
  });

  test('subscribe: the same subscription twice creates one row, and both are confirmed', async () => {
    const server = await startTestServer();
    const consumer = await connectedConsumer(server.url);
    const first = subscribe(consumer, turbo('messages:1'));
    const second = subscribe(consumer, turbo('messages:1'));
    expect(await Promise.all([first.outcome, second.outcome])).toEqual(['connected', 'connected']);
    const frames = consumer.connection.webSocket!.frames.map((f) => JSON.parse(f) as { type?: string });
    expect(frames.filter((f) => f.type === 'confirm_subscription').length).toBeGreaterThanOrEqual(2);
    expect(memoryStores(server).subscriptions.all()).toEqual([expect.objectContaining({ stream: 'messages:1' })]);
  });

  test('received: a frame posted through @connections reaches the subscription', async () => {
    const server = await startTestServer();
    const consumer = await connectedConsumer(server.url);
    const received: unknown[] = [];
    const { subscription, outcome } = subscribe(consumer, turbo('messages:1'), received);
    await outcome;
    const [row] = memoryStores(server).subscriptions.all();
    const client = managementClient(server);
    const html = '<turbo-stream action="append" target="messages"><template>hi</template></turbo-stream>';
    await client.send(new PostToConnectionCommand({
      ConnectionId: row.connectionId,
      Data: Buffer.from(JSON.stringify({ identifier: subscription.identifier, message: html })),
    }));
    await eventually(() => expect(received).toEqual([html]));
    client.destroy();
  });

  test('disconnect: consumer.disconnect() runs $disconnect, which removes its rows', async () => {
    const server = await startTestServer();
    const consumer = await connectedConsumer(server.url);
    await subscribe(consumer, turbo('messages:1')).outcome;
    consumer.disconnect();
    const { connections, subscriptions } = memoryStores(server);
    await eventually(() => {
      expect(subscriptions.all()).toEqual([]);
      expect(connections.records.size).toBe(0);
    });
  });

  test('subprotocol: a client offering no supported subprotocol is refused', async () => {
    const server = await startTestServer();
    expect(await refusedStatus(server.url, ['other'])).toBe(400);
  });
});
