import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BundledHandlers, bundleFiles } from './bundled-handlers';
import { CableFunctionName } from '../../src/contract/functions';
import { CableConfigError } from '../core/errors';

/**
 * Runs each bundle in its own worker thread with its own environment, as each Lambda function
 * has its own: the worker's `process.env` is a copy (`new Worker(..., { env })`), so a function
 * reads only the variables it is given and the SDK clients it builds use only its endpoints.
 * The in-process loader (`loadBundledHandlers`) shares one `process.env` between all seven.
 */

/** The bundles as handlers that post each event to their worker; `close()` ends the workers. */
export interface WorkerBundledHandlers extends BundledHandlers {
  close(): Promise<void>;
}

/** Imports the bundle in the worker, then answers `{ id, event }` with `{ id, result }` or `{ id, error }`. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const loaded = import(workerData.url).then((module) => {
  if (typeof module.handler !== 'function') throw new Error(workerData.url + ' exports no handler function');
  return module.handler;
});
loaded.then(() => parentPort.postMessage({ ready: true }), (error) => parentPort.postMessage({ ready: false, error: String(error && error.stack || error) }));
parentPort.on('message', ({ id, event }) => {
  loaded.then((handler) => handler(event)).then(
    (result) => parentPort.postMessage({ id, result }),
    (error) => parentPort.postMessage({ id, error: { name: error && error.name, message: String(error && error.message || error), stack: error && error.stack } }),
  );
});
`;

interface Reply {
  readonly id: number;
  readonly result?: unknown;
  readonly error?: { name?: string; message: string; stack?: string };
}

/** Starts one worker per bundle in `dir` (the pinger's only when present), each with `environmentOf(name)` as its whole environment. */
export async function loadBundledHandlersInWorkers(
  dir: string,
  environmentOf: (name: CableFunctionName) => Readonly<Record<string, string>>,
): Promise<WorkerBundledHandlers> {
  const workers: Worker[] = [];
  try {
    const entries = await Promise.all(bundleFiles(dir).map(async ({ name, file }) => {
      const worker = new Worker(WORKER_SOURCE, { eval: true, env: { ...environmentOf(name) }, workerData: { url: pathToFileURL(file).href } });
      workers.push(worker);
      return [name, await workerHandler(worker, file)] as const;
    }));
    const close = async () => {
      await Promise.all(workers.map((worker) => worker.terminate()));
    };
    return { ...(Object.fromEntries(entries) as unknown as BundledHandlers), close };
  } catch (error) {
    await Promise.all(workers.map((worker) => worker.terminate()));
    throw error;
  }
}

/** Waits for the worker to have imported its bundle; the handler posts each event and resolves with the reply. */
async function workerHandler(worker: Worker, file: string): Promise<(event: unknown) => Promise<never>> {
  const pending = new Map<number, { resolve: (value: never) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let failure: Error | undefined;
  await new Promise<void>((resolve, reject) => {
    worker.once('message', (message: { ready: boolean; error?: string }) => {
      if (message.ready) resolve();
      else reject(new CableConfigError(`lambdaAssets: ${file} did not load: ${message.error}`));
    });
    worker.once('error', reject);
  });
  worker.on('message', ({ id, result, error }: Reply) => {
    const call = pending.get(id);
    if (!call) return;
    pending.delete(id);
    if (!error) return call.resolve(result as never);
    call.reject(Object.assign(new Error(error.message), { name: error.name ?? 'Error', stack: error.stack }));
  });
  const fail = (error: Error) => {
    failure = error;
    for (const call of pending.values()) call.reject(error);
    pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the worker of ${file} exited (${code})`)));
  return (event) => {
    if (failure) return Promise.reject(failure);
    const id = nextId++;
    return new Promise<never>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, event });
    });
  };
}
