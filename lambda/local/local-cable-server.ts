import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { BroadcastEndpoint, inProcessBroadcasts } from './broadcast-endpoint';
import { AsyncInvoker, BundledHandlers } from './bundled-handlers';
import { LoadBundles, startBundled } from './bundled-mode';
import { ConnectionRegistry } from './connection-registry';
import { withDemoPage } from './demo/demo-routes';
import { LocalPingSchedule, localPingPeriodSeconds } from './local-ping-schedule';
import { buildLocalRuntime, LocalRuntime, LocalStoreOptions } from './local-runtime';
import { managementApi } from './management-api';
import { continueWhenRead } from './request-body';
import { RouteHandlers, WebSocketEndpoint } from './websocket-endpoint';
import { ConsoleLogger, LogLevel } from '../adapters/console-logger';
import { BROADCAST_PATH } from '../core/broadcast-http';
import { CableSettings } from '../core/config';
import { CableConfigError } from '../core/errors';
import { DEFAULT_PING_PERIOD_MS } from '../core/ping-schedule';
import { ConnectionStore, Logger, SubscriptionStore } from '../core/ports';
import { makeConnectHandler } from '../handlers/connect-handler';
import { makeDisconnectHandler } from '../handlers/disconnect-handler';
import { makeMessageHandler } from '../handlers/message-handler';
import { makePingHandler, ScheduledEvent } from '../handlers/ping-handler';

export interface LocalCableServerOptions {
  /** @default 8080 (0 picks a free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** The WebSocket path; plays the role of API Gateway's stage. @default '/cable' */
  readonly path?: string;
  /** @default - no secrets: signed streams are rejected */
  readonly settings?: CableSettings;
  /** API Gateway: 10 minutes without a frame either way. @default 600_000 */
  readonly idleTimeoutMs?: number;
  /** API Gateway: 2 hours. @default 7_200_000 */
  readonly maxConnectionMs?: number;
  /** @default { kind: 'memory' } */
  readonly store?: LocalStoreOptions;
  /** @default 'info' */
  readonly logLevel?: LogLevel;
  /**
   * Run the bundled Lambda functions from this directory (`assets/lambda/aws`: exactly what
   * AWS runs, configured through `process.env` as the construct configures them) instead of the
   * in-process handlers, `POST /_broadcast` included. Needs a DynamoDB store; one such server per process.
   * @default - the handlers of lambda/handlers/, in-process
   */
  readonly lambdaAssets?: string;
  /**
   * anycable-go's `--public` for broadcasting: `POST /_broadcast` needs no key (anycable-go's
   * public mode clears the broadcast key, `cli/options.go`).
   * @default false - the broadcast key (`settings.broadcastKey`, or derived from `settings.secret`) is required
   */
  readonly publicBroadcasts?: boolean;
  /**
   * Serve the demo page at `GET /`: a Turbo page subscribed to a signed demo stream, whose form
   * broadcasts through this server's `POST /_broadcast` (lambda/local/demo/, docs/local-server.md).
   * @default false (the CLI's `--demo` defaults to true)
   */
  readonly demo?: boolean;
  /**
   * The app's AnyCable RPC over HTTP (anycable-go's `--rpc_host`), e.g. anycable-rails'
   * `http://localhost:3000/_anycable`: connections are identified by its `connect`, and channels
   * other than the built-in ones run there. The key is `settings.httpRpcSecret`, or derived from
   * `settings.secret`.
   * @default - no RPC: only Turbo Streams and `$pubsub`
   */
  readonly rpc?: LocalRpcOptions;
}

/** How the local server reaches the app's RPC endpoints (anycable-go's `--rpc_host`, `--rpc_request_timeout`). */
export interface LocalRpcOptions {
  /** `http(s)://host[:port]/path`, the path where the app mounts RPC (anycable-rails: `/_anycable`). */
  readonly url: string;
  /** Per call, retries included. @default 3000 */
  readonly timeoutMs?: number;
  /** Attempts when nothing reached the app (refused, reset). @default 3 */
  readonly maxAttempts?: number;
}

export interface LocalCableServer {
  /** `ws://host:port/cable` */
  readonly url: string;
  /** `http://host:port` */
  readonly httpUrl: string;
  /** `http://host:port/cable`: the `endpoint` of an `ApiGatewayManagementApiClient`. */
  readonly callbackUrl: string;
  /** `http://host:port/_broadcast`: anycable-rails' `http_broadcast_url`. */
  readonly broadcastUrl: string;
  /** Closes every socket with 1001, waits for their `$disconnect`, then stops listening. */
  close(): Promise<void>;
}

/** Seams for tests and the CLI, kept out of the options: replace a store, or where logs go. */
export interface LocalCableServerOverrides {
  readonly connections?: ConnectionStore;
  readonly subscriptions?: SubscriptionStore;
  readonly logger?: Logger;
  /**
   * With `lambdaAssets`: loads the bundles from `dir`, given the environment this server computed
   * for them (its `@connections`, Lambda Invoke and DynamoDB endpoints, the settings), e.g. each
   * in a worker with its own environment (`loadBundledHandlersInWorkers`, test/iam/).
   * @default - imported into this process, `environment` assigned to `process.env`
   */
  readonly loadBundles?: LoadBundles;
}

/** The server with what tests inspect: the handlers' dependencies and the live connections. */
export interface InspectableLocalCableServer extends LocalCableServer {
  readonly runtime: LocalRuntime;
  readonly registry: ConnectionRegistry;
  /** The pinger's schedule, to pause and resume. */
  readonly pings: Pick<LocalPingSchedule, 'pause' | 'resume'>;
}

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PATH = '/cable';
export const DEFAULT_IDLE_TIMEOUT_MS = 600_000;
export const DEFAULT_MAX_CONNECTION_MS = 7_200_000;
/** setTimeout's limit. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Runs the Lambda handlers of lambda/handlers/ behind a real WebSocket endpoint that behaves like
 * API Gateway: `$connect` decides the upgrade, `@connections` answers 410 until it has returned,
 * 128 KB messages, idle and maximum-age closes with 1001, one `$disconnect` per connection; and
 * AnyCable's `POST /_broadcast` on the same port, so anycable-rails' HTTP broadcaster reaches it.
 * @example
 * const server = await startLocalCableServer({ port: 0, settings: { secret: 'dev' } });
 * // connect @rails/actioncable to server.url; post with ApiGatewayManagementApiClient({ endpoint: server.callbackUrl })
 * await server.close();
 */
export async function startLocalCableServer(options: LocalCableServerOptions = {}): Promise<LocalCableServer> {
  return startInspectableServer(options);
}

export async function startInspectableServer(
  options: LocalCableServerOptions = {},
  overrides: LocalCableServerOverrides = {},
): Promise<InspectableLocalCableServer> {
  const port = validatePort(options.port ?? DEFAULT_PORT);
  const host = options.host ?? DEFAULT_HOST;
  const path = validatePath(options.path ?? DEFAULT_PATH);
  const idleTimeoutMs = validateDuration('idleTimeoutMs', options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
  const maxConnectionMs = validateDuration('maxConnectionMs', options.maxConnectionMs ?? DEFAULT_MAX_CONNECTION_MS);
  const store = validateStore(options.store ?? { kind: 'memory' });
  const logger = overrides.logger ?? new ConsoleLogger(options.logLevel ?? 'info');

  const registry = new ConnectionRegistry({ idleTimeoutMs, maxConnectionMs });
  const runtime = buildLocalRuntime({
    ...overrides,
    rpc: options.rpc,
    settings: options.settings ?? {},
    store,
    sockets: registry,
    stopped: () => registry.stopped,
    logger,
  });
  const deps = async () => runtime;
  // As in AWS: `$connect` restores sessions, `$disconnect` keeps them (the runtime's other users do not).
  const connectDeps = async () => ({ ...runtime, restore: { sessions: runtime.sessionStore, subscriptions: runtime.subscriptions } });
  const disconnectDeps = async () => ({
    ...runtime, sessions: { store: runtime.sessionStore, clock: runtime.clock, ttlSeconds: runtime.config.history.sessionsTtlSeconds },
  });

  const http = createServer();
  try {
    await listen(http, port, host);
  } catch (error) {
    runtime.dispose();
    throw error;
  }
  const authority = `${urlHost(host)}:${(http.address() as AddressInfo).port}`;
  let handlers: RouteHandlers = {
    connect: makeConnectHandler(connectDeps), message: makeMessageHandler(deps), disconnect: makeDisconnectHandler(disconnectDeps),
  };
  let serveBroadcast = inProcessBroadcasts({ ...runtime, publicBroadcasts: options.publicBroadcasts ?? false });
  let invoke: AsyncInvoker | undefined;
  let bundles: BundledHandlers | undefined;
  // The pinger, on a schedule as EventBridge runs it (see LocalPingSchedule for the period).
  const pings = new LocalPingSchedule(logger);
  let pingPeriodMs = DEFAULT_PING_PERIOD_MS;
  let ping: (event: ScheduledEvent) => Promise<unknown> = makePingHandler(async () => ({
    ...runtime, presenceExpiry: runtime.presence, clock: pings.clock, stopped: pings.stopped,
  }));
  if (options.lambdaAssets) {
    try {
      let bundledPing: typeof ping | undefined;
      ({ handlers, invoke, serveBroadcast, ping: bundledPing, bundles } = await startBundled({
        dir: options.lambdaAssets, store, options, callbackUrl: `http://${authority}${path}`, httpUrl: `http://${authority}`, logger, loadBundles: overrides.loadBundles,
      }));
      if (bundledPing) [ping, pingPeriodMs] = [bundledPing, localPingPeriodSeconds(runtime.config.ping) * 1000];
    } catch (error) {
      http.close();
      runtime.dispose();
      throw error;
    }
  }
  const endpoint = new WebSocketEndpoint({ path, domainName: authority, registry, logger, handlers });
  const broadcasts = new BroadcastEndpoint(serveBroadcast, logger, {
    broadcastKey: runtime.config.broadcastKey, publicBroadcasts: options.publicBroadcasts ?? false,
  });
  const api = managementApi({ path, registry, logger, invoke, broadcast: broadcasts.handle });
  const routes = !options.demo ? api : withDemoPage({
    config: runtime.config, cablePath: path, broadcastUrl: `http://${authority}${BROADCAST_PATH}`, publicBroadcasts: options.publicBroadcasts ?? false, logger,
  }, api);
  http.on('request', routes);
  // `Expect: 100-continue`: answered by the route once it reads the body (request-body.ts).
  http.on('checkContinue', continueWhenRead(routes));
  http.on('upgrade', endpoint.handleUpgrade);

  const url = `ws://${authority}${path}`;
  logger.info('local.listening', { url, store: store.kind });
  pings.start(ping, pingPeriodMs);
  let closing: Promise<void> | undefined;
  return {
    url,
    httpUrl: `http://${authority}`,
    callbackUrl: `http://${authority}${path}`,
    broadcastUrl: `http://${authority}${BROADCAST_PATH}`,
    runtime,
    registry,
    pings,
    close: () => closing ??= (async () => {
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      await pings.stop();
      await endpoint.stop();
      registry.stop();
      await broadcasts.stop();
      await runtime.shards.drain();
      await runtime.delivery.drain();
      await invoke?.drain();
      await bundles?.close?.();
      http.closeAllConnections();
      await closed;
      runtime.dispose();
      logger.info('local.stopped', { url });
    })(),
  };
}

function listen(http: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
}

/** How to reach `host` from this machine, bracketed when IPv6. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function validatePort(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CableConfigError(`port must be an integer from 0 to 65535, got ${port}`);
  return port;
}

function validatePath(path: string): string {
  if (!/^\/[A-Za-z0-9_-]+$/.test(path)) {
    throw new CableConfigError(`path must be "/" and a stage name matching /^[A-Za-z0-9_-]+$/ (e.g. "/cable"), got "${path}"`);
  }
  return path;
}

function validateDuration(name: string, ms: number): number {
  if (!Number.isInteger(ms) || ms < 1 || ms > MAX_TIMER_MS) throw new CableConfigError(`${name} must be an integer from 1 to ${MAX_TIMER_MS} (ms), got ${ms}`);
  return ms;
}

function validateStore(store: LocalStoreOptions): LocalStoreOptions {
  if (store.kind === 'memory') return store;
  if (store.kind !== 'dynamodb') throw new CableConfigError(`store.kind must be "memory" or "dynamodb", got "${(store as { kind: unknown }).kind}"`);
  for (const name of ['endpoint', 'connectionsTable', 'subscriptionsTable'] as const) {
    if (!store[name]) throw new CableConfigError(`store.${name} must be set when store.kind is "dynamodb"`);
  }
  return store;
}
