import { parseArgs } from 'node:util';
import { CheckCommandOptions, CheckUsageError, parseCheckCli } from './check-options';
import { CLI_OPTIONS } from './dev-options';
import { DEFAULT_HOST, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_CONNECTION_MS, DEFAULT_PATH, DEFAULT_PORT, LocalCableServerOptions } from './local-cable-server';
import { parseBoolean } from '../../src/contract/environment-values';
import { LogLevel } from '../adapters/console-logger';
import { API_GATEWAY_MAX_CONNECTION_SECONDS, MAX_PING_INTERVAL_SECONDS } from '../core/config';
import { CableConfigError } from '../core/errors';

const LOG_LEVELS: readonly string[] = ['info', 'warn', 'error', 'silent'];

/** A mistake in the command line or the environment: the CLI prints it and exits with 2. */
export class CliUsageError extends Error {
  /** The command whose --help lists the options. */
  constructor(message: string, readonly command: 'dev' | 'check' = 'dev') {
    super(message);
    this.name = 'CliUsageError';
  }
}

export type CliCommand =
  | { readonly kind: 'help'; readonly command?: 'check' }
  | { readonly kind: 'check'; readonly options: CheckCommandOptions }
  | {
    readonly kind: 'dev';
    readonly options: LocalCableServerOptions;
    readonly publicMode: boolean;
    /** Where the broadcast key came from (`--broadcast_key` or CABLE_BROADCAST_KEY); undefined: derived. */
    readonly broadcastKeySource?: string;
  };

export function envName(option: string): string {
  return `CABLE_${option.toUpperCase().replace(/-/g, '_')}`;
}

/** Flags win over CABLE_* variables, which win over defaults. Throws `CliUsageError`. */
export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv): CliCommand {
  const commandAt = argv.findIndex((arg) => !arg.startsWith('-'));
  if (argv[commandAt] === 'check') return parseCheck([...argv.slice(0, commandAt), ...argv.slice(commandAt + 1)]);
  const { values, positionals } = parseFlags(argv);
  if (values.help === true) return { kind: 'help' };
  if (positionals.length === 0) throw new CliUsageError('missing command: "dev" (the local server) or "check" (checks a running cable)');
  if (positionals[0] !== 'dev') throw new CliUsageError(`unknown command "${positionals[0]}": the commands are "dev" and "check"`);
  if (positionals.length > 1) throw new CliUsageError(`unexpected argument "${positionals[1]}"`);

  const read = (name: string): { value: string; source: string } | undefined => {
    const flag = values[name];
    if (typeof flag === 'string') return { value: flag, source: `--${name}` };
    if (values[`no-${name}`] === true) return { value: 'false', source: `--no-${name}` };
    if (flag === true) return { value: 'true', source: `--${name}` };
    const fromEnv = env[envName(name)];
    return fromEnv === undefined || fromEnv === '' ? undefined : { value: fromEnv, source: envName(name) };
  };
  const string = (name: string) => read(name)?.value;
  const flag = (name: string) => bool(read(name));

  const publicMode = flag('public') ?? false;
  const endpoint = string('dynamodb_endpoint');
  const connectionsTable = string('connections_table');
  const subscriptionsTable = string('subscriptions_table');
  if (endpoint && (!connectionsTable || !subscriptionsTable)) {
    throw new CliUsageError('--dynamodb_endpoint needs --connections_table and --subscriptions_table (or CABLE_CONNECTIONS_TABLE, CABLE_SUBSCRIPTIONS_TABLE)');
  }
  if (!endpoint && (connectionsTable || subscriptionsTable)) {
    throw new CliUsageError('--connections_table and --subscriptions_table need --dynamodb_endpoint (or CABLE_DYNAMODB_ENDPOINT)');
  }

  const broadcastKey = read('broadcast_key');
  return {
    kind: 'dev',
    publicMode,
    broadcastKeySource: broadcastKey?.source,
    options: {
      publicBroadcasts: publicMode,
      port: integer(read('port'), 0, 65535) ?? DEFAULT_PORT,
      host: string('host') ?? DEFAULT_HOST,
      path: path(read('path')) ?? DEFAULT_PATH,
      idleTimeoutMs: seconds(read('idle_timeout')) ?? DEFAULT_IDLE_TIMEOUT_MS,
      maxConnectionMs: seconds(read('max_connection')) ?? DEFAULT_MAX_CONNECTION_MS,
      logLevel: level(read('log_level')) ?? 'info',
      lambdaAssets: string('lambda_assets'),
      demo: flag('demo') ?? true,
      ...(string('rpc_host') ? { rpc: { url: rpcUrl(read('rpc_host')!), timeoutMs: integer(read('rpc_request_timeout'), 1, 60_000) } } : {}),
      store: endpoint && connectionsTable && subscriptionsTable
        ? { kind: 'dynamodb', endpoint, connectionsTable, subscriptionsTable }
        : { kind: 'memory' },
      settings: {
        secret: string('secret'),
        turboStreamsSecret: string('turbo_streams_secret'),
        streamsSecret: string('streams_secret'),
        broadcastKey: broadcastKey?.value,
        turboStreams: flag('turbo_streams') ?? true,
        publicStreams: publicMode || (flag('public_streams') ?? false),
        streamsWhisper: flag('streams_whisper') ?? false,
        streamsPresence: flag('streams_presence') ?? false,
        presenceTtlSeconds: integer(read('presence_ttl'), 0, 24 * 3600),
        allowedOrigins: origins(read('allowed_origins')),
        ping: {
          intervalSeconds: integer(read('ping_interval'), 0, MAX_PING_INTERVAL_SECONDS),
          minClientIntervalSeconds: integer(read('ping_min_client_interval'), 1, MAX_PING_INTERVAL_SECONDS),
          maxClientIntervalSeconds: integer(read('ping_max_client_interval'), 1, MAX_PING_INTERVAL_SECONDS),
          maxPerSecond: integer(read('ping_max_per_second'), 1, 1_000_000),
        },
        maxConnectionAgeSeconds: integer(read('max_connection_age'), 1, API_GATEWAY_MAX_CONNECTION_SECONDS),
        delivery: {
          concurrency: integer(read('broadcast_concurrency'), 1, 10_000),
          shardSize: integer(read('broadcast_shard_size'), 1, 1_000_000),
        },
        httpRpcSecret: string('http_rpc_secret'),
        rpcHeaders: list(read('headers')),
        rpcCookies: list(read('proxy-cookies')),
        jwtSecret: string('jwt_secret'),
        jwtParam: string('jwt_param'),
        enforceJwt: flag('enforce_jwt'),
        limits: {
          maxSubscriptionsPerConnection: integer(read('max_subscriptions_per_connection'), 1, 1_000_000),
          maxInvalidFrames: integer(read('max_invalid_frames'), 1, 1_000_000),
        },
        history: {
          limit: integer(read('history_limit'), 0, 1_000_000),
          ttlSeconds: integer(read('history_ttl'), 1, 7 * 24 * 3600),
          sessionsTtlSeconds: integer(read('sessions_ttl'), 0, 7 * 24 * 3600),
        },
      },
    },
  };
}

/** `cdk-cable check <url> [options]`: its own flags (check-options.ts), no CABLE_* variables. */
function parseCheck(argv: readonly string[]): CliCommand {
  try {
    const options = parseCheckCli(argv);
    return options ? { kind: 'check', options } : { kind: 'help', command: 'check' };
  } catch (error) {
    if (error instanceof CheckUsageError) throw new CliUsageError(error.message, 'check');
    throw error;
  }
}

export function helpText(): string {
  const rows = CLI_OPTIONS.map((o) => {
    const value = o.kind === 'boolean' ? '' : `=<${o.kind === 'seconds' ? 'seconds' : 'value'}>`;
    return [`  --${o.name}${value}`, `${o.description}`, `default: ${o.default}; env: ${envName(o.name)}`];
  });
  const width = Math.max(...rows.map(([flagText]) => flagText.length)) + 2;
  return [
    'Usage: cdk-cable dev [options]',
    '       cdk-cable check <ws(s)://…/cable> [options]   (checks a running cable: cdk-cable check --help)',
    '',
    'Runs the cdk-cable handlers locally behind a WebSocket endpoint that behaves like API Gateway:',
    'ws://<host>:<port><path> for clients, http://<host>:<port><path>/@connections/{id} for posts,',
    'http://<host>:<port>/_broadcast for AnyCable-style HTTP broadcasts (anycable-rails\' http_broadcast_url).',
    '',
    'Options (each also read from the environment variable shown; flags win):',
    ...rows.flatMap(([flagText, description, meta]) => [`${flagText.padEnd(width)}${description}`, `${''.padEnd(width)}(${meta})`]),
    `  --help, -h${''.padEnd(width - 12)}Print this help`,
  ].join('\n');
}

function parseFlags(argv: readonly string[]) {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  const booleans = new Set(CLI_OPTIONS.filter((o) => o.kind === 'boolean').map((o) => o.name));
  for (const o of CLI_OPTIONS) {
    options[o.name] = { type: o.kind === 'boolean' ? 'boolean' : 'string' };
    if (o.kind === 'boolean') options[`no-${o.name}`] = { type: 'boolean' };
  }
  try {
    return parseArgs({ args: normalizeBooleans(argv, booleans), options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CliUsageError(describeParseError(error));
  }
}

/** `--public_streams=false` (anycable-go's form) becomes `--no-public_streams`, which parseArgs understands. */
function normalizeBooleans(argv: readonly string[], booleans: Set<string>): string[] {
  const end = argv.indexOf('--');
  return argv.map((arg, index) => {
    const match = /^--([^=]+)=(.*)$/.exec(arg);
    if (!match || !booleans.has(match[1]) || (end >= 0 && index > end)) return arg;
    const value = bool({ value: match[2], source: `--${match[1]}` });
    return value ? `--${match[1]}` : `--no-${match[1]}`;
  });
}

function describeParseError(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const option = /'(-[^' ]+)/.exec(message ?? '')?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) return `${option} ${/argument missing/.test(message ?? '') ? 'needs a value' : 'takes no value'}`;
  return message ?? String(error);
}

type Raw = { value: string; source: string } | undefined;

function bool(raw: Raw): boolean | undefined {
  if (!raw) return undefined;
  try {
    return parseBoolean(raw.source, raw.value);
  } catch (error) {
    throw new CliUsageError(error instanceof CableConfigError ? error.message : String(error));
  }
}

function integer(raw: Raw, min: number, max: number): number | undefined {
  if (!raw) return undefined;
  const value = Number(raw.value);
  if (!/^\d+$/.test(raw.value.trim()) || value < min || value > max) {
    throw new CliUsageError(`${raw.source} must be an integer from ${min} to ${max}, got "${raw.value}"`);
  }
  return value;
}

function seconds(raw: Raw): number | undefined {
  const value = integer(raw, 1, 2_147_483);
  return value === undefined ? undefined : value * 1000;
}

function path(raw: Raw): string | undefined {
  if (raw && !/^\/[A-Za-z0-9_-]+$/.test(raw.value)) {
    throw new CliUsageError(`${raw.source} must be "/" and a stage name of letters, digits, "_" or "-" (e.g. /cable), got "${raw.value}"`);
  }
  return raw?.value;
}

function level(raw: Raw): LogLevel | undefined {
  if (raw && !LOG_LEVELS.includes(raw.value)) throw new CliUsageError(`${raw.source} must be one of ${LOG_LEVELS.join(', ')}, got "${raw.value}"`);
  return raw?.value as LogLevel | undefined;
}

/** Full origins as browsers send them: anycable-go's bare host names and wildcards would never match here. */
function list(raw: Raw): string[] | undefined {
  if (!raw) return undefined;
  const values = raw.value.split(',').map((v) => v.trim()).filter((v) => v.length > 0);
  return values.length > 0 ? values : undefined;
}

/** anycable-go takes HTTP RPC when the host has an http(s) scheme; anything else would be gRPC, which cdk-cable does not speak. */
function rpcUrl(raw: NonNullable<Raw>): string {
  if (!/^https?:\/\/[^/]+/i.test(raw.value)) {
    throw new CliUsageError(`${raw.source} must be an http:// or https:// URL such as http://localhost:3000/_anycable (cdk-cable speaks AnyCable's HTTP RPC, not gRPC), got "${raw.value}"`);
  }
  return raw.value;
}

function origins(raw: Raw): string[] | undefined {
  if (!raw) return undefined;
  const values = raw.value.split(',').map((v) => v.trim()).filter((v) => v.length > 0);
  for (const origin of values) {
    if (!/^[a-z][a-z0-9+.-]*:\/\/[^/]+$/i.test(origin)) {
      throw new CliUsageError(`${raw.source} takes full origins such as http://localhost:3000 (scheme and host, no path, no wildcard), got "${origin}"`);
    }
  }
  if (values.length === 0) throw new CliUsageError(`${raw.source} is empty: omit it to allow any origin`);
  return values;
}
