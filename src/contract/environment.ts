import { CableConfigError } from './config-error';
import { ENVIRONMENT_VARIABLES, SECRET_VARIABLES, SecretName } from './environment-names';
import { parseBoolean, parseInteger, parseList } from './environment-values';

// The variables' names (environment-names.ts), and how values are written and read back (here).
export { ENVIRONMENT_VARIABLES, SECRET_VARIABLES } from './environment-names';
export type { SecretName } from './environment-names';

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
