import { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { ConnectionGoneError } from '../../lambda/core/errors';
import { DeliveryRequest, Transport } from '../../lambda/core/ports';
import { ConnectionContext } from '../../lambda/local/api-gateway-events';
import { ConnectionRegistry, DELETED } from '../../lambda/local/connection-registry';
import { LocalDeferredDelivery } from '../../lambda/local/local-deferred-delivery';
import { LocalConnections, LocalTransport, PostOutcome } from '../../lambda/local/local-transport';
import { eventually, RecordingLogger } from '../support/local-server';

/** Sockets whose answer to a post is set by the test; records what each socket was handed and which were closed. */
class ScriptedConnections implements LocalConnections {
  outcome: PostOutcome = 'sent';
  readonly posted: { connectionId: string; data: string }[] = [];
  readonly disconnects: { connectionId: string; wasOpen: boolean }[] = [];
  private readonly closed = new Set<string>();

  post(connectionId: string, data: string): PostOutcome {
    if (this.outcome === 'sent') this.posted.push({ connectionId, data });
    return this.outcome;
  }

  disconnect(connectionId: string): boolean {
    const wasOpen = !this.closed.has(connectionId);
    this.closed.add(connectionId);
    this.disconnects.push({ connectionId, wasOpen });
    return wasOpen;
  }
}

describe('LocalTransport', () => {
  test('send: sent hands the frame, unchanged, to that connection\'s socket', async () => {
    const connections = new ScriptedConnections();
    const transport = new LocalTransport(connections) satisfies Transport;
    await expect(transport.send('id=', '{"type":"ping","message":1}')).resolves.toBeUndefined();
    expect(connections.posted).toEqual([{ connectionId: 'id=', data: '{"type":"ping","message":1}' }]);
  });

  test('send: gone is a ConnectionGoneError for that connection', async () => {
    const connections = new ScriptedConnections();
    connections.outcome = 'gone';
    await expect(new LocalTransport(connections).send('id=', 'frame')).rejects.toEqual(new ConnectionGoneError('id='));
    expect(connections.posted).toEqual([]);
  });

  test('send: over 128 KB is a PayloadTooLargeException, as the SDK names it', async () => {
    const connections = new ScriptedConnections();
    connections.outcome = 'too_large';
    await expect(new LocalTransport(connections).send('id=', 'x')).rejects.toMatchObject({ name: 'PayloadTooLargeException' });
  });

  test('close: closes that connection\'s socket; closing it again (gone) is not an error', async () => {
    const connections = new ScriptedConnections();
    const transport = new LocalTransport(connections);
    await expect(transport.close('id=')).resolves.toBeUndefined();
    expect(connections.disconnects).toEqual([{ connectionId: 'id=', wasOpen: true }]);
    await expect(transport.close('id=')).resolves.toBeUndefined();
    expect(connections.disconnects).toEqual([{ connectionId: 'id=', wasOpen: true }, { connectionId: 'id=', wasOpen: false }]);
  });
});

describe('LocalTransport on a real socket', () => {
  const CONTEXT: ConnectionContext = { connectionId: 'id=', connectedAt: Date.now(), stage: 'cable', domainName: '127.0.0.1', sourceIp: '127.0.0.1' };
  let server: WebSocketServer;
  let registry: ConnectionRegistry;
  let client: WebSocket;
  const received: string[] = [];
  let closed: Promise<{ code: number; reason: string }>;

  beforeEach(async () => {
    received.length = 0;
    server = new WebSocketServer({ port: 0 });
    registry = new ConnectionRegistry({ idleTimeoutMs: 60_000, maxConnectionMs: 60_000 });
    const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
    await new Promise<void>((resolve) => server.once('listening', resolve));
    client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    client.on('message', (data) => received.push(data.toString()));
    closed = new Promise((resolve) => client.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    await new Promise((resolve) => client.once('open', resolve));
    registry.reserve(CONTEXT);
    registry.open('id=', await accepted);
  });

  afterEach(async () => {
    registry.remove('id=');
    client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  test('send: the client receives the frame as a text message', async () => {
    await new LocalTransport(registry).send('id=', '{"type":"welcome"}');
    await eventually(() => expect(received).toEqual(['{"type":"welcome"}']));
  });

  test('close: the client sees the socket closed as DELETE @connections closes it (1000)', async () => {
    await new LocalTransport(registry).close('id=');
    const stillOpen = new Promise((resolve) => setTimeout(() => resolve('still open'), 5_000).unref());
    expect(await Promise.race([closed, stillOpen])).toEqual(DELETED);
    await expect(new LocalTransport(registry).send('id=', 'late')).rejects.toBeInstanceOf(ConnectionGoneError);
  });
});

describe('LocalDeferredDelivery', () => {
  const request: DeliveryRequest = { connectionId: 'id=', frames: ['{"type":"welcome"}'], deadline: Number.MAX_SAFE_INTEGER };

  test('deliverLater: returns before the delivery runs, which runs on a later turn', async () => {
    const runs: DeliveryRequest[] = [];
    const delivery = new LocalDeferredDelivery(async (r) => runs.push(r), new RecordingLogger());
    await delivery.deliverLater(request);
    expect(runs).toEqual([]);
    await delivery.drain();
    expect(runs).toEqual([request]);
  });

  test('deliverLater: a failed run is logged, not retried', async () => {
    const logger = new RecordingLogger();
    let runs = 0;
    const delivery = new LocalDeferredDelivery(async () => {
      runs++;
      throw new Error('boom');
    }, logger);
    await delivery.deliverLater(request);
    await delivery.drain();
    expect(runs).toBe(1);
    expect(logger.events()).toEqual(['local.deliver_not_retried']);
  });
});
