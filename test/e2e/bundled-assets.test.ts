import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import * as ActionCable from '@rails/actioncable';
import { WebSocket } from 'ws';
import { installNodeConsumer } from './support/browser-globals';
import { signStream } from '../../lambda/core/signed-stream';
import { CABLE_FUNCTIONS, FUNCTION_BUNDLE_FILE, functionBundleName } from '../../src/contract/functions';
import { PINGER_STATE, SUBSCRIPTIONS_TABLE } from '../../src/contract/table-schema';
import { startDynalite, TestDynamo } from '../support/dynalite';
import { connectClient, eventually, managementClient, refusedStatus } from '../support/local-server';

/*
 * What AWS runs, end to end: the shipped CLI (assets/lambda/local/cli) serves the shipped Lambda
 * bundles (assets/lambda/aws/*), which keep state in DynamoDB (dynalite), post through the
 * server's @connections endpoint, and invoke the deliver function through its Lambda Invoke
 * emulation. A stock @rails/actioncable consumer drives it. A broken bundle (missing dependency,
 * wrong format, no handler export) fails here.
 */

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'assets', 'lambda', 'local', 'cli', 'cdk-cable.mjs');
const HANDLERS = path.join(ROOT, 'assets', 'lambda', 'aws');
const SECRET = 'bundled-assets-secret';
// printf 'broadcast-cable' | openssl dgst -sha256 -hmac 'bundled-assets-secret'
const BROADCAST_KEY = '15ac510ce4697d561d7f890c19e0aa619ecb2031f52728a248e2e77b031e97e8';

let dynamo: TestDynamo;
let tables: { connectionsTable: string; subscriptionsTable: string };
let child: ChildProcess;
let url: string;
let output = '';
let restoreConsumer: () => void;
const consumers: ActionCable.Consumer[] = [];

beforeAll(async () => {
  for (const file of [CLI, ...CABLE_FUNCTIONS.map((n) => path.join(HANDLERS, functionBundleName(n), FUNCTION_BUNDLE_FILE))]) {
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run "npx projen bundle" (npx projen test does it first)`);
  }
  dynamo = await startDynalite();
  tables = await dynamo.createTables('bundled');
  child = spawn(process.execPath, [
    CLI, 'dev', '--port=0', `--secret=${SECRET}`, '--log_level=warn',
    `--lambda_assets=${HANDLERS}`,
    // Shards of 2 subscribers: a broadcast to 3 consumers goes through the fan-out bundle.
    '--broadcast_shard_size=2',
    `--dynamodb_endpoint=${dynamo.endpoint}`,
    `--connections_table=${tables.connectionsTable}`,
    `--subscriptions_table=${tables.subscriptionsTable}`,
  ], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' },
  });
  child.stdout!.on('data', (chunk: Buffer) => output += chunk.toString());
  child.stderr!.on('data', (chunk: Buffer) => output += chunk.toString());
  await eventually(() => {
    const match = /WebSocket: +(ws:\/\/\S+)/.exec(output);
    expect(match).not.toBeNull();
    url = match![1];
  }, 20_000);
  restoreConsumer = installNodeConsumer(WebSocket);
});

afterAll(async () => {
  consumers.forEach((each) => each.disconnect());
  restoreConsumer?.();
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await dynamo?.close();
});

/** A table's rows, less the pinger's lease and claims (their own partition of the subscriptions table). */
async function rows(table: string): Promise<Record<string, unknown>[]> {
  return (await dynamo.scanAll(table)).filter((row) => row[SUBSCRIPTIONS_TABLE.partitionKey] !== PINGER_STATE.stream);
}

function consumer(): ActionCable.Consumer {
  const created = ActionCable.createConsumer(url);
  consumers.push(created);
  return created;
}

function subscribe(target: ActionCable.Consumer, stream: string, key = SECRET, received: unknown[] = []): Promise<'connected' | 'rejected'> {
  return new Promise((resolve) => {
    target.subscriptions.create({ channel: 'Turbo::StreamsChannel', signed_stream_name: signStream(stream, key) }, {
      connected: () => resolve('connected'),
      rejected: () => resolve('rejected'),
      received: (data: unknown) => received.push(data),
    });
  });
}

describe('the shipped bundles behind the shipped CLI', () => {
  test('bundles: a stock consumer is welcomed, confirmed, stored in DynamoDB, and receives what @connections posts', async () => {
    const cable = consumer();
    const received: unknown[] = [];
    expect(await subscribe(cable, 'messages:bundled', SECRET, received)).toBe('connected');

    const [connection] = await rows(tables.connectionsTable);
    expect(connection).toMatchObject({ subprotocol: 'actioncable-v1-json', expiresAt: expect.any(Number) });
    const subscriptions = await rows(tables.subscriptionsTable);
    expect(subscriptions).toEqual([expect.objectContaining({ stream: 'messages:bundled', connectionId: connection.connectionId })]);

    const identifier = subscriptions[0].identifier as string;
    const client = managementClient({ callbackUrl: url.replace(/^ws/, 'http') });
    await client.send(new PostToConnectionCommand({
      ConnectionId: connection.connectionId as string,
      Data: Buffer.from(JSON.stringify({ identifier, message: '<turbo-stream action="append"></turbo-stream>' })),
    }));
    await eventually(() => expect(received).toEqual(['<turbo-stream action="append"></turbo-stream>']));
    client.destroy();
  });

  test('bundles: POST /_broadcast runs the broadcast bundle; a large stream goes through the fan-out bundle', async () => {
    const inbox: unknown[][] = [[], [], []];
    for (const received of inbox) expect(await subscribe(consumer(), 'room:big', SECRET, received)).toBe('connected');
    const post = (key: string, message: string) => fetch(url.replace(/^ws/, 'http').replace(/\/cable$/, '/_broadcast'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Authorization': `Bearer ${key}` },
      body: JSON.stringify({ stream: 'room:big', data: JSON.stringify(message) }),
    });
    expect((await post('wrong', 'nope')).status).toBe(401);
    const accepted = await post(BROADCAST_KEY, 'hello from Rails');
    expect(accepted.status).toBe(201);
    expect(await accepted.json()).toMatchObject({ shards: 2 });
    await eventually(() => expect(inbox).toEqual([['hello from Rails'], ['hello from Rails'], ['hello from Rails']]));
  });

  test('bundles: a forged stream name is rejected and stores nothing', async () => {
    const before = (await rows(tables.subscriptionsTable)).length;
    expect(await subscribe(consumer(), 'messages:other', 'wrong-key')).toBe('rejected');
    expect(await rows(tables.subscriptionsTable)).toHaveLength(before);
  });

  test('bundles: a client without the actioncable-v1-json subprotocol is refused with 400', async () => {
    expect(await refusedStatus(url, ['graphql-ws'])).toBe(400);
  });

  test('bundles: closing the socket runs the disconnect bundle, which removes the rows', async () => {
    const client = await connectClient(url);
    const identifier = JSON.stringify({ channel: 'Turbo::StreamsChannel', signed_stream_name: signStream('messages:closing', SECRET) });
    client.send({ command: 'subscribe', identifier });
    await eventually(async () => expect((await rows(tables.subscriptionsTable)).map((r) => r.stream)).toContain('messages:closing'));
    await client.close();
    await eventually(async () => expect((await rows(tables.subscriptionsTable)).map((r) => r.stream)).not.toContain('messages:closing'));
  });
});
