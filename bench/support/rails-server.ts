import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { freePort, stopProcess, waitUntilUp } from '../../test/support/puma-process';

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
    await stopProcess(child);
    throw error;
  }
  return {
    url: `ws://127.0.0.1:${port}/cable`,
    broadcastUrl: `${httpUrl}/broadcast`,
    pid: child.pid ?? 0,
    log: () => output,
    close: () => stopProcess(child),
  };
}
