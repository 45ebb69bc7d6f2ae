import { CableSettings } from '../core/config';
import { CableConfigError } from '../core/errors';

/**
 * The environment the construct sets on every function (names mirror anycable-go's options
 * with a `CABLE_` prefix). Secrets come as Secrets Manager ids (`*_ARN`) in AWS, or as plain
 * values for the local server and tests.
 */
export interface CableEnvironment {
  readonly connectionsTable?: string;
  readonly subscriptionsTable?: string;
  readonly callbackUrl?: string;
  readonly deliverFunction?: string;
  readonly fanOutFunction?: string;
  /** Endpoint overrides: dynalite, and the local server's Lambda invoke emulation, in tests. */
  readonly dynamodbEndpoint?: string;
  readonly lambdaEndpoint?: string;
  readonly logLevel?: string;
  /** The pinger's schedule period in seconds (CABLE_PING_PERIOD): 60, EventBridge's once a minute; shorter locally. */
  readonly pingPeriodSeconds?: number;
  /** The app's AnyCable RPC: an HTTP(S) URL (CABLE_RPC_HOST, anycable-go's `--rpc_host`) or a Lambda function (CABLE_RPC_FUNCTION). */
  readonly rpc?: RpcTarget;
  readonly secrets: Readonly<Record<SecretName, { value?: string; arn?: string }>>;
  readonly settings: Omit<CableSettings, SecretName>;
}

export type SecretName = 'secret' | 'turboStreamsSecret' | 'streamsSecret' | 'broadcastKey' | 'httpRpcSecret' | 'jwtSecret';

export type RpcTarget =
  | { readonly kind: 'http'; readonly url: string; readonly timeoutMs?: number; readonly maxAttempts?: number }
  | { readonly kind: 'lambda'; readonly functionName: string; readonly path?: string; readonly host?: string; readonly timeoutMs?: number; readonly maxAttempts?: number };

export function readEnvironment(env: NodeJS.ProcessEnv): CableEnvironment {
  return {
    connectionsTable: env.CABLE_CONNECTIONS_TABLE,
    subscriptionsTable: env.CABLE_SUBSCRIPTIONS_TABLE,
    callbackUrl: env.CABLE_CALLBACK_URL,
    deliverFunction: env.CABLE_DELIVER_FUNCTION,
    fanOutFunction: env.CABLE_FANOUT_FUNCTION,
    dynamodbEndpoint: env.CABLE_DYNAMODB_ENDPOINT,
    lambdaEndpoint: env.CABLE_LAMBDA_ENDPOINT,
    logLevel: env.CABLE_LOG_LEVEL,
    pingPeriodSeconds: parseInteger('CABLE_PING_PERIOD', env.CABLE_PING_PERIOD),
    rpc: readRpcTarget(env),
    secrets: {
      secret: { value: env.CABLE_SECRET, arn: env.CABLE_SECRET_ARN },
      turboStreamsSecret: { value: env.CABLE_TURBO_STREAMS_SECRET, arn: env.CABLE_TURBO_STREAMS_SECRET_ARN },
      streamsSecret: { value: env.CABLE_STREAMS_SECRET, arn: env.CABLE_STREAMS_SECRET_ARN },
      broadcastKey: { value: env.CABLE_BROADCAST_KEY, arn: env.CABLE_BROADCAST_KEY_ARN },
      httpRpcSecret: { value: env.CABLE_HTTP_RPC_SECRET, arn: env.CABLE_HTTP_RPC_SECRET_ARN },
      jwtSecret: { value: env.CABLE_JWT_SECRET, arn: env.CABLE_JWT_SECRET_ARN },
    },
    settings: {
      turboStreams: parseBoolean('CABLE_TURBO_STREAMS', env.CABLE_TURBO_STREAMS),
      publicStreams: parseBoolean('CABLE_PUBLIC_STREAMS', env.CABLE_PUBLIC_STREAMS),
      allowedOrigins: parseList(env.CABLE_ALLOWED_ORIGINS),
      ttlSeconds: parseInteger('CABLE_TTL_SECONDS', env.CABLE_TTL_SECONDS),
      delivery: {
        concurrency: parseInteger('CABLE_FANOUT_CONCURRENCY', env.CABLE_FANOUT_CONCURRENCY),
        shardSize: parseInteger('CABLE_FANOUT_SHARD_SIZE', env.CABLE_FANOUT_SHARD_SIZE),
        maxAttempts: parseInteger('CABLE_FANOUT_MAX_ATTEMPTS', env.CABLE_FANOUT_MAX_ATTEMPTS),
        baseDelayMs: parseInteger('CABLE_FANOUT_BASE_DELAY_MS', env.CABLE_FANOUT_BASE_DELAY_MS),
        maxDelayMs: parseInteger('CABLE_FANOUT_MAX_DELAY_MS', env.CABLE_FANOUT_MAX_DELAY_MS),
      },
      // anycable-go's --ping_interval (0: no pings); the rest bound ?pi= and pace the pinger.
      ping: {
        intervalSeconds: parseInteger('CABLE_PING_INTERVAL', env.CABLE_PING_INTERVAL),
        minClientIntervalSeconds: parseInteger('CABLE_PING_MIN_CLIENT_INTERVAL', env.CABLE_PING_MIN_CLIENT_INTERVAL),
        maxClientIntervalSeconds: parseInteger('CABLE_PING_MAX_CLIENT_INTERVAL', env.CABLE_PING_MAX_CLIENT_INTERVAL),
        maxPerSecond: parseInteger('CABLE_PING_MAX_PER_SECOND', env.CABLE_PING_MAX_PER_SECOND),
        segments: parseInteger('CABLE_PING_SEGMENTS', env.CABLE_PING_SEGMENTS),
      },
      maxConnectionAgeSeconds: parseInteger('CABLE_MAX_CONNECTION_AGE', env.CABLE_MAX_CONNECTION_AGE),
      jwtParam: env.CABLE_JWT_PARAM || undefined,
      enforceJwt: parseBoolean('CABLE_ENFORCE_JWT', env.CABLE_ENFORCE_JWT),
      rpcHeaders: parseList(env.CABLE_RPC_HEADERS),
      rpcCookies: parseList(env.CABLE_RPC_COOKIES),
    },
  };
}

function readRpcTarget(env: NodeJS.ProcessEnv): RpcTarget | undefined {
  const timeoutMs = parseInteger('CABLE_RPC_TIMEOUT', env.CABLE_RPC_TIMEOUT);
  const maxAttempts = parseInteger('CABLE_RPC_MAX_ATTEMPTS', env.CABLE_RPC_MAX_ATTEMPTS);
  if (timeoutMs !== undefined && timeoutMs < 1) throw new CableConfigError(`CABLE_RPC_TIMEOUT must be at least 1 (milliseconds), got ${timeoutMs}`);
  if (maxAttempts !== undefined && maxAttempts < 1) throw new CableConfigError(`CABLE_RPC_MAX_ATTEMPTS must be at least 1, got ${maxAttempts}`);
  const tuning = { ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(maxAttempts !== undefined ? { maxAttempts } : {}) };
  if (env.CABLE_RPC_HOST && env.CABLE_RPC_FUNCTION) throw new CableConfigError('CABLE_RPC_HOST and CABLE_RPC_FUNCTION are exclusive: the app is reached one way');
  if (env.CABLE_RPC_HOST) return { kind: 'http', url: env.CABLE_RPC_HOST, ...tuning };
  if (env.CABLE_RPC_FUNCTION) {
    return {
      kind: 'lambda',
      functionName: env.CABLE_RPC_FUNCTION,
      ...(env.CABLE_RPC_PATH ? { path: env.CABLE_RPC_PATH } : {}),
      ...(env.CABLE_RPC_HTTP_HOST ? { host: env.CABLE_RPC_HTTP_HOST } : {}),
      ...tuning,
    };
  }
  return undefined;
}

export function required(name: string, value: string | undefined): string {
  if (!value) throw new CableConfigError(`${name} must be set`);
  return value;
}

export function parseBoolean(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new CableConfigError(`${name} must be true or false, got "${value}"`);
}

export function parseInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new CableConfigError(`${name} must be an integer, got "${value}"`);
  return parsed;
}

export function parseList(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value.split(',').map((v) => v.trim()).filter((v) => v.length > 0);
}
