import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { WebSocket } from 'ws';
import { InspectableLocalCableServer } from '../../lambda/local/local-cable-server';
import { PINGER_STATE, STREAM_HISTORY, SUBSCRIPTIONS_TABLE } from '../../src/contract/table-schema';
import { chatChannelIdentifier, generateToken } from '../support/anycable-app/serverless-app';
import { startDynalite, TestDynamo } from '../support/dynalite';
import { closeServers, eventually, memoryStores, refusedStatus, SECRET } from '../support/local-server';
import {
  bodyOf, bundleLambdaAssets, callsTo, closeApps, createConsumer, disconnectConsumers, framesOf, freePort, installRecordingConsumer,
  receivedCalls, RPC_SECRET, RunningCli, startCableWithApp, startChatApp, startCli, subscribe, welcomedConsumer,
} from './support/rpc-e2e';

/*
 * The local server as an AnyCable RPC client: a real @anycable/serverless-js app
 * (test/support/anycable-app) identifies connections and runs ChatChannel over HTTP RPC, and
 * broadcasts back through the server's POST /_broadcast; the stock @rails/actioncable consumer
 * drives it.
 */

const ROOM_1 = { channel: 'ChatChannel', room: '1' };
const ANN = JSON.stringify({ user: 'ann' });

let restoreConsumer: () => void;
const clis: RunningCli[] = [];

beforeAll(() => {
  restoreConsumer = installRecordingConsumer();
});

afterEach(async () => {
  disconnectConsumers();
  await closeServers();
  await Promise.all(clis.splice(0).map((cli) => cli.stop()));
  await closeApps();
});

afterAll(() => restoreConsumer());

/** The connection ids of stored connections identified as `identifiers`. */
function connectionIdsOf(server: InspectableLocalCableServer, identifiers: string): string[] {
  return [...memoryStores(server).connections.records.values()].filter((r) => r.identifiers === identifiers).map((r) => r.connectionId);
}

describe('identification and channels through the app RPC', () => {
  test('speak: the sender gets the app\'s ack and the room the app\'s broadcast; the app sees the connection as anycable-go shows it', async () => {
    const { server, app } = await startCableWithApp();
    const { consumer: ann, welcome } = await welcomedConsumer(`${server.url}?user=ann`);
    const [annId] = connectionIdsOf(server, ANN);
    expect(welcome).toEqual({ type: 'welcome', sid: annId });

    const [connectCall] = callsTo(app, 'connect');
    expect(connectCall.headers['x-anycable-meta-sid']).toBe(annId);
    expect(connectCall.headers.authorization).toBe(`Bearer ${RPC_SECRET}`);
    expect(new URL(bodyOf(connectCall).env.url).searchParams.get('user')).toBe('ann');
    expect(bodyOf(connectCall).env.headers).toEqual({ cookie: 'theme=dark', REMOTE_ADDR: '127.0.0.1' });

    const annRoom = subscribe(ann, ROOM_1);
    expect(await annRoom.outcome).toBe('connected');
    const { consumer: bob } = await welcomedConsumer(`${server.url}?user=bob`);
    const bobRoom = subscribe(bob, ROOM_1);
    expect(await bobRoom.outcome).toBe('connected');
    expect(memoryStores(server).subscriptions.all().map((row) => row.stream)).toEqual(['room:1', 'room:1']);

    annRoom.subscription.perform('speak', { body: 'hi' });
    await eventually(() => {
      expect(annRoom.received).toContainEqual({ ack: 'hi' });
      expect(annRoom.received).toContainEqual({ user: 'ann', body: 'hi' });
      expect(bobRoom.received).toContainEqual({ user: 'ann', body: 'hi' });
    });
    expect(bobRoom.received).toEqual([{ user: 'ann', body: 'hi' }]);
    expect(framesOf(bob).map((frame) => frame.message)).not.toContainEqual({ ack: 'hi' });

    const speak = callsTo(app, 'command').find((call) => bodyOf(call).command === 'message');
    expect(speak).toBeDefined();
    expect(speak!.headers).toMatchObject({ 'authorization': `Bearer ${RPC_SECRET}`, 'x-anycable-meta-sid': annId });
    expect(bodyOf(speak!)).toMatchObject({
      identifier: chatChannelIdentifier('1'),
      connection_identifiers: ANN,
      data: JSON.stringify({ body: 'hi', action: 'speak' }),
      env: { headers: { cookie: 'theme=dark', REMOTE_ADDR: '127.0.0.1' }, cstate: { connected_via: 'query' } },
    });
  });

  test('reject: a connection the app rejects is told unauthorized, closed, and not reconnected; a rejected subscription stores nothing', async () => {
    const { server, app } = await startCableWithApp();
    const rejected = createConsumer(`${server.url}?user=reject`);
    const room = subscribe(rejected, ROOM_1);
    await eventually(() => expect(room.disconnected).toEqual([{ willAttemptReconnect: false }]));
    expect(framesOf(rejected)).toContainEqual(expect.objectContaining({ type: 'disconnect', reason: 'unauthorized' }));
    expect(framesOf(rejected).some((frame) => frame.type === 'welcome')).toBe(false);
    expect(rejected.connection.webSocket?.readyState).toBe(WebSocket.CLOSED);
    expect(rejected.connection.monitor.isRunning()).toBe(false);
    expect(memoryStores(server).connections.records.size).toBe(0);

    const { consumer: ann } = await welcomedConsumer(`${server.url}?user=ann`);
    expect(await subscribe(ann, { channel: 'ChatChannel', room: 'secret' }).outcome).toBe('rejected');
    expect(memoryStores(server).subscriptions.all()).toEqual([]);
    const [annId] = connectionIdsOf(server, ANN);
    expect((await memoryStores(server).connections.get(annId))?.channels).toEqual({});

    // Meanwhile the rejected consumer did not come back: one connect for it, one for ann.
    expect(callsTo(app, 'connect').map((call) => new URL(bodyOf(call).env.url).searchParams.get('user'))).toEqual(['reject', 'ann']);
    expect(callsTo(app, 'disconnect')).toEqual([]);
    expect(new Set(callsTo(app, 'command').map((call) => bodyOf(call).identifier))).toEqual(new Set([chatChannelIdentifier('secret')]));
  });

  test('jwt: a valid ?jid= identifies the connection with no connect call; an expired one is told token_expired', async () => {
    const { server, app } = await startCableWithApp();
    const token = await generateToken(SECRET, { user: 'jwt-user' }, 60);
    const { consumer, welcome } = await welcomedConsumer(`${server.url}?jid=${token}`);
    const [id] = connectionIdsOf(server, JSON.stringify({ user: 'jwt-user' }));
    expect(welcome).toEqual({ type: 'welcome', sid: id });

    const room = subscribe(consumer, ROOM_1);
    expect(await room.outcome).toBe('connected');
    room.subscription.perform('whoami', {});
    await eventually(() => expect(room.received).toEqual([{ identifiers: { user: 'jwt-user' } }]));
    expect(new Set(callsTo(app, 'command').map((call) => bodyOf(call).connection_identifiers))).toEqual(new Set([JSON.stringify({ user: 'jwt-user' })]));

    const expired = await generateToken(SECRET, { user: 'late' }, -60);
    const late = createConsumer(`${server.url}?jid=${expired}`);
    const lateRoom = subscribe(late, ROOM_1);
    await eventually(() => expect(lateRoom.disconnected).toEqual([{ willAttemptReconnect: false }]));
    expect(late.connection.webSocket?.frames).toEqual(['{"type":"disconnect","reason":"token_expired","reconnect":false}']);
    expect(late.connection.webSocket?.readyState).toBe(WebSocket.CLOSED);
    expect(callsTo(app, 'connect')).toEqual([]);
    expect(connectionIdsOf(server, JSON.stringify({ user: 'late' }))).toEqual([]);
  });

  test('unsubscribe and disconnect: the app is told; the room no longer reaches the channel; disconnect carries identifiers and subscriptions', async () => {
    const { server, app } = await startCableWithApp();
    const { consumer: ann } = await welcomedConsumer(`${server.url}?user=ann`);
    const [annId] = connectionIdsOf(server, ANN);
    // Two channels on the same stream: the one kept shows when a broadcast has arrived.
    const leaving = subscribe(ann, ROOM_1);
    const staying = subscribe(ann, { ...ROOM_1, tab: 'other' });
    expect(await Promise.all([leaving.outcome, staying.outcome])).toEqual(['connected', 'connected']);
    const { consumer: bob } = await welcomedConsumer(`${server.url}?user=bob`);
    const bobRoom = subscribe(bob, ROOM_1);
    expect(await bobRoom.outcome).toBe('connected');

    leaving.subscription.unsubscribe();
    await eventually(() => expect(callsTo(app, 'command').filter((call) => bodyOf(call).command === 'unsubscribe')).toEqual([
      expect.objectContaining({ body: expect.objectContaining({ identifier: leaving.subscription.identifier, connection_identifiers: ANN }) }),
    ]));
    await eventually(() => expect(memoryStores(server).subscriptions.all().filter((row) => row.connectionId === annId).map((row) => row.identifier))
      .toEqual([staying.subscription.identifier]));

    bobRoom.subscription.perform('speak', { body: 'anyone?' });
    await eventually(() => expect(staying.received).toEqual([{ user: 'bob', body: 'anyone?' }]));
    expect(framesOf(ann).filter((frame) => frame.identifier === leaving.subscription.identifier && frame.type === undefined)).toEqual([]);

    const before = app.calls.length;
    ann.disconnect();
    const call = (await receivedCalls(app, before + 1))[before];
    expect(call.rpcMethod).toBe('disconnect');
    // Checked before the app answers: the clean-up came first.
    expect(memoryStores(server).subscriptions.all().filter((row) => row.connectionId === annId)).toEqual([]);
    expect(await memoryStores(server).connections.get(annId)).toBeUndefined();
    expect(call.headers['x-anycable-meta-sid']).toBe(annId);
    expect(bodyOf(call)).toMatchObject({ identifiers: ANN, subscriptions: [staying.subscription.identifier] });
    expect(bodyOf(call).env.headers).toEqual({ cookie: 'theme=dark', REMOTE_ADDR: '127.0.0.1' });
  });

  test('bad answers: a hung connect refuses the handshake; a 500 or malformed subscribe is rejected once (no re-send loop) and leaves nothing', async () => {
    const { server, app } = await startCableWithApp({ timeoutMs: 500 });
    const { consumer: ann } = await welcomedConsumer(`${server.url}?user=ann`);
    const [annId] = connectionIdsOf(server, ANN);

    app.misbehave('hang');
    expect(await refusedStatus(`${server.url}?user=carl`)).toBe(500);
    const hung = callsTo(app, 'connect')[1];
    expect(new URL(bodyOf(hung).env.url).searchParams.get('user')).toBe('carl');
    expect([...memoryStores(server).connections.records.keys()]).toEqual([annId]);

    const nothingKept = async () => {
      expect(memoryStores(server).subscriptions.all()).toEqual([]);
      expect((await memoryStores(server).connections.get(annId))?.channels).toEqual({});
    };
    const subscribes = () => callsTo(app, 'command').filter((call) => bodyOf(call).command === 'subscribe');

    // The stock client would re-send subscribe every 500 ms, each a paid invocation and RPC call:
    // a subscribe the app cannot answer is rejected (docs/rpc.md, "Differences from anycable-go").
    app.misbehave('http_500');
    expect(await subscribe(ann, ROOM_1).outcome).toBe('rejected');
    expect(subscribes().map((call) => call.status)).toEqual([500]);
    await nothingKept();

    app.misbehave('malformed_json');
    expect(await subscribe(ann, { channel: 'ChatChannel', room: '2' }).outcome).toBe('rejected');
    expect(subscribes().map((call) => call.status)).toEqual([500, 200]);
    expect(subscribes()[1].responseBody).toBe('{"status":1,');
    await nothingKept();

    app.misbehave('normal');
    const room = subscribe(ann, { channel: 'ChatChannel', room: '3' });
    expect(await room.outcome).toBe('connected');
    expect(memoryStores(server).subscriptions.all()).toEqual([expect.objectContaining({ connectionId: annId, stream: 'room:3' })]);
    expect(Object.keys((await memoryStores(server).connections.get(annId))?.channels ?? {})).toEqual([room.subscription.identifier]);
  });
});

describe('the bundled Lambda functions with DynamoDB', () => {
  let assets: { handlers: string; cli: string };
  let dynamo: TestDynamo;

  beforeAll(async () => {
    assets = bundleLambdaAssets();
    dynamo = await startDynalite();
  });

  afterAll(async () => {
    await dynamo?.close();
    if (assets) rmSync(dirname(assets.handlers), { recursive: true, force: true });
  });

  /**
   * A table's rows, less the pinger's lease and claims and the streams' history: their own
   * partitions of the subscriptions table, which outlive a connection by design.
   */
  async function rows(table: string): Promise<Record<string, unknown>[]> {
    const ownRow = (row: Record<string, unknown>) => {
      const partition = String(row[SUBSCRIPTIONS_TABLE.partitionKey]);
      return partition !== PINGER_STATE.stream && !partition.startsWith(STREAM_HISTORY.partitionPrefix);
    };
    return (await dynamo.scanAll(table)).filter(ownRow);
  }

  test('lambdaAssets: connect, subscribe and speak run through the app; disconnect reaches it', async () => {
    const port = await freePort();
    const app = await startChatApp(port);
    const cli = await startCli(assets.cli, [
      `--port=${port}`, `--secret=${SECRET}`, `--rpc_host=${app.url}`,
      `--lambda_assets=${assets.handlers}`, `--dynamodb_endpoint=${dynamo.endpoint}`,
      `--connections_table=${dynamo.connectionsTable}`, `--subscriptions_table=${dynamo.subscriptionsTable}`,
    ]);
    clis.push(cli);

    const { consumer: ann, welcome } = await welcomedConsumer(`${cli.url}?user=ann`);
    const [connection] = await rows(dynamo.connectionsTable);
    expect(connection).toMatchObject({ identifiers: ANN });
    expect(welcome).toEqual({ type: 'welcome', sid: connection.connectionId });

    const room = subscribe(ann, ROOM_1);
    expect(await room.outcome).toBe('connected');
    expect(await rows(dynamo.subscriptionsTable)).toEqual([expect.objectContaining({ stream: 'room:1', connectionId: connection.connectionId })]);
    room.subscription.perform('speak', { body: 'from a bundle' });
    await eventually(() => {
      expect(room.received).toContainEqual({ ack: 'from a bundle' });
      expect(room.received).toContainEqual({ user: 'ann', body: 'from a bundle' });
    });
    // What the app sees of the connection survived DynamoDB: headers, address and connection state.
    const speak = callsTo(app, 'command').find((call) => bodyOf(call).command === 'message');
    expect(bodyOf(speak!)).toMatchObject({
      connection_identifiers: ANN,
      env: { headers: { cookie: 'theme=dark', REMOTE_ADDR: '127.0.0.1' }, cstate: { connected_via: 'query' } },
    });

    const before = app.calls.length;
    ann.disconnect();
    const call = (await receivedCalls(app, before + 1))[before];
    expect(call.rpcMethod).toBe('disconnect');
    expect(call.headers).toMatchObject({ 'authorization': `Bearer ${RPC_SECRET}`, 'x-anycable-meta-sid': connection.connectionId });
    expect(bodyOf(call)).toMatchObject({ identifiers: ANN, subscriptions: [room.subscription.identifier] });
    expect(await rows(dynamo.subscriptionsTable)).toEqual([]);
    expect(await rows(dynamo.connectionsTable)).toEqual([]);
  });
});
