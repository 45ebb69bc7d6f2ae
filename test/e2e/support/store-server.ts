import * as path from 'node:path';
import { InspectableLocalCableServer, LocalCableServerOptions } from '../../../lambda/local/local-cable-server';
import { loadBundledHandlersInWorkers } from '../../../lambda/local/worker-bundled-handlers';
import { FUNCTIONS_DIR } from '../../../src/contract/functions';
import { TestDynamo } from '../../support/dynalite';
import { startTestServer } from '../../support/local-server';

/** Where an e2e test runs the local server: in-process on either store, or the bundled functions on dynalite. */
export type E2eStore = 'memory' | 'dynalite' | 'bundled functions on dynalite';

/** The bundled functions (`npx projen bundle`). */
const ASSETS = path.join(__dirname, '..', '..', '..', 'assets', FUNCTIONS_DIR);

/**
 * A local server on `store` (fresh tables named after `tablePrefix`), public streams on and
 * `secret` set, `options` over that; `closeServers()` closes it.
 */
export async function startStoreServer(
  dynamo: TestDynamo,
  store: E2eStore,
  tablePrefix: string,
  secret: string,
  options: Partial<LocalCableServerOptions> = {},
): Promise<InspectableLocalCableServer> {
  const tables = store === 'memory' ? undefined : await dynamo.createTables(store === 'dynalite' ? tablePrefix : `${tablePrefix}-bundled`);
  return startTestServer({
    ...(tables ? { store: { kind: 'dynamodb', endpoint: dynamo.endpoint, ...tables } } : {}),
    ...(store === 'bundled functions on dynalite' ? { lambdaAssets: ASSETS } : {}),
    ...options,
    settings: { secret, publicStreams: true, ...options.settings },
  }, {
    // As test/jest.global-setup.ts quiets the SDK's Node.js 22 notice in this process.
    loadBundles: (dir, environment) => loadBundledHandlersInWorkers(dir, () => ({ ...environment, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' })),
  });
}

/** Polls `check` every 50 ms until it holds; fails after `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
