import { randomBytes } from 'node:crypto';
import { runCheckCommand } from './check-command';
import { checkHelpText } from './check-options';
import { CliUsageError, helpText, parseCli } from './cli-options';
import { InspectableLocalCableServer, LocalCableServer, LocalCableServerOptions, startInspectableServer } from './local-cable-server';
import { ConsoleLogger } from '../adapters/console-logger';
import { CableConfig } from '../core/config';
import { CableConfigError } from '../core/errors';
import { ACTIONCABLE_EXT_SUBPROTOCOL, ACTIONCABLE_SUBPROTOCOL, MAX_MESSAGE_BYTES } from '../core/protocol';

/** Where the CLI writes, and what tells it to stop; `processIo()` in the shipped CLI. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Resolves with the reason to stop (a signal name). */
  waitForStop(): Promise<string>;
  /** Called once the server listens. */
  onStarted?(server: LocalCableServer): void;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** `cdk-cable dev [options]`: resolves with the exit code once the server has stopped; `cdk-cable check <url>`: once the check has run. */
export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  let options: LocalCableServerOptions;
  let publicMode: boolean;
  let broadcastKeySource: string | undefined;
  try {
    const command = parseCli(argv, env);
    if (command.kind === 'help') {
      io.out(command.command === 'check' ? checkHelpText() : helpText());
      return EXIT_OK;
    }
    if (command.kind === 'check') return await runCheckCommand(command.options, io);
    ({ options, publicMode, broadcastKeySource } = command);
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error;
    io.err(`cdk-cable${error.command === 'check' ? ' check' : ''}: ${error.message}`);
    io.err(`Run "cdk-cable ${error.command} --help" to list the options.`);
    return EXIT_USAGE;
  }

  const settings = options.settings ?? {};
  const generatedSecret = settings.secret || settings.streamsSecret || settings.turboStreamsSecret ? undefined : randomBytes(32).toString('hex');
  let server: InspectableLocalCableServer;
  try {
    server = await startInspectableServer(
      { ...options, settings: { ...settings, secret: settings.secret ?? generatedSecret } },
      { logger: new ConsoleLogger(options.logLevel, (line) => io.out(line)) },
    );
  } catch (error) {
    return startFailure(io, options, error);
  }

  const keySource = broadcastKeySource ? `from ${broadcastKeySource}` : `derived from ${generatedSecret ? 'the session secret below' : 'the secret'}`;
  io.out(banner(server, options, server.runtime.config, publicMode, keySource));
  if (generatedSecret) io.err(secretWarning(generatedSecret));
  io.onStarted?.(server);

  const reason = await io.waitForStop();
  io.out(`${reason}: closing connections (1001 Going away)...`);
  await server.close();
  io.out('cdk-cable: stopped');
  return EXIT_OK;
}

/** The real process: stdout, stderr, SIGINT and SIGTERM (a second one exits at once). */
export function processIo(): CliIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    waitForStop: () => new Promise((resolve) => {
      const stop = (signal: NodeJS.Signals) => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        const force = () => process.exit(130);
        process.once('SIGINT', force);
        process.once('SIGTERM', force);
        resolve(signal);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    }),
  };
}

function startFailure(io: CliIo, options: LocalCableServerOptions, error: unknown): number {
  if (error instanceof CableConfigError) {
    io.err(`cdk-cable: ${error.message}`);
    return EXIT_USAGE;
  }
  const code = (error as { code?: unknown }).code;
  if (code === 'EADDRINUSE') {
    io.err(`cdk-cable: ${options.host}:${options.port} is already in use: stop what listens there or pick another --port`);
  } else if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    io.err(`cdk-cable: cannot listen on --host ${options.host}: no such local address`);
  } else {
    io.err(`cdk-cable: could not start: ${error instanceof Error ? error.message : String(error)}`);
  }
  return EXIT_FAILURE;
}

function banner(server: LocalCableServer, options: LocalCableServerOptions, config: CableConfig, publicMode: boolean, keySource: string): string {
  const store = options.store?.kind === 'dynamodb'
    ? `DynamoDB at ${options.store.endpoint} (tables ${options.store.connectionsTable}, ${options.store.subscriptionsTable})`
    : 'in memory (gone when the server stops)';
  const turbo = !config.turboStreams ? 'off'
    : config.turboStreamsSecret ? 'on (Turbo::StreamsChannel, signed_stream_name)' : 'on, but no secret: every signed_stream_name is rejected';
  const pubsub = [
    config.streamsSecret ? 'signed streams on' : 'signed streams off (no --streams_secret or --secret)',
    config.publicStreams ? `public streams ON${publicMode ? ' (--public)' : ''}` : 'public streams off',
    config.streamsWhisper ? 'whispers on signed streams ON' : 'whispers on public streams only',
  ].join(', ');
  const rows: [string, string][] = [
    ['WebSocket', `${server.url} (subprotocol ${ACTIONCABLE_SUBPROTOCOL} or ${ACTIONCABLE_EXT_SUBPROTOCOL})`],
    ['@connections', `${server.callbackUrl}/@connections/{connectionId}`],
    ['Turbo Streams', turbo],
    ['$pubsub', pubsub],
    ['Broadcast', `POST ${server.broadcastUrl}, ${broadcastAuth(config, publicMode, keySource)}`],
    ['App channels', options.rpc ? `AnyCable RPC at ${options.rpc.url}${config.rpc.secret ? ', Authorization: Bearer <key>' : ', no key'}` : 'off (no --rpc_host): channels other than Turbo and $pubsub are rejected'],
    ['JWT', config.jwt ? `on (?${config.jwt.param}=, X-${config.jwt.param.toUpperCase()}, anycable-token.<token>)${config.jwt.enforce ? ', required' : ''}` : 'off (no --jwt_secret or --secret)'],
    ['Origins', config.allowedOrigins ? config.allowedOrigins.join(', ') : 'any'],
    ['History', config.history.limit > 0
      ? `${config.history.limit} messages per stream for ${config.history.ttlSeconds} s, for ${ACTIONCABLE_EXT_SUBPROTOCOL} clients (docs/reliable-streams.md)`
      : 'off (--history_limit=0): no stream positions'],
    ['Sessions', config.history.sessionsTtlSeconds > 0
      ? `a dropped ${ACTIONCABLE_EXT_SUBPROTOCOL} client restores its session with ?sid= for ${config.history.sessionsTtlSeconds} s`
      : 'not kept (--sessions_ttl=0)'],
    ['Store', store],
    ['Pings', pings(config, options)],
    ['Demo page', options.demo ? `${server.httpUrl}/` : 'off (--demo=false)'],
    ['Limits', `${MAX_MESSAGE_BYTES / 1024} KB messages, idle timeout ${seconds(options.idleTimeoutMs)}, max connection ${seconds(options.maxConnectionMs)}, `
      + `${config.limits.maxSubscriptionsPerConnection} subscriptions per connection, closed after ${config.limits.maxInvalidFrames} invalid frames (docs/local-server.md, "Limits")`],
  ];
  return [
    'cdk-cable dev: the cable handlers behind a local WebSocket endpoint with API Gateway semantics',
    ...rows.map(([name, value]) => `  ${`${name}:`.padEnd(15)}${value}`),
    'Stop with Ctrl+C.',
  ].join('\n');
}

/** How POST /_broadcast is authorized, and where its key came from (never the key itself). */
function broadcastAuth(config: CableConfig, publicMode: boolean, keySource: string): string {
  if (publicMode) return 'no key needed (--public)';
  if (!config.broadcastKey) return 'no key: every broadcast is refused (401); set --broadcast_key or --secret';
  return `Authorization: Bearer <key ${keySource}>`;
}

function secretWarning(secret: string): string {
  return [
    'warning: no --secret (CABLE_SECRET) given; signed stream names are checked against a random secret for this session:',
    `  ${secret}`,
    'Sign them with the same key in Rails, in config/environments/development.rb (not in config/initializers,',
    'where turbo-rails overwrites the key after initialization):',
    `  config.turbo.signed_stream_verifier_key = "${secret}"`,
    'and start with --secret=<key> (or CABLE_SECRET=<key>) to keep it across restarts.',
  ].join('\n');
}

/** The keepalive and lifecycle the pinger runs: what a client needs to set its stale threshold. */
function pings(config: CableConfig, options: LocalCableServerOptions): string {
  const { ping, maxConnectionAgeSeconds } = config;
  const every = ping.enabled
    ? `every ${ping.intervalSeconds} s (?pi= ${ping.minClientIntervalSeconds}..${ping.maxClientIntervalSeconds} s), at most ${ping.maxPerSecond}/s`
    : 'off (--ping_interval=0)';
  const late = options.maxConnectionMs !== undefined && maxConnectionAgeSeconds * 1000 >= options.maxConnectionMs ? ', after --max_connection: never sent' : '';
  return `${every}; server_restart disconnect at ${maxConnectionAgeSeconds} s${late}`;
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '-' : `${ms / 1000} s`;
}
