/*
 * Every default the construct and the runtime must agree on, defined once. The construct's
 * props document these values in their `@default`s; the functions, the local server and the
 * CLI fall back to them when a variable is unset.
 *
 * This folder (src/contract/) is imported by both sides: src/ (compiled by jsii into lib/) and
 * lambda/ (bundled by esbuild). It imports nothing: no aws-cdk-lib, no AWS SDK, no Node built-in.
 */

/** API Gateway's hard limit on a connection's life, in seconds (not adjustable). */
export const API_GATEWAY_MAX_CONNECTION_SECONDS = 2 * 60 * 60;

/** Connection and subscription rows live this long without being refreshed: the 2-hour cut plus an hour. */
export const DEFAULT_TTL_SECONDS = 3 * 60 * 60;

/** anycable-go's `--presence_ttl` default (broker/config.go): a disconnected session's presence stays 15 s. */
export const DEFAULT_PRESENCE_TTL_SECONDS = 15;

/** Two minutes before the hard cut: the pinger runs once a minute, and the client needs a moment. */
export const DEFAULT_MAX_CONNECTION_AGE_SECONDS = API_GATEWAY_MAX_CONNECTION_SECONDS - 2 * 60;

/**
 * The longest ping interval: API Gateway closes a connection after 10 minutes without a message,
 * and a ping may come up to one schedule period (a minute) after its due time when the interval
 * is not a whole number of minutes. 9 minutes keeps a minute of margin.
 */
export const MAX_PING_INTERVAL_SECONDS = 9 * 60;

/**
 * Keepalive. The interval is Rails' beat (`ActionCable::Server::Connections::BEAT_INTERVAL`) and
 * anycable-go's `--ping_interval` default.
 */
export const DEFAULT_PING = {
  intervalSeconds: 3,
  maxClientIntervalSeconds: MAX_PING_INTERVAL_SECONDS,
  /** The pinger's `@connections` calls per second: a share of the account's 10,000 requests/s. */
  maxPerSecond: 5_000,
  /** Parallel reads (DynamoDB Scan segments) of the connections per round. */
  segments: 4,
} as const;

/** The pinger's schedule period: EventBridge invokes it once a minute. */
export const DEFAULT_PING_PERIOD_SECONDS = 60;

/**
 * How frames reach many connections (broadcasts, their shards and ping rounds): posts in flight
 * at once, subscribers per shard, and the retries of a throttled or failed post (capped
 * exponential backoff with full jitter).
 */
export const DEFAULT_DELIVERY = {
  concurrency: 64,
  shardSize: 5_000,
  maxAttempts: 4,
  baseDelayMs: 50,
  maxDelayMs: 1_000,
} as const;

/** How long a new connection's first frames (the welcome) may wait for its socket to open, in ms. */
export const DEFAULT_DELIVERY_DEADLINE_MS = 10_000;

/** anycable-go's `--jwt_param`. */
export const DEFAULT_JWT_PARAM = 'jid';

/** anycable-go's `--headers`: the handshake headers passed to the app's RPC. */
export const DEFAULT_RPC_HEADERS: readonly string[] = ['cookie'];

/** AnyCable RPC calls: anycable-go's `rpc_command_timeout` and the attempts when nothing reached the app. */
export const DEFAULT_RPC = {
  timeoutMs: 3_000,
  /**
   * `CableRpc.fromFunction`: the call waits for the app function's cold start, which for Rails on
   * Lambda (Lamby) commonly takes several seconds; the longest the handlers allow (they run for 10 s).
   */
  functionTimeoutMs: 8_000,
  maxAttempts: 3,
} as const;

/** anycable-rails' `http_rpc_mount_path`, the path an app on Lambda serves RPC at. */
export const DEFAULT_RPC_PATH = '/_anycable';

/**
 * What one connection may cost (docs/cost.md, "What abuse costs"). A page's subscriptions are a
 * handful to a few dozen; past the cap each new one is refused, so one broadcast brings a
 * connection at most this many frames of one stream. After `maxInvalidFrames` frames that are
 * not commands the connection is closed with `invalid_request`.
 */
export const DEFAULT_LIMITS = {
  maxSubscriptionsPerConnection: 300,
  maxInvalidFrames: 10,
} as const;
/**
 * Stream history and resumable sessions for AnyCable's extended protocol
 * (docs/reliable-streams.md), anycable-go's defaults: `--history_limit=100` messages per stream,
 * `--history_ttl=300` seconds, `--sessions_ttl=300` seconds. A limit of 0 keeps no history and
 * gives broadcasts no positions; a sessions TTL of 0 restores no session.
 */
export const DEFAULT_HISTORY = {
  limit: 100,
  ttlSeconds: 300,
  sessionsTtlSeconds: 300,
} as const;
/** The header a fronting CloudFront distribution sends the origin secret in (`originVerification.headerName`). */
export const DEFAULT_ORIGIN_HEADER = 'X-Origin-Verify';

/*
 * The pinger's workers (lambda/core/ping-workers.ts): when one invocation cannot post a period's
 * pings in time, the scheduled invocation starts others, each with a share of the Scan segments.
 */

/**
 * `@connections` posts per second one pinger invocation sustains per MB of memory: measured
 * 700/s at 256 MB with the signed transport (issue 15; bench/results/transport.json); Lambda's
 * CPU grows with memory up to one vCPU at 1,769 MB, and no further for this single-threaded work.
 */
export const PING_POSTS_PER_SECOND_PER_MB = 700 / 256;
export const FULL_VCPU_MEMORY_MB = 1769;

/** Posts per second one pinger invocation of `memoryMb` sustains (measured rate, scaled by memory, capped at one vCPU). */
export function pingPostsPerSecondPerInvocation(memoryMb: number): number {
  return Math.floor(PING_POSTS_PER_SECOND_PER_MB * Math.min(memoryMb, FULL_VCPU_MEMORY_MB));
}

/** A worker is planned for this share of what it sustains: retries, closes and GC need the rest. */
export const PING_WORKER_HEADROOM = 0.8;

/** The most pinger invocations one period runs in parallel. */
export const MAX_PING_WORKERS = 32;

/**
 * `$connect` makes sure a pinger covers the period this much ahead of it, so a connection made just
 * before a new period is seen by that period's first Scan (a global secondary index lags its table).
 */
export const PING_LEASE_MARGIN_MS = 2_000;
