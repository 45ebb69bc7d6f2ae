import { createHmac } from 'node:crypto';
import { CableConfigError } from './errors';

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
  /** Exact `Origin` values allowed to connect; undefined allows any. */
  readonly allowedOrigins?: readonly string[];
  /** How long rows live without being refreshed, in seconds. */
  readonly ttlSeconds: number;
  /** How long a connection may wait for its first frames (welcome) to be delivered, in ms. */
  readonly deliveryDeadlineMs: number;
  /** `Authorization: Bearer <key>` of the HTTP broadcast API; undefined refuses every broadcast. */
  readonly broadcastKey?: string;
  readonly fanOut: FanOutSettings;
}

/** How a broadcast reaches a stream's subscribers. */
export interface FanOutSettings {
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

export const DEFAULT_FAN_OUT: FanOutSettings = {
  concurrency: 64,
  shardSize: 5_000,
  maxAttempts: 4,
  baseDelayMs: 50,
  maxDelayMs: 1_000,
};

export interface CableSettings {
  readonly secret?: string;
  readonly turboStreamsSecret?: string;
  readonly streamsSecret?: string;
  readonly turboStreams?: boolean;
  readonly publicStreams?: boolean;
  readonly allowedOrigins?: readonly string[];
  readonly ttlSeconds?: number;
  readonly deliveryDeadlineMs?: number;
  /** anycable-go's `--broadcast_key`; defaults to hex(HMAC-SHA256(secret, "broadcast-cable")). */
  readonly broadcastKey?: string;
  readonly fanOut?: Partial<FanOutSettings>;
}

/** API Gateway closes every connection after 2 hours; rows outlive that by an hour. */
export const DEFAULT_TTL_SECONDS = 3 * 60 * 60;
export const DEFAULT_DELIVERY_DEADLINE_MS = 10_000;

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
  if (settings.allowedOrigins && settings.allowedOrigins.length === 0) {
    throw new CableConfigError('allowedOrigins must list at least one origin when set, got [] (omit it to allow any origin)');
  }
  return {
    turboStreamsSecret,
    streamsSecret,
    turboStreams: settings.turboStreams ?? true,
    publicStreams: settings.publicStreams ?? false,
    allowedOrigins: settings.allowedOrigins,
    ttlSeconds,
    deliveryDeadlineMs: settings.deliveryDeadlineMs ?? DEFAULT_DELIVERY_DEADLINE_MS,
    broadcastKey: nonEmpty(settings.broadcastKey) ?? deriveKey(settings.secret, 'broadcast-cable'),
    fanOut: validateFanOut({ ...DEFAULT_FAN_OUT, ...definedOnly(settings.fanOut ?? {}) }),
  };
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

function validateFanOut(fanOut: FanOutSettings): FanOutSettings {
  for (const [name, min] of [['concurrency', 1], ['shardSize', 1], ['maxAttempts', 1], ['baseDelayMs', 0], ['maxDelayMs', 0]] as const) {
    const value = fanOut[name];
    if (!Number.isInteger(value) || value < min) throw new CableConfigError(`fanOut.${name} must be an integer of at least ${min}, got ${value}`);
  }
  return fanOut;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
