import { CableConfigError } from './config-error';
import { parseBoolean, parseInteger, parseList } from './environment-values';

/**
 * The functions' environment: what the construct writes (`writeEnvironment`) and what the
 * bundled functions, the local server's `--lambda_assets` mode and the tests read back
 * (`readEnvironment`). Each variable name is spelled here and nowhere else; the names mirror
 * anycable-go's options with a `CABLE_` prefix. Unset and empty mean the same: the default
 * (src/contract/defaults.ts).
 */
export const ENVIRONMENT_VARIABLES = {
  connectionsTable: 'CABLE_CONNECTIONS_TABLE',
  subscriptionsTable: 'CABLE_SUBSCRIPTIONS_TABLE',
  callbackUrl: 'CABLE_CALLBACK_URL',
  apiId: 'CABLE_API_ID',
  deliverFunction: 'CABLE_DELIVER_FUNCTION',
  fanOutFunction: 'CABLE_FANOUT_FUNCTION',
  dynamodbEndpoint: 'CABLE_DYNAMODB_ENDPOINT',
  lambdaEndpoint: 'CABLE_LAMBDA_ENDPOINT',
  logLevel: 'CABLE_LOG_LEVEL',
  pingPeriodSeconds: 'CABLE_PING_PERIOD',
  ttlSeconds: 'CABLE_TTL_SECONDS',
  turboStreams: 'CABLE_TURBO_STREAMS',
  publicStreams: 'CABLE_PUBLIC_STREAMS',
  // Whispers on signed $pubsub streams, anycable-go's --streams_whisper (the message function).
  streamsWhisper: 'CABLE_STREAMS_WHISPER',
  // Presence on signed $pubsub streams, anycable-go's streams.presence, and its --presence_ttl (message and disconnect functions).
  streamsPresence: 'CABLE_STREAMS_PRESENCE',
  presenceTtlSeconds: 'CABLE_PRESENCE_TTL',
  allowedOrigins: 'CABLE_ALLOWED_ORIGINS',
  maxConnectionAgeSeconds: 'CABLE_MAX_CONNECTION_AGE',
  pingIntervalSeconds: 'CABLE_PING_INTERVAL',
  pingMinClientIntervalSeconds: 'CABLE_PING_MIN_CLIENT_INTERVAL',
  pingMaxClientIntervalSeconds: 'CABLE_PING_MAX_CLIENT_INTERVAL',
  pingMaxPerSecond: 'CABLE_PING_MAX_PER_SECOND',
  pingSegments: 'CABLE_PING_SEGMENTS',
  deliveryConcurrency: 'CABLE_FANOUT_CONCURRENCY',
  deliveryShardSize: 'CABLE_FANOUT_SHARD_SIZE',
  deliveryMaxAttempts: 'CABLE_FANOUT_MAX_ATTEMPTS',
  deliveryBaseDelayMs: 'CABLE_FANOUT_BASE_DELAY_MS',
  deliveryMaxDelayMs: 'CABLE_FANOUT_MAX_DELAY_MS',
  jwtParam: 'CABLE_JWT_PARAM',
  enforceJwt: 'CABLE_ENFORCE_JWT',
  rpcHeaders: 'CABLE_RPC_HEADERS',
  rpcCookies: 'CABLE_RPC_COOKIES',
  rpcHost: 'CABLE_RPC_HOST',
  rpcFunction: 'CABLE_RPC_FUNCTION',
  rpcPath: 'CABLE_RPC_PATH',
  rpcHttpHost: 'CABLE_RPC_HTTP_HOST',
  rpcTimeoutMs: 'CABLE_RPC_TIMEOUT',
  rpcMaxAttempts: 'CABLE_RPC_MAX_ATTEMPTS',
  maxSubscriptionsPerConnection: 'CABLE_MAX_SUBSCRIPTIONS_PER_CONNECTION',
  maxInvalidFrames: 'CABLE_MAX_INVALID_FRAMES',
  // Stream history for ext clients, anycable-go's --history_limit and --history_ttl (seconds).
  historyLimit: 'CABLE_HISTORY_LIMIT',
  historyTtlSeconds: 'CABLE_HISTORY_TTL',
  // Resumable sessions for ext clients, anycable-go's --sessions_ttl (seconds).
  sessionsTtlSeconds: 'CABLE_SESSIONS_TTL',
  // Origin verification: the header a fronting CloudFront distribution sends CABLE_ORIGIN_SECRET in.
  originHeader: 'CABLE_ORIGIN_HEADER',
  // The pinger's workers and lease (lambda/core/ping-workers.ts, ping-lease.ts).
  pingFunction: 'CABLE_PING_FUNCTION',
  pingWorkerPostsPerSecond: 'CABLE_PING_WORKER_RATE',
} as const;

/**
 * Secrets come as a plain value (`CABLE_<NAME>`: the local server and tests) or as a Secrets
 * Manager id (`CABLE_<NAME>_ARN`: AWS), read once per cold start.
 */
export const SECRET_VARIABLES = {
  secret: 'CABLE_SECRET',
  turboStreamsSecret: 'CABLE_TURBO_STREAMS_SECRET',
  streamsSecret: 'CABLE_STREAMS_SECRET',
  broadcastKey: 'CABLE_BROADCAST_KEY',
  httpRpcSecret: 'CABLE_HTTP_RPC_SECRET',
  jwtSecret: 'CABLE_JWT_SECRET',
  // Origin verification: what a fronting CloudFront distribution sends in CABLE_ORIGIN_HEADER.
  originSecret: 'CABLE_ORIGIN_SECRET',
} as const;

export type SecretName = keyof typeof SECRET_VARIABLES;

/** Where a secret's value comes from. */
export interface SecretSource {
  readonly value?: string;
  readonly arn?: string;
}

/** The app's AnyCable RPC: an HTTP(S) URL (anycable-go's `--rpc_host`) or a Lambda function. */
export type RpcTarget =
  | { readonly kind: 'http'; readonly url: string; readonly timeoutMs?: number; readonly maxAttempts?: number }
  | { readonly kind: 'lambda'; readonly functionName: string; readonly path?: string; readonly host?: string; readonly timeoutMs?: number; readonly maxAttempts?: number };

/** Keepalive settings (anycable-go's `--ping_interval`; `?pi=` is clamped to the client bounds). */
export interface PingEnvironment {
  /** 0 turns pings off, as anycable-go's `--ping_interval=0` does. */
  readonly intervalSeconds?: number;
  readonly minClientIntervalSeconds?: number;
  readonly maxClientIntervalSeconds?: number;
  readonly maxPerSecond?: number;
  readonly segments?: number;
  /** Posts per second one pinger invocation sustains (sizes the workers); unset: from its memory. */
  readonly workerPostsPerSecond?: number;
}

/** How frames reach many connections: broadcasts, their shards and ping rounds. */
export interface DeliveryEnvironment {
  readonly concurrency?: number;
  readonly shardSize?: number;
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
}

/** What one connection may hold and send (the `message` function applies them). */
export interface LimitsEnvironment {
  readonly maxSubscriptionsPerConnection?: number;
  readonly maxInvalidFrames?: number;
}

/** Everything a function may be told; each function gets only the part it uses. */
export interface CableFunctionEnvironment {
  readonly connectionsTable?: string;
  readonly subscriptionsTable?: string;
  /** The stage's `@connections` endpoint (`https://<api>.execute-api.<region>.amazonaws.com/<stage>`). */
  readonly callbackUrl?: string;
  /** The WebSocket API's id: the `ApiId` dimension of the functions' metrics. */
  readonly apiId?: string;
  readonly deliverFunction?: string;
  readonly fanOutFunction?: string;
  /** The ping function `$connect` starts when no pinger holds the lease. */
  readonly pingFunction?: string;
  /** Endpoint overrides: dynalite, and the local server's Lambda Invoke emulation. */
  readonly dynamodbEndpoint?: string;
  readonly lambdaEndpoint?: string;
  readonly logLevel?: string;
  /** The pinger's schedule period: 60 in AWS (EventBridge's minute); shorter on the local server. */
  readonly pingPeriodSeconds?: number;
  readonly ttlSeconds?: number;
  readonly turboStreams?: boolean;
  readonly publicStreams?: boolean;
  /** Clients may whisper on signed `$pubsub` streams (the `message` function). */
  readonly streamsWhisper?: boolean;
  /** Clients may join presence on signed `$pubsub` streams (the `message` function). */
  readonly streamsPresence?: boolean;
  /** Seconds a gone connection's presence stays (the `disconnect` function). */
  readonly presenceTtlSeconds?: number;
  readonly allowedOrigins?: readonly string[];
  readonly maxConnectionAgeSeconds?: number;
  readonly ping?: PingEnvironment;
  readonly delivery?: DeliveryEnvironment;
  readonly jwtParam?: string;
  readonly enforceJwt?: boolean;
  readonly rpcHeaders?: readonly string[];
  readonly rpcCookies?: readonly string[];
  readonly rpc?: RpcTarget;
  readonly limits?: LimitsEnvironment;
  /** Stream history (the `message` and `broadcast` functions) and resumable sessions (`connect`, `disconnect`) for ext clients. */
  readonly history?: { readonly limit?: number; readonly ttlSeconds?: number; readonly sessionsTtlSeconds?: number };
  /** The header carrying the origin secret (`$connect` refuses requests without it); with `secrets.originSecret`. */
  readonly originHeader?: string;
  readonly secrets?: Readonly<Partial<Record<SecretName, SecretSource>>>;
}

type Value = string | number | boolean | readonly string[] | undefined;

/**
 * The variables of `env`, as strings; what is undefined is left out. Values may be CDK tokens
 * (strings that resolve at deploy time).
 */
export function writeEnvironment(env: CableFunctionEnvironment): Record<string, string> {
  const V = ENVIRONMENT_VARIABLES;
  const { ping = {}, delivery = {}, limits = {}, history = {}, rpc } = env;
  const pairs: Array<[string, Value]> = [
    [V.connectionsTable, env.connectionsTable],
    [V.subscriptionsTable, env.subscriptionsTable],
    [V.callbackUrl, env.callbackUrl],
    [V.apiId, env.apiId],
    [V.deliverFunction, env.deliverFunction],
    [V.fanOutFunction, env.fanOutFunction],
    [V.dynamodbEndpoint, env.dynamodbEndpoint],
    [V.lambdaEndpoint, env.lambdaEndpoint],
    [V.logLevel, env.logLevel],
    [V.pingPeriodSeconds, env.pingPeriodSeconds],
    [V.ttlSeconds, env.ttlSeconds],
    [V.turboStreams, env.turboStreams],
    [V.publicStreams, env.publicStreams],
    [V.streamsWhisper, env.streamsWhisper],
    [V.streamsPresence, env.streamsPresence],
    [V.presenceTtlSeconds, env.presenceTtlSeconds],
    [V.allowedOrigins, env.allowedOrigins],
    [V.maxConnectionAgeSeconds, env.maxConnectionAgeSeconds],
    [V.pingIntervalSeconds, ping.intervalSeconds],
    [V.pingMinClientIntervalSeconds, ping.minClientIntervalSeconds],
    [V.pingMaxClientIntervalSeconds, ping.maxClientIntervalSeconds],
    [V.pingMaxPerSecond, ping.maxPerSecond],
    [V.pingSegments, ping.segments],
    [V.pingWorkerPostsPerSecond, ping.workerPostsPerSecond],
    [V.pingFunction, env.pingFunction],
    [V.deliveryConcurrency, delivery.concurrency],
    [V.deliveryShardSize, delivery.shardSize],
    [V.deliveryMaxAttempts, delivery.maxAttempts],
    [V.deliveryBaseDelayMs, delivery.baseDelayMs],
    [V.deliveryMaxDelayMs, delivery.maxDelayMs],
    [V.jwtParam, env.jwtParam],
    [V.enforceJwt, env.enforceJwt],
    [V.rpcHeaders, env.rpcHeaders],
    [V.rpcCookies, env.rpcCookies],
    [V.rpcHost, rpc?.kind === 'http' ? rpc.url : undefined],
    [V.rpcFunction, rpc?.kind === 'lambda' ? rpc.functionName : undefined],
    [V.rpcPath, rpc?.kind === 'lambda' ? rpc.path : undefined],
    [V.rpcHttpHost, rpc?.kind === 'lambda' ? rpc.host : undefined],
    [V.rpcTimeoutMs, rpc?.timeoutMs],
    [V.rpcMaxAttempts, rpc?.maxAttempts],
    [V.maxSubscriptionsPerConnection, limits.maxSubscriptionsPerConnection],
    [V.maxInvalidFrames, limits.maxInvalidFrames],
    [V.historyLimit, history.limit],
    [V.historyTtlSeconds, history.ttlSeconds],
    [V.sessionsTtlSeconds, history.sessionsTtlSeconds],
    [V.originHeader, env.originHeader],
  ];
  for (const [name, source] of Object.entries(env.secrets ?? {}) as Array<[SecretName, SecretSource | undefined]>) {
    pairs.push([SECRET_VARIABLES[name], source?.value], [`${SECRET_VARIABLES[name]}_ARN`, source?.arn]);
  }
  const written: Record<string, string> = {};
  for (const [name, value] of pairs) {
    if (value === undefined) continue;
    written[name] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return written;
}

/** Every variable name the functions read (the local server clears them between servers). */
export function environmentVariableNames(): string[] {
  return [
    ...Object.values(ENVIRONMENT_VARIABLES),
    ...Object.values(SECRET_VARIABLES).flatMap((name) => [name, `${name}_ARN`]),
  ];
}

/** The environment `vars` describes; throws `CableConfigError` naming the variable that is malformed. */
export function readEnvironment(vars: Readonly<Record<string, string | undefined>>): CableFunctionEnvironment {
  const V = ENVIRONMENT_VARIABLES;
  const text = (name: string) => (vars[name] === '' ? undefined : vars[name]);
  const integer = (name: string) => parseInteger(name, vars[name]);
  const secrets = Object.fromEntries((Object.keys(SECRET_VARIABLES) as SecretName[]).map((name) => {
    const variable = SECRET_VARIABLES[name];
    return [name, { value: text(variable), arn: text(`${variable}_ARN`) }];
  })) as Record<SecretName, SecretSource>;
  return {
    connectionsTable: text(V.connectionsTable),
    subscriptionsTable: text(V.subscriptionsTable),
    callbackUrl: text(V.callbackUrl),
    apiId: text(V.apiId),
    deliverFunction: text(V.deliverFunction),
    fanOutFunction: text(V.fanOutFunction),
    pingFunction: text(V.pingFunction),
    dynamodbEndpoint: text(V.dynamodbEndpoint),
    lambdaEndpoint: text(V.lambdaEndpoint),
    logLevel: text(V.logLevel),
    pingPeriodSeconds: integer(V.pingPeriodSeconds),
    ttlSeconds: integer(V.ttlSeconds),
    turboStreams: parseBoolean(V.turboStreams, vars[V.turboStreams]),
    publicStreams: parseBoolean(V.publicStreams, vars[V.publicStreams]),
    streamsWhisper: parseBoolean(V.streamsWhisper, vars[V.streamsWhisper]),
    streamsPresence: parseBoolean(V.streamsPresence, vars[V.streamsPresence]),
    presenceTtlSeconds: integer(V.presenceTtlSeconds),
    allowedOrigins: parseList(vars[V.allowedOrigins]),
    maxConnectionAgeSeconds: integer(V.maxConnectionAgeSeconds),
    ping: {
      intervalSeconds: integer(V.pingIntervalSeconds),
      minClientIntervalSeconds: integer(V.pingMinClientIntervalSeconds),
      maxClientIntervalSeconds: integer(V.pingMaxClientIntervalSeconds),
      maxPerSecond: integer(V.pingMaxPerSecond),
      segments: integer(V.pingSegments),
      workerPostsPerSecond: integer(V.pingWorkerPostsPerSecond),
    },
    delivery: {
      concurrency: integer(V.deliveryConcurrency),
      shardSize: integer(V.deliveryShardSize),
      maxAttempts: integer(V.deliveryMaxAttempts),
      baseDelayMs: integer(V.deliveryBaseDelayMs),
      maxDelayMs: integer(V.deliveryMaxDelayMs),
    },
    jwtParam: text(V.jwtParam),
    enforceJwt: parseBoolean(V.enforceJwt, vars[V.enforceJwt]),
    rpcHeaders: parseList(vars[V.rpcHeaders]),
    rpcCookies: parseList(vars[V.rpcCookies]),
    rpc: readRpcTarget(vars),
    limits: {
      maxSubscriptionsPerConnection: integer(V.maxSubscriptionsPerConnection),
      maxInvalidFrames: integer(V.maxInvalidFrames),
    },
    history: { limit: integer(V.historyLimit), ttlSeconds: integer(V.historyTtlSeconds), sessionsTtlSeconds: integer(V.sessionsTtlSeconds) },
    originHeader: text(V.originHeader),
    secrets,
  };
}

function readRpcTarget(vars: Readonly<Record<string, string | undefined>>): RpcTarget | undefined {
  const V = ENVIRONMENT_VARIABLES;
  const timeoutMs = parseInteger(V.rpcTimeoutMs, vars[V.rpcTimeoutMs]);
  const maxAttempts = parseInteger(V.rpcMaxAttempts, vars[V.rpcMaxAttempts]);
  if (timeoutMs !== undefined && timeoutMs < 1) throw new CableConfigError(`${V.rpcTimeoutMs} must be at least 1 (milliseconds), got ${timeoutMs}`);
  if (maxAttempts !== undefined && maxAttempts < 1) throw new CableConfigError(`${V.rpcMaxAttempts} must be at least 1, got ${maxAttempts}`);
  const tuning = { ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(maxAttempts !== undefined ? { maxAttempts } : {}) };
  const url = vars[V.rpcHost];
  const functionName = vars[V.rpcFunction];
  if (url && functionName) throw new CableConfigError(`${V.rpcHost} and ${V.rpcFunction} are exclusive: the app is reached one way`);
  if (url) return { kind: 'http', url, ...tuning };
  if (!functionName) return undefined;
  const path = vars[V.rpcPath];
  const host = vars[V.rpcHttpHost];
  return { kind: 'lambda', functionName, ...(path ? { path } : {}), ...(host ? { host } : {}), ...tuning };
}
