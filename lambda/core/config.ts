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
}

export interface CableSettings {
  readonly secret?: string;
  readonly turboStreamsSecret?: string;
  readonly streamsSecret?: string;
  readonly turboStreams?: boolean;
  readonly publicStreams?: boolean;
  readonly allowedOrigins?: readonly string[];
  readonly ttlSeconds?: number;
  readonly deliveryDeadlineMs?: number;
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
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
