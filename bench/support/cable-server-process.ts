/**
 * Child process: the cdk-cable local server (lambda/local), in-memory stores, on a free port of
 * 127.0.0.1, in a process of its own as puma is for Rails, so neither server shares an event loop
 * with the benchmark's clients.
 */
import { serveParent } from './child-process';
import { LogLevel } from '../../lambda/adapters/console-logger';
import { startLocalCableServer } from '../../lambda/local/local-cable-server';

export interface CableServerOptions {
  readonly secret: string;
  readonly logLevel: LogLevel;
}

export interface CableServerReady {
  readonly url: string;
  readonly broadcastUrl: string;
}

serveParent<CableServerOptions>(async (options) => {
  const server = await startLocalCableServer({ port: 0, settings: { secret: options.secret }, logLevel: options.logLevel });
  return {
    ready: { url: server.url, broadcastUrl: server.broadcastUrl } satisfies CableServerReady,
    methods: {},
    shutdown: () => server.close(),
  };
});
