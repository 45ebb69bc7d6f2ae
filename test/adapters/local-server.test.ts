import { DeleteConnectionCommand, GetConnectionCommand, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { ConnectionGoneError } from '../../lambda/core/errors';
import { MAX_MESSAGE_BYTES } from '../../lambda/core/protocol';
import { signStream } from '../../lambda/core/signed-stream';
import {
  closeServers, connectClient, eventually, HeldConnectionStore, managementClient, memoryStores,
  RecordingLogger, refusedStatus, SECRET, startTestServer, subscribeCommand, SUBPROTOCOL,
} from '../support/local-server';
import { RecordingServer } from '../support/rpc-test-server';

afterEach(closeServers);

const turbo = (stream: string, key = SECRET) => ({ channel: 'Turbo::StreamsChannel', signed_stream_name: signStream(stream, key) });

async function onlyConnectionId(server: Awaited<ReturnType<typeof startTestServer>>): Promise<string> {
  let id = '';
  await eventually(() => {
    const ids = [...memoryStores(server).connections.records.keys()];
    expect(ids).toHaveLength(1);
    id = ids[0];
  });
  return id;
}

describe('$connect', () => {
  test('subprotocol: an upgrade without actioncable-v1-json is refused with HTTP 400', async () => {
    const server = await startTestServer();
    expect(await refusedStatus(server.url, [])).toBe(400);
    expect(await refusedStatus(server.url, ['other'])).toBe(400);
    expect(memoryStores(server).connections.records.size).toBe(0);
  });

  test('subprotocol: actioncable-v1-json is echoed and the deferred welcome arrives', async () => {
    const server = await startTestServer();
    const client = await connectClient(server.url, ['actioncable-unsupported', SUBPROTOCOL]);
    expect(client.ws.protocol).toBe(SUBPROTOCOL);
    await client.welcome();
    await client.close();
  });

  test('allowedOrigins: another Origin is refused with HTTP 403', async () => {
    const server = await startTestServer({ settings: { secret: SECRET, allowedOrigins: ['http://localhost:3000'] } });
    expect(await refusedStatus(server.url, [SUBPROTOCOL], { origin: 'http://evil.example' })).toBe(403);
    const client = await connectClient(server.url, [SUBPROTOCOL], { origin: 'http://localhost:3000' });
    await client.welcome();
    await client.close();
  });

  test('event: the query string and headers reach the handler as API Gateway passes them (the app\'s RPC connect sees them)', async () => {
    const app = new RecordingServer();
    app.handler = (_request, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: 1, transmissions: ['{"type":"welcome"}'] }));
    const rpcUrl = await app.start();
    const server = await startTestServer({ settings: { secret: SECRET, rpcHeaders: ['x-custom'] }, rpc: { url: `${rpcUrl}/_anycable` } });
    const client = await connectClient(`${server.url}?token=a&token=b&room=1`, [SUBPROTOCOL], { headers: { 'X-Custom': 'yes' } });
    const id = await onlyConnectionId(server);
    const { env } = JSON.parse(app.requests[0].body) as { env: { url: string; headers: Record<string, string> } };
    // API Gateway passes the last value of a repeated parameter.
    expect(env.url).toMatch(/\/cable\?token=b&room=1$/);
    expect(env.headers).toMatchObject({ 'x-custom': 'yes' });
    expect(await server.runtime.connections.get(id)).toMatchObject({ connectionId: id, headers: { 'x-custom': 'yes' } });
    expect(id).toMatch(/^[A-Za-z0-9_-]{15}=$/);
    await client.close();
    await app.stop();
  });

  test('path: an upgrade at another path is refused with HTTP 404', async () => {
    const server = await startTestServer();
    expect(await refusedStatus(server.url.replace('/cable', '/other'))).toBe(404);
  });
});

describe('@connections during $connect', () => {
  test('410: posts answer Gone until $connect has returned, then the welcome is delivered', async () => {
    const connections = new HeldConnectionStore();
    const server = await startTestServer({}, { connections });
    const opening = connectClient(server.url);
    const id = await connections.held;

    const client = managementClient(server);
    await expect(client.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from('early') })))
      .rejects.toMatchObject({ name: 'GoneException', $metadata: { httpStatusCode: 410 } });
    await expect(client.send(new GetConnectionCommand({ ConnectionId: id }))).rejects.toMatchObject({ name: 'GoneException' });
    await expect(server.runtime.transport.send(id, 'early')).rejects.toBeInstanceOf(ConnectionGoneError);
    const raw = await fetch(`${server.callbackUrl}/@connections/${encodeURIComponent(id)}`, { method: 'POST', body: 'early' });
    expect(raw.status).toBe(410);
    expect(raw.headers.get('x-amzn-errortype')).toBe('GoneException');
    expect(await raw.json()).toEqual({ message: 'Gone' });

    connections.open();
    const socket = await opening;
    await socket.welcome();
    expect(socket.frames).not.toContain('early');
    client.destroy();
    await socket.close();
  });
});

describe('$default', () => {
  test('128 KB: a bigger message closes the socket with 1009 without reaching the handler', async () => {
    const logger = new RecordingLogger();
    const server = await startTestServer({}, { logger });
    const client = await connectClient(server.url);
    await client.welcome();
    client.send('x'.repeat(MAX_MESSAGE_BYTES + 1));
    expect(await client.closed).toMatchObject({ code: 1009 });
    await server.close();
    expect(logger.events()).not.toContain('message.invalid_request');
    expect(logger.events()).not.toContain('message.ignored');
  });

  test('128 KB: a message of exactly 128 KB reaches the handler', async () => {
    const logger = new RecordingLogger();
    const server = await startTestServer({}, { logger });
    const client = await connectClient(server.url);
    await client.welcome();
    client.send('x'.repeat(MAX_MESSAGE_BYTES));
    await eventually(() => expect(logger.entries).toContainEqual(expect.objectContaining({ event: 'message.ignored', fields: expect.objectContaining({ reason: 'invalid_json' }) })));
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    await client.close();
  });

  test('binary: a binary frame reaches the handler base64-encoded, which ends the connection', async () => {
    const server = await startTestServer();
    const client = await connectClient(server.url);
    await client.welcome();
    client.ws.send(Buffer.from('{}'), { binary: true });
    expect(await client.next((f) => (f as { type?: string }).type === 'disconnect')).toEqual({ type: 'disconnect', reason: 'invalid_request', reconnect: false });
    await client.closed;
  });

  test('order: frames of one connection are handled one at a time, in order', async () => {
    const server = await startTestServer();
    const client = await connectClient(server.url);
    await client.welcome();
    const streams = ['a', 'b', 'c', 'd', 'e'];
    for (const stream of streams) client.send(subscribeCommand(turbo(stream)));
    await eventually(() => expect(client.messages.filter((m) => (m as { type?: string }).type === 'confirm_subscription')).toHaveLength(5));
    const confirmed = client.messages.flatMap((m) => {
      const frame = m as { type?: string; identifier?: string };
      return frame.type === 'confirm_subscription' ? [JSON.parse(frame.identifier ?? '{}').signed_stream_name] : [];
    });
    expect(confirmed).toEqual(streams.map((stream) => signStream(stream, SECRET)));
    await client.close();
  });
});

describe('timeouts', () => {
  test('idleTimeoutMs: a silent connection is closed with 1001 Going away', async () => {
    const server = await startTestServer({ idleTimeoutMs: 200 });
    const client = await connectClient(server.url);
    await client.welcome();
    expect(await client.closed).toEqual({ code: 1001, reason: 'Going away' });
    await eventually(() => expect(memoryStores(server).connections.records.size).toBe(0));
  });

  test('idleTimeoutMs: client ping frames count as activity', async () => {
    const server = await startTestServer({ idleTimeoutMs: 400 });
    const client = await connectClient(server.url);
    await client.welcome();
    const pinger = setInterval(() => client.ws.ping(), 50);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    clearInterval(pinger);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    expect(await client.closed).toEqual({ code: 1001, reason: 'Going away' });
  });

  test('maxConnectionMs: an active connection is closed with 1001 Going away all the same', async () => {
    const server = await startTestServer({ maxConnectionMs: 300 });
    const client = await connectClient(server.url);
    await client.welcome();
    const pinger = setInterval(() => client.ws.ping(), 50);
    const closed = await client.closed;
    clearInterval(pinger);
    expect(closed).toEqual({ code: 1001, reason: 'Going away' });
  });
});

describe('$disconnect', () => {
  test('close: the connection and its subscriptions are removed', async () => {
    const server = await startTestServer();
    const { connections, subscriptions } = memoryStores(server);
    const client = await connectClient(server.url);
    await client.welcome();
    client.send(subscribeCommand(turbo('room:1')));
    client.send(subscribeCommand(turbo('room:2')));
    await eventually(() => expect(subscriptions.all()).toHaveLength(2));
    const other = await connectClient(server.url);
    await other.welcome();
    other.send(subscribeCommand(turbo('room:1')));
    await eventually(() => expect(subscriptions.all()).toHaveLength(3));

    await client.close();
    await eventually(() => expect(subscriptions.all().map((s) => s.stream)).toEqual(['room:1']));
    expect(connections.records.size).toBe(1);
    await other.close();
    await eventually(() => expect(subscriptions.all()).toEqual([]));
  });

  test('close(): the server closes every socket with 1001 and runs each $disconnect', async () => {
    const server = await startTestServer();
    const clients = [await connectClient(server.url), await connectClient(server.url)];
    await Promise.all(clients.map((client) => client.welcome()));
    await server.close();
    for (const client of clients) expect(await client.closed).toEqual({ code: 1001, reason: 'Going away' });
    expect(memoryStores(server).connections.records.size).toBe(0);
  });
});

describe('@connections with the real ApiGatewayManagementApiClient', () => {
  test('PostToConnection, GetConnection, DeleteConnection', async () => {
    const server = await startTestServer();
    const socket = await connectClient(server.url, [SUBPROTOCOL], { headers: { 'User-Agent': 'cable-test' } });
    await socket.welcome();
    const id = await onlyConnectionId(server);
    const client = managementClient(server);

    await client.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from('{"message":"hello"}') }));
    expect(await socket.next((f) => (f as { message?: string }).message === 'hello')).toEqual({ message: 'hello' });

    const described = await client.send(new GetConnectionCommand({ ConnectionId: id }));
    expect(described.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: 'cable-test' });
    expect(described.ConnectedAt).toBeInstanceOf(Date);
    expect(described.LastActiveAt!.getTime()).toBeGreaterThanOrEqual(described.ConnectedAt!.getTime());

    await client.send(new DeleteConnectionCommand({ ConnectionId: id }));
    expect((await socket.closed).code).toBe(1000);
    await expect(client.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from('late') })))
      .rejects.toMatchObject({ name: 'GoneException' });
    await expect(client.send(new DeleteConnectionCommand({ ConnectionId: id }))).rejects.toMatchObject({ name: 'GoneException' });
    client.destroy();
  });

  test('413: a post over 128 KB is refused with PayloadTooLargeException', async () => {
    const server = await startTestServer();
    const socket = await connectClient(server.url);
    await socket.welcome();
    const client = managementClient(server);
    const id = await onlyConnectionId(server);
    await expect(client.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x61) })))
      .rejects.toMatchObject({ name: 'PayloadTooLargeException', $metadata: { httpStatusCode: 413 } });
    expect(socket.ws.readyState).toBe(socket.ws.OPEN);
    client.destroy();
    await socket.close();
  });

  test('/_broadcast: served on the same port, and refused without the broadcast key (401)', async () => {
    const server = await startTestServer();
    const response = await fetch(`${server.httpUrl}/_broadcast`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: expect.stringMatching(/Authorization: Bearer/) });
  });

  test('/_broadcast: a body over 6 MB (a Function URL\'s limit) is 413', async () => {
    const server = await startTestServer();
    const headers = { Authorization: `Bearer ${server.runtime.config.broadcastKey}` };
    const response = await fetch(server.broadcastUrl, { method: 'POST', headers, body: 'x'.repeat(6 * 1024 * 1024 + 1) });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ message: expect.stringMatching(/over 6291456 bytes/) });
  });
});
