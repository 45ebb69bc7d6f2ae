import { LambdaClient } from '@aws-sdk/client-lambda';
import { LambdaRpcTransport } from '../../lambda/adapters/rpc/lambda-rpc-transport';
import { deriveKey } from '../../lambda/core/config';
import { connect } from '../../lambda/core/connect';
import { handleDisconnect } from '../../lambda/core/disconnect';
import { handleMessage } from '../../lambda/core/message';
import { RpcClient } from '../../lambda/core/rpc-client';
import { CONNECTION_ID, makeWorld, SECRET, World } from '../core/support';
import { chatChannelIdentifier, createChatApp, lambdaRpcHandler, RecordedRpcCall } from '../support/anycable-app/serverless-app';
import { RecordingServer } from '../support/rpc-test-server';

/*
 * CableRpc.fromFunction end to end: the core's RPC client, through the Lambda transport and a
 * real LambdaClient, to an Invoke endpoint that runs a real @anycable/serverless-js app behind
 * the payload 2.0 handler a Lamby-style adapter gives it. Only the Invoke API is local.
 */

const FUNCTION_NAME = 'rails-app';
const RPC_KEY = deriveKey(SECRET, 'rpc-cable')!;
const ROOM = chatChannelIdentifier('7');

let invoke: RecordingServer;
let calls: RecordedRpcCall[];
let world: World & { rpc: RpcClient };

beforeEach(async () => {
  calls = [];
  const handler = lambdaRpcHandler(createChatApp(), { rpcSecret: RPC_KEY, calls });
  invoke = new RecordingServer();
  invoke.handler = (request, res) => {
    void handler(JSON.parse(request.body)).then((result) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result)));
  };
  const endpoint = await invoke.start();
  const client = new LambdaClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  const rpc = new RpcClient(new LambdaRpcTransport({ client, functionName: FUNCTION_NAME, secret: RPC_KEY }));
  world = { ...makeWorld({ secret: SECRET }), rpc };
});

afterEach(async () => {
  await invoke.stop();
});

function upgrade(query: string) {
  return {
    connectionId: CONNECTION_ID,
    headers: { 'sec-websocket-protocol': 'actioncable-v1-json', 'cookie': 'theme=dark' },
    query: Object.fromEntries(new URLSearchParams(query)),
    url: `wss://cable.example.com/cable?${query}`,
    remoteAddress: '203.0.113.9',
  };
}

describe('CableRpc.fromFunction: a Lambda-hosted app', () => {
  test('connect: the app, invoked with a payload 2.0 event for /_anycable/connect, identifies the client', async () => {
    expect(await connect(world, upgrade('user=ann'))).toEqual({ kind: 'accept', subprotocol: 'actioncable-v1-json' });

    expect(invoke.requests.map((r) => r.url)).toEqual([`/2015-03-31/functions/${FUNCTION_NAME}/invocations`]);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ path: '/_anycable/connect', headers: { 'authorization': `Bearer ${RPC_KEY}`, 'x-anycable-meta-sid': CONNECTION_ID } });
    expect(calls[0].body).toEqual({ env: { url: 'https://cable.example.com/cable?user=ann', headers: { cookie: 'theme=dark', REMOTE_ADDR: '203.0.113.9' } } });
    expect(world.connections.records.get(CONNECTION_ID)?.identifiers).toBe('{"user":"ann"}');
    expect(world.delivery.requests.map((r) => r.frames)).toEqual([[JSON.stringify({ type: 'welcome', sid: CONNECTION_ID })]]);
  });

  test('connect: the app rejects, and the client is told and closed with nothing stored', async () => {
    await connect(world, upgrade('user=reject'));

    expect(world.connections.records.size).toBe(0);
    expect(world.delivery.requests).toEqual([expect.objectContaining({ close: true, frames: ['{"type":"disconnect","reason":"unauthorized"}'] })]);
  });

  test('command and disconnect: subscribe starts the app\'s stream, whoami sees the identifiers, disconnect tells the app', async () => {
    await connect(world, upgrade('user=ann'));
    const subscribe = await handleMessage(world, { connectionId: CONNECTION_ID, body: JSON.stringify({ command: 'subscribe', identifier: ROOM }), binary: false });
    expect(subscribe.transmissions).toEqual([JSON.stringify({ identifier: ROOM, type: 'confirm_subscription' })]);
    expect((await world.subscriptions.listByStream('room:7')).items.map((s) => s.connectionId)).toEqual([CONNECTION_ID]);

    const whoami = await handleMessage(world, {
      connectionId: CONNECTION_ID,
      body: JSON.stringify({ command: 'message', identifier: ROOM, data: JSON.stringify({ action: 'whoami' }) }),
      binary: false,
    });
    expect(whoami.transmissions?.map((t) => JSON.parse(t))).toEqual([{ identifier: ROOM, message: { identifiers: { user: 'ann' } } }]);

    await handleDisconnect({ ...world, config: world.config }, CONNECTION_ID);
    expect(calls.map((call) => call.path)).toEqual(['/_anycable/connect', '/_anycable/command', '/_anycable/command', '/_anycable/disconnect']);
    expect(calls[3].body).toMatchObject({ identifiers: '{"user":"ann"}', subscriptions: [ROOM] });
    expect((await world.subscriptions.listByStream('room:7')).items).toEqual([]);
  });
});
