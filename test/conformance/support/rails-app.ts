import { ChildProcess, spawn } from 'node:child_process';
import { AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';

/** The Rails ActionCable app in test/conformance/rails, booted on puma. */
export interface RailsApp {
  /** `ws://127.0.0.1:<port>/cable`: any origin. */
  readonly url: string;
  /** `ws://127.0.0.1:<port>/cable-restricted`: only `allowedOrigin`. */
  readonly restrictedUrl: string;
  readonly httpUrl: string;
  /** `ActionCable.server.broadcast(stream, message)` inside the app. */
  broadcast(stream: string, message: unknown): Promise<void>;
  /** Everything puma and ActionCable logged, for failure messages. */
  log(): string;
  close(): Promise<void>;
}

export interface RailsAppOptions {
  readonly turboStreamsSecret: string;
  readonly allowedOrigin: string;
}

const APP_DIR = join(__dirname, '..', 'rails');
const BOOT_TIMEOUT_MS = 20_000;

export async function startRailsApp(options: RailsAppOptions): Promise<RailsApp> {
  const port = await freePort();
  const httpUrl = `http://127.0.0.1:${port}`;
  const child = spawn('puma', ['--bind', `tcp://127.0.0.1:${port}`, '--threads', '1:4', 'config.ru'], {
    cwd: APP_DIR,
    env: {
      ...process.env,
      RACK_ENV: 'production',
      TURBO_STREAMS_SECRET: options.turboStreamsSecret,
      ALLOWED_ORIGIN: options.allowedOrigin,
      CABLE_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });

  try {
    await waitUntilUp(`${httpUrl}/up`, child, () => output);
  } catch (error) {
    await stop(child);
    throw error;
  }

  return {
    url: `ws://127.0.0.1:${port}/cable`,
    restrictedUrl: `ws://127.0.0.1:${port}/cable-restricted`,
    httpUrl,
    async broadcast(stream, message) {
      const response = await fetch(`${httpUrl}/broadcast`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ stream, message }),
      });
      if (response.status !== 202) throw new Error(`broadcast answered ${response.status}: ${await response.text()}`);
    },
    log: () => output,
    close: () => stop(child),
  };
}

async function waitUntilUp(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + BOOT_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`puma exited with ${child.exitCode}:\n${output()}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`puma did not answer ${url} within ${BOOT_TIMEOUT_MS} ms:\n${output()}`);
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

/** A port the OS just handed out; puma binds it right after. */
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
