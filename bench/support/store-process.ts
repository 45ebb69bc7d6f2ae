/**
 * Child process: dynalite (an in-memory implementation of the DynamoDB API) on 127.0.0.1, counting
 * every request it answers by operation, so each design's store traffic is counted at the store
 * whatever client or retries it uses. Started by `startStoreProcess` (store.ts).
 */
import { IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { serveParent } from './child-process';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite');

export interface StoreReady {
  readonly endpoint: string;
}

export interface StoreStats {
  readonly total: number;
  readonly byOperation: Record<string, number>;
}

serveParent<Record<string, never>>(async () => {
  const server: Server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  let byOperation: Record<string, number> = {};
  server.on('request', (request: IncomingMessage) => {
    const target = String(request.headers['x-amz-target'] ?? 'unknown');
    const operation = target.slice(target.lastIndexOf('.') + 1);
    byOperation[operation] = (byOperation[operation] ?? 0) + 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ready: { endpoint: `http://127.0.0.1:${port}` } satisfies StoreReady,
    methods: {
      stats: (): StoreStats => ({ total: Object.values(byOperation).reduce((sum, n) => sum + n, 0), byOperation: { ...byOperation } }),
      reset: () => {
        byOperation = {};
      },
    },
    shutdown: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
});
