import { ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';

/**
 * The services a benchmark talks to (the DynamoDB stand-in, the fake `@connections` endpoint, a
 * cable server) run in their own Node processes, as they run on other machines in AWS: their CPU
 * work never stalls the event loop being measured. Parent and child talk over the IPC channel;
 * a child exits by itself when its parent goes away.
 */

type Message =
  | { readonly kind: 'ready'; readonly value: unknown }
  | { readonly kind: 'failed'; readonly error: string }
  | { readonly kind: 'reply'; readonly id: number; readonly value?: unknown; readonly error?: string };

export interface ServiceProcess<Ready> {
  /** What the child reported once it was listening (ports, URLs). */
  readonly ready: Ready;
  /** Calls one of the child's methods and resolves with what it returned. */
  call<T = unknown>(method: string, payload?: unknown, timeoutMs?: number): Promise<T>;
  /** Asks the child to stop, then kills it if it has not exited within 5 s. */
  close(): Promise<void>;
}

const ROOT = path.join(__dirname, '..', '..');
const CALL_TIMEOUT_MS = 60_000;

/** Forks `bench/support/<module>.ts` under ts-node and waits (at most `timeoutMs`) for it to be ready. */
export async function startServiceProcess<Ready>(module: string, options: unknown, timeoutMs = 30_000): Promise<ServiceProcess<Ready>> {
  const child = fork(path.join(__dirname, `${module}.ts`), [JSON.stringify(options)], {
    cwd: ROOT,
    execArgv: ['-r', 'ts-node/register/transpile-only'],
    env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, 'bench', 'tsconfig.json') },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${module} did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: Message) => {
      if (message.kind !== 'ready' && message.kind !== 'failed') return;
      clearTimeout(timer);
      child.off('message', onMessage);
      if (message.kind === 'ready') resolve(message.value as Ready);
      else reject(new Error(`${module} failed to start: ${message.error}`));
    };
    child.on('message', onMessage);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${module} exited with ${code} before it was ready`));
    });
  });

  let nextId = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  child.on('message', (message: Message) => {
    if (message.kind !== 'reply') return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) waiter?.reject(new Error(`${module}: ${message.error}`));
    else waiter?.resolve(message.value);
  });
  child.on('exit', () => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${module} exited`));
    pending.clear();
  });

  return {
    ready,
    call: <T>(method: string, payload?: unknown, callTimeoutMs = CALL_TIMEOUT_MS) => new Promise<T>((resolve, reject) => {
      const id = ++nextId;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${module}.${method} did not answer within ${callTimeoutMs} ms`));
      }, callTimeoutMs);
      pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      child.send({ id, method, payload });
    }),
    close: () => stopChild(child),
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    if (child.connected) child.send({ id: 0, method: 'stop' });
    else child.kill('SIGTERM');
  });
}

export type ServiceMethods = Record<string, (payload: unknown) => unknown>;

/**
 * The child side: reports `start()`'s value as ready, then answers the parent's calls. `stop`
 * (and the parent going away) runs `shutdown` and exits.
 */
export interface Service {
  readonly ready: unknown;
  readonly methods: ServiceMethods;
  shutdown(): Promise<void>;
}

export function serveParent<Options>(start: (options: Options) => Promise<Service>): void {
  const send = (message: Message) => process.send?.(message);
  const options = JSON.parse(process.argv[2] ?? '{}') as Options;
  start(options).then(({ ready, methods, shutdown }) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      // Bounded: a service that cannot close cleanly still goes.
      setTimeout(() => process.exit(0), 3_000).unref();
      void shutdown().finally(() => process.exit(0));
    };
    process.on('disconnect', stop);
    process.on('message', (message: { id: number; method: string; payload?: unknown }) => {
      if (message.method === 'stop') return stop();
      const method = methods[message.method];
      if (!method) return send({ kind: 'reply', id: message.id, error: `no method ${message.method}` });
      Promise.resolve()
        .then(() => method(message.payload))
        .then(
          (value) => send({ kind: 'reply', id: message.id, value }),
          (error: unknown) => send({ kind: 'reply', id: message.id, error: String((error as Error)?.stack ?? error) }),
        );
    });
    send({ kind: 'ready', value: ready });
  }, (error: unknown) => {
    send({ kind: 'failed', error: String((error as Error)?.stack ?? error) });
    process.exit(1);
  });
}
