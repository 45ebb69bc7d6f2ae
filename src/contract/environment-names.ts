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
