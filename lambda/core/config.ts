import { createHmac } from 'node:crypto';
import { CableConfigError } from './errors';
import { HistorySettings, resolveHistory } from './history-settings';
import { HEADER_NAME, OriginVerification } from './origin-verification';
import { DEFAULT_PING, PingSettings, resolvePing } from './ping-settings';
import {
  API_GATEWAY_MAX_CONNECTION_SECONDS, DEFAULT_DELIVERY, DEFAULT_DELIVERY_DEADLINE_MS, DEFAULT_JWT_PARAM, DEFAULT_LIMITS,
  DEFAULT_MAX_CONNECTION_AGE_SECONDS, DEFAULT_ORIGIN_HEADER, DEFAULT_PRESENCE_TTL_SECONDS,
  DEFAULT_RPC_HEADERS, DEFAULT_TTL_SECONDS, MAX_PING_INTERVAL_SECONDS,
} from '../../src/contract/defaults';

/**
 * Cable settings, named after anycable-go's options (`--secret`, `--turbo_streams_secret`,
 * `--streams_secret`, `--public_streams`) so one mental model serves both.
 * @see https://docs.anycable.io/anycable-go/configuration
 */
export interface CableConfig {
  /** Key for Turbo `signed_stream_name` (Turbo.signed_stream_verifier_key on the Rails side). */
  readonly turboStreamsSecret?: string;
  /** Key for `$pubsub` `signed_stream_name`. */
  readonly streamsSecret?: string;
  /** Whether `Turbo::StreamsChannel` is served. */
  readonly turboStreams: boolean;
  /** Whether `$pubsub` accepts an unsigned `stream_name`. */
  readonly publicStreams: boolean;
  /** Whether clients may whisper on signed `$pubsub` streams (anycable-go's `--streams_whisper`); public ones always may (whisper.ts). */
  readonly streamsWhisper: boolean;
  /** Whether clients may join presence on signed `$pubsub` streams (anycable-go's `streams.presence`); public ones always may (presence.ts). */
  readonly streamsPresence: boolean;
  /** Seconds a disconnected session's presence stays (anycable-go's `--presence_ttl`), so a reconnect does not flap join/leave. */
  readonly presenceTtlSeconds: number;
  /** Exact `Origin` values allowed to connect; undefined allows any. */
  readonly allowedOrigins?: readonly string[];
  /** How long rows live without being refreshed, in seconds. */
  readonly ttlSeconds: number;
  /** How long a connection may wait for its first frames (welcome) to be delivered, in ms. */
  readonly deliveryDeadlineMs: number;
  /** `Authorization: Bearer <key>` of the HTTP broadcast API; undefined refuses every broadcast. */
  readonly broadcastKey?: string;
  readonly delivery: DeliverySettings;
  readonly ping: PingSettings;
  /**
   * Age in seconds at which the pinger sends `{"type":"disconnect","reason":"server_restart",
   * "reconnect":true}` and closes the connection, so the client reconnects cleanly before API
   * Gateway's hard 2-hour cut (which the client sees as an abnormal close).
   */
  readonly maxConnectionAgeSeconds: number;
  /** AnyCable JWT identification; undefined when no JWT secret resolves (anycable-go: enabled by any secret). */
  readonly jwt?: JwtConfig;
  /** What the app sees of a connection in RPC calls, and the key RPC requests carry. */
  readonly rpc: RpcConfig;
  /** What one connection may hold and send. */
  readonly limits: LimitSettings;
  /** `$connect` refuses requests without this header (origin-verification.ts); undefined: any request. */
  readonly originVerification?: OriginVerification;
  /** Stream history for ext clients (stream-history.ts); `limit` 0: none, and no stream positions. */
  readonly history: HistorySettings;
}

/** Bounds on what one connection may cost (docs/protocol.md, "Limits"). */
export interface LimitSettings {
  /**
   * Channel subscriptions one connection may hold; a `subscribe` past it is answered
   * `reject_subscription` and stores nothing. A repeat of a subscribed identifier takes no slot.
   */
  readonly maxSubscriptionsPerConnection: number;
  /** Frames that are not commands a connection may send; the one that reaches it ends the connection with `invalid_request`. */
  readonly maxInvalidFrames: number;
}

/**
 * AnyCable JWT identification (`--jwt_secret`, `--jwt_param`, `--enforce_jwt`).
 * @see https://docs.anycable.io/anycable-go/jwt_identification
 */
export interface JwtConfig {
  /** HMAC key (anycable-go: `--jwt_secret`, else `--secret` itself). */
  readonly secret: string;
  /** Query parameter carrying the token; the header is `x-<param>`. */
  readonly param: string;
  /** Refuse connections without a token instead of falling back to RPC `connect`. */
  readonly enforce: boolean;
}

/**
 * AnyCable RPC settings that the core applies (the transport settings live with the adapters).
 * @see https://docs.anycable.io/anycable-go/rpc
 */
export interface RpcConfig {
  /** `Authorization: Bearer <secret>` of RPC requests (`--http_rpc_secret`, else derived from `--secret`). */
  readonly secret?: string;
  /** Request headers passed to the app in `env.headers`, lower-cased (anycable-go `--headers`, default `cookie`). */
  readonly proxyHeaders: readonly string[];
  /** When set, only these cookies are passed in the `cookie` header (anycable-go `--proxy-cookies`). */
  readonly proxyCookies?: readonly string[];
}

/** How a broadcast reaches a stream's subscribers. */
export interface DeliverySettings {
  /** Posts in flight at once per fan-out (and per shard). */
  readonly concurrency: number;
  /** Subscribers per shard; a stream with more is split into shards delivered in parallel. */
  readonly shardSize: number;
  /** Attempts per post on throttling, 5xx and network errors (1 = no retry). */
  readonly maxAttempts: number;
  /** First retry delay in ms, doubled each retry up to `maxDelayMs`, with full jitter. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export interface CableSettings {
  readonly secret?: string;
  readonly turboStreamsSecret?: string;
  readonly streamsSecret?: string;
  readonly turboStreams?: boolean;
  readonly publicStreams?: boolean;
  /** anycable-go's `--streams_whisper`; default false. */
  readonly streamsWhisper?: boolean;
  /** anycable-go's `streams.presence`; default false. */
  readonly streamsPresence?: boolean;
  /** anycable-go's `--presence_ttl`; default 15. */
  readonly presenceTtlSeconds?: number;
  readonly allowedOrigins?: readonly string[];
  readonly ttlSeconds?: number;
  readonly deliveryDeadlineMs?: number;
  /** anycable-go's `--broadcast_key`; defaults to hex(HMAC-SHA256(secret, "broadcast-cable")). */
  readonly broadcastKey?: string;
  readonly delivery?: Partial<DeliverySettings>;
  /** `intervalSeconds: 0` turns pings off, as anycable-go's `--ping_interval=0` does. */
  readonly ping?: Partial<PingSettings>;
  readonly maxConnectionAgeSeconds?: number;
  /** anycable-go's `--jwt_secret`; defaults to `secret`. */
  readonly jwtSecret?: string;
  /** anycable-go's `--jwt_param`; default `jid`. */
  readonly jwtParam?: string;
  /** anycable-go's `--enforce_jwt`; default false. */
  readonly enforceJwt?: boolean;
  /** anycable-go's `--http_rpc_secret`; defaults to hex(HMAC-SHA256(secret, "rpc-cable")). */
  readonly httpRpcSecret?: string;
  /** anycable-go's `--headers`; default `["cookie"]`. */
  readonly rpcHeaders?: readonly string[];
  /** anycable-go's `--proxy-cookies`; default: every cookie. */
  readonly rpcCookies?: readonly string[];
  readonly limits?: Partial<LimitSettings>;
  /** The value a fronting CloudFront distribution sends in `originHeader`; unset: no origin verification. */
  readonly originSecret?: string;
  /** Default `X-Origin-Verify`; only with `originSecret`. */
  readonly originHeader?: string;
  /** anycable-go's `--history_limit` (default 100), `--history_ttl` and `--sessions_ttl` (seconds, default 300 each). */
  readonly history?: Partial<HistorySettings>;
}

// The defaults both sides use live in src/contract/defaults.ts; re-exported for the runtime.
export { DEFAULT_PING };
export type { PingSettings };
export {
  API_GATEWAY_MAX_CONNECTION_SECONDS, DEFAULT_DELIVERY_DEADLINE_MS, DEFAULT_JWT_PARAM, DEFAULT_MAX_CONNECTION_AGE_SECONDS,
  DEFAULT_DELIVERY, DEFAULT_LIMITS, DEFAULT_RPC_HEADERS, DEFAULT_TTL_SECONDS, MAX_PING_INTERVAL_SECONDS,
};

/**
 * Resolves secrets as anycable-go does: `streams_secret` defaults to `secret`, and
 * `turbo_streams_secret` to the streams secret.
 */
export function resolveConfig(settings: CableSettings): CableConfig {
  const streamsSecret = nonEmpty(settings.streamsSecret) ?? nonEmpty(settings.secret);
  const turboStreamsSecret = nonEmpty(settings.turboStreamsSecret) ?? streamsSecret;
  const ttlSeconds = settings.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 60) {
    throw new CableConfigError(`ttlSeconds must be an integer of at least 60, got ${ttlSeconds}`);
  }
  const maxConnectionAgeSeconds = settings.maxConnectionAgeSeconds ?? DEFAULT_MAX_CONNECTION_AGE_SECONDS;
  if (!Number.isInteger(maxConnectionAgeSeconds) || maxConnectionAgeSeconds < 1 || maxConnectionAgeSeconds > API_GATEWAY_MAX_CONNECTION_SECONDS) {
    throw new CableConfigError(`maxConnectionAgeSeconds must be an integer from 1 to ${API_GATEWAY_MAX_CONNECTION_SECONDS} (API Gateway's 2-hour limit), got ${maxConnectionAgeSeconds}`);
  }
  if (ttlSeconds <= maxConnectionAgeSeconds) {
    throw new CableConfigError(
      `ttlSeconds must be greater than maxConnectionAgeSeconds (${maxConnectionAgeSeconds}), got ${ttlSeconds}: DynamoDB would expire the rows of connections still open`,
    );
  }
  if (settings.allowedOrigins && settings.allowedOrigins.length === 0) {
    throw new CableConfigError('allowedOrigins must list at least one origin when set, got [] (omit it to allow any origin)');
  }
  return {
    turboStreamsSecret,
    streamsSecret,
    turboStreams: settings.turboStreams ?? true,
    publicStreams: settings.publicStreams ?? false,
    streamsWhisper: settings.streamsWhisper ?? false,
    streamsPresence: settings.streamsPresence ?? false,
    presenceTtlSeconds: settings.presenceTtlSeconds ?? DEFAULT_PRESENCE_TTL_SECONDS,
    allowedOrigins: settings.allowedOrigins,
    ttlSeconds,
    deliveryDeadlineMs: settings.deliveryDeadlineMs ?? DEFAULT_DELIVERY_DEADLINE_MS,
    broadcastKey: nonEmpty(settings.broadcastKey) ?? deriveKey(settings.secret, 'broadcast-cable'),
    delivery: validateDelivery({ ...DEFAULT_DELIVERY, ...definedOnly(settings.delivery ?? {}) }),
    ping: resolvePing(settings.ping ?? {}),
    maxConnectionAgeSeconds,
    jwt: resolveJwt(settings),
    rpc: {
      secret: nonEmpty(settings.httpRpcSecret) ?? deriveKey(settings.secret, 'rpc-cable'),
      proxyHeaders: resolveHeaderNames(settings.rpcHeaders),
      ...(settings.rpcCookies && settings.rpcCookies.length > 0 ? { proxyCookies: [...settings.rpcCookies] } : {}),
    },
    limits: validateLimits({ ...DEFAULT_LIMITS, ...definedOnly(settings.limits ?? {}) }),
    ...resolveOriginVerification(settings),
    history: resolveHistory(settings.history ?? {}),
  };
}

function resolveOriginVerification(settings: CableSettings): { originVerification?: OriginVerification } {
  const secret = nonEmpty(settings.originSecret);
  const header = nonEmpty(settings.originHeader);
  if (!secret) {
    if (header !== undefined) throw new CableConfigError(`originHeader ("${header}") needs originSecret, the value the header must carry`);
    return {};
  }
  if (header !== undefined && !HEADER_NAME.test(header)) throw new CableConfigError(`originHeader must be an HTTP header name, got "${header}"`);
  return { originVerification: { header: (header ?? DEFAULT_ORIGIN_HEADER).toLowerCase(), secret } };
}


function resolveJwt(settings: CableSettings): JwtConfig | undefined {
  const secret = nonEmpty(settings.jwtSecret) ?? nonEmpty(settings.secret);
  const param = settings.jwtParam ?? DEFAULT_JWT_PARAM;
  if (!/^[A-Za-z0-9_-]+$/.test(param)) {
    throw new CableConfigError(`jwtParam must be a query parameter and header name of letters, digits, "_" or "-", got "${param}"`);
  }
  if (!secret) {
    if (settings.enforceJwt) throw new CableConfigError('enforceJwt needs a JWT secret: set jwtSecret or secret');
    return undefined;
  }
  return { secret, param, enforce: settings.enforceJwt ?? false };
}

function resolveHeaderNames(names: readonly string[] | undefined): readonly string[] {
  if (names === undefined) return DEFAULT_RPC_HEADERS;
  const invalid = names.find((name) => !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name));
  if (invalid !== undefined) throw new CableConfigError(`rpcHeaders must be HTTP header names, got "${invalid}"`);
  return names.map((name) => name.toLowerCase());
}

/**
 * anycable-go derives per-purpose keys from the common secret as lowercase
 * hex(HMAC-SHA256(secret, purpose)) (cli/options.go, "Fallback secrets"), e.g. the broadcast key
 * from "broadcast-cable"; anycable-rails derives the same, so only the secret needs sharing.
 */
export function deriveKey(secret: string | undefined, purpose: string): string | undefined {
  const value = nonEmpty(secret);
  return value === undefined ? undefined : createHmac('sha256', value).update(purpose).digest('hex');
}

function validateDelivery(delivery: DeliverySettings): DeliverySettings {
  for (const [name, min] of [['concurrency', 1], ['shardSize', 1], ['maxAttempts', 1], ['baseDelayMs', 0], ['maxDelayMs', 0]] as const) {
    const value = delivery[name];
    if (!Number.isInteger(value) || value < min) throw new CableConfigError(`delivery.${name} must be an integer of at least ${min}, got ${value}`);
  }
  return delivery;
}

function validateLimits(limits: LimitSettings): LimitSettings {
  for (const name of ['maxSubscriptionsPerConnection', 'maxInvalidFrames'] as const) {
    const value = limits[name];
    if (!Number.isInteger(value) || value < 1) throw new CableConfigError(`limits.${name} must be an integer of at least 1, got ${value}`);
  }
  return limits;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
