import * as fs from 'node:fs';
import * as path from 'node:path';
import { InspectableLocalCableServer } from '../../lambda/local/local-cable-server';
import { loadBundledHandlersInWorkers } from '../../lambda/local/worker-bundled-handlers';
import { CABLE_FUNCTIONS, FUNCTION_BUNDLE_FILE, FUNCTIONS_DIR, functionBundleName } from '../../src/contract/functions';
import { RunningServerlessApp } from '../support/anycable-app/serverless-app';
import { startDynalite, TestDynamo } from '../support/dynalite';
import { closeServers, connectClient, refusedStatus, SECRET, startTestServer, TestClient } from '../support/local-server';
import { bodyOf, callsTo, closeApps, freePort, startChatApp } from './support/rpc-e2e';

/*
 * Origin verification in the shipped connect bundle (assets/, `npx projen bundle`): the local
 * server runs the bundles, each in a worker with the environment the construct would give it
 * (CABLE_ORIGIN_HEADER, CABLE_ORIGIN_SECRET), and the chat app answers RPC connect.
 */

const ASSETS = path.join(__dirname, '..', '..', 'assets', FUNCTIONS_DIR);
const ORIGIN_SECRET = 'bundled-origin-secret';
const HEADER = 'X-Origin-Verify';

let dynamo: TestDynamo;
let server: InspectableLocalCableServer;
let app: RunningServerlessApp;
const clients: TestClient[] = [];

beforeAll(async () => {
  for (const name of CABLE_FUNCTIONS) {
    const file = path.join(ASSETS, functionBundleName(name), FUNCTION_BUNDLE_FILE);
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run "npx projen bundle"`);
  }
  dynamo = await startDynalite();
  const port = await freePort();
  app = await startChatApp(port);
  server = await startTestServer({
    port,
    rpc: { url: app.url },
    lambdaAssets: ASSETS,
    store: { kind: 'dynamodb', endpoint: dynamo.endpoint, ...await dynamo.createTables('origin') },
    settings: { secret: SECRET, originSecret: ORIGIN_SECRET },
  }, {
    // As test/jest.global-setup.ts quiets the SDK's Node.js 22 notice in this process.
    loadBundles: (dir, environment) => loadBundledHandlersInWorkers(dir, () => ({ ...environment, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' })),
  });
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await closeServers();
  await closeApps();
  await dynamo?.close();
});

async function welcomed(headers: Record<string, string>): Promise<void> {
  const client = await connectClient(`${server.url}?user=ann`, undefined, { headers });
  clients.push(client);
  await client.welcome();
}

function lastConnectUrl(): URL {
  const calls = callsTo(app, 'connect');
  return new URL(bodyOf(calls[calls.length - 1]).env.url);
}

describe('the bundled connect function with origin verification', () => {
  test('originSecret: a direct request and a wrong value get 403; the right value is welcomed with X-Forwarded-Host in env.url', async () => {
    expect(await refusedStatus(`${server.url}?user=ann`)).toBe(403);
    expect(await refusedStatus(`${server.url}?user=ann`, undefined, { headers: { [HEADER]: 'guessed' } })).toBe(403);
    expect(callsTo(app, 'connect')).toEqual([]);

    await welcomed({ [HEADER]: ORIGIN_SECRET, 'X-Forwarded-Host': 'app.example.com' });
    expect(lastConnectUrl().host).toBe('app.example.com');
    expect(bodyOf(callsTo(app, 'connect')[0]).env.headers).not.toHaveProperty('x-origin-verify');
  });
});
