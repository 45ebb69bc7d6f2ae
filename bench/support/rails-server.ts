import { ChildProcess, spawn } from 'node:child_process';
import { AddressInfo, createServer } from 'node:net';
import * as path from 'node:path';

/**
 * The Rails ActionCable app of the conformance suite (test/conformance/rails: Rails 6.1's
 * ActionCable from Debian's packages, a Turbo::StreamsChannel as turbo-rails has it, and
 * `POST /broadcast` -> `ActionCable.server.broadcast`) on puma, tuned for load: more puma threads
 * for the upgrade burst and quiet logs. ActionCable's own worker pool stays at Rails' default (4).
 */
export interface RailsServer {
  readonly url: string;
  readonly broadcastUrl: string;
  readonly pid: number;
  /** What puma printed, for failure messages. */
  log(): string;
  close(): Promise<void>;
}

export interface RailsServerOptions {
  readonly turboStreamsSecret: string;
  /** puma `--threads min:max`. */
  readonly threads: string;
  /** Soft limit on open files for puma (applied with `ulimit -Sn` before exec). */
  readonly openFiles: number;
  readonly bootTimeoutMs: number;
}

const APP_DIR = path.join(__dirname, '..', '..', 'test', 'conformance', 'rails');
const LOG_LIMIT = 64 * 1024;

export async function startRailsServer(options: RailsServerOptions): Promise<RailsServer> {
  const port = await freePort();
  const httpUrl = `http://127.0.0.1:${port}`;
  // `exec` so that the pid is puma's own and a signal reaches it.
  const child = spawn('sh', ['-c', `ulimit -Sn ${options.openFiles} && exec puma --bind tcp://127.0.0.1:${port} --threads ${options.threads} config.ru`], {
    cwd: APP_DIR,
    env: {
      ...process.env,
      RACK_ENV: 'production',
      TURBO_STREAMS_SECRET: options.turboStreamsSecret,
      CABLE_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-LOG_LIMIT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  try {
    await waitUntilUp(`${httpUrl}/up`, child, options.bootTimeoutMs, () => output);
  } catch (error) {
    await stop(child);
    throw error;
  }
  return {
    url: `ws://127.0.0.1:${port}/cable`,
    broadcastUrl: `${httpUrl}/broadcast`,
    pid: child.pid ?? 0,
    log: () => output,
    close: () => stop(child),
  };
}

async function waitUntilUp(url: string, child: ChildProcess, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`puma exited with ${child.exitCode}:\n${output()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`puma did not answer ${url} within ${timeoutMs} ms:\n${output()}`);
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
