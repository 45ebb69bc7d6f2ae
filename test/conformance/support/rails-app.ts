import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort, stopProcess, waitUntilUp } from '../../support/puma-process';

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
    await waitUntilUp(`${httpUrl}/up`, child, BOOT_TIMEOUT_MS, () => output);
  } catch (error) {
    await stopProcess(child);
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
    close: () => stopProcess(child),
  };
}
