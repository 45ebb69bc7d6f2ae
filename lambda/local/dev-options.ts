import { DEFAULT_HOST, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_CONNECTION_MS, DEFAULT_PATH, DEFAULT_PORT } from './local-cable-server';
import { DEFAULT_HISTORY } from '../../src/contract/defaults';
import { DEFAULT_DELIVERY, DEFAULT_LIMITS } from '../core/config';

/** How an option's value is read. */
export type OptionKind = 'string' | 'port' | 'seconds' | 'boolean' | 'origins' | 'level';

export interface OptionSpec {
  readonly name: string;
  readonly kind: OptionKind;
  readonly default: string;
  readonly description: string;
}

/** The options of `cdk-cable dev`, named after anycable-go's where it has one; each also reads CABLE_<NAME>. */
export const CLI_OPTIONS: readonly OptionSpec[] = [
  { name: 'port', kind: 'port', default: String(DEFAULT_PORT), description: 'Port to listen on (0: any free port)' },
  { name: 'host', kind: 'string', default: DEFAULT_HOST, description: 'Interface to listen on (0.0.0.0: every interface)' },
  { name: 'path', kind: 'string', default: DEFAULT_PATH, description: 'WebSocket path; plays the role of API Gateway\'s stage' },
  { name: 'secret', kind: 'string', default: 'random, per session', description: 'Application secret: the default of --streams_secret and --turbo_streams_secret' },
  { name: 'turbo_streams_secret', kind: 'string', default: '--streams_secret', description: 'Key of Turbo signed_stream_name (Rails: Turbo.signed_stream_verifier_key)' },
  { name: 'streams_secret', kind: 'string', default: '--secret', description: 'Key of $pubsub signed_stream_name' },
  { name: 'turbo_streams', kind: 'boolean', default: 'true', description: 'Serve Turbo::StreamsChannel (--turbo_streams=false or --no-turbo_streams: off)' },
  { name: 'public_streams', kind: 'boolean', default: 'false', description: 'Let $pubsub accept an unsigned stream_name' },
  { name: 'streams_whisper', kind: 'boolean', default: 'false', description: 'Let clients whisper on signed $pubsub streams (public ones always may)' },
  { name: 'streams_presence', kind: 'boolean', default: 'false', description: 'Let clients join presence on signed $pubsub streams (public ones always may)' },
  { name: 'presence_ttl', kind: 'string', default: '15', description: 'Seconds a gone connection\'s presence stays, so a reconnect is not seen leaving (the construct\'s presenceTtl)' },
  {
    name: 'broadcast_key',
    kind: 'string',
    default: 'derived from --secret',
    description: 'Bearer key of POST /_broadcast; by default hex(HMAC-SHA256(secret, "broadcast-cable")), which anycable-rails derives too',
  },
  {
    name: 'public',
    kind: 'boolean',
    default: 'false',
    description: 'Public mode: implies --public_streams and lets POST /_broadcast in without a key (Turbo signed streams are still verified)',
  },
  {
    name: 'rpc_host',
    kind: 'string',
    default: '- (no RPC)',
    description: 'The app\'s AnyCable HTTP RPC, e.g. http://localhost:3000/_anycable (anycable-rails): identifies connections and serves app-defined channels',
  },
  { name: 'http_rpc_secret', kind: 'string', default: 'derived from --secret', description: 'Bearer key of RPC requests; by default hex(HMAC-SHA256(secret, "rpc-cable")), which anycable-rails derives too' },
  { name: 'rpc_request_timeout', kind: 'string', default: '3000', description: 'Milliseconds an RPC call may take, retries included' },
  { name: 'headers', kind: 'string', default: 'cookie', description: 'Comma-separated request headers passed to RPC calls (anycable-go\'s name)' },
  { name: 'proxy-cookies', kind: 'string', default: 'every cookie', description: 'Comma-separated cookie names passed in the cookie header to RPC calls' },
  { name: 'jwt_secret', kind: 'string', default: '--secret', description: 'Key of AnyCable JWT identification tokens (HS256/384/512, identifiers in the "ext" claim)' },
  { name: 'jwt_param', kind: 'string', default: 'jid', description: 'Query parameter carrying the token; the header is X-<param>' },
  { name: 'enforce_jwt', kind: 'boolean', default: 'false', description: 'Refuse connections without a token instead of calling the app\'s RPC connect' },
  { name: 'allowed_origins', kind: 'origins', default: 'any origin', description: 'Comma-separated Origin values allowed to connect, e.g. http://localhost:3000 (exact match)' },
  { name: 'idle_timeout', kind: 'seconds', default: String(DEFAULT_IDLE_TIMEOUT_MS / 1000), description: 'Seconds without a frame either way before a connection is closed (1001)' },
  { name: 'max_connection', kind: 'seconds', default: String(DEFAULT_MAX_CONNECTION_MS / 1000), description: 'Seconds after which every connection is closed (1001)' },
  { name: 'ping_interval', kind: 'seconds', default: '3', description: 'Seconds between {"type":"ping"} frames to each connection (anycable-go\'s name); 0 turns pings off' },
  { name: 'ping_min_client_interval', kind: 'seconds', default: '--ping_interval', description: 'Smallest interval a client may ask for with ?pi=<seconds> on the cable URL' },
  { name: 'ping_max_client_interval', kind: 'seconds', default: '540', description: 'Largest interval a client may ask for with ?pi=<seconds> (at most 540: API Gateway\'s 10-minute idle timeout)' },
  { name: 'ping_max_per_second', kind: 'string', default: '5000', description: 'Ceiling on the pinger\'s @connections calls per second' },
  {
    name: 'max_connection_age',
    kind: 'seconds',
    default: '7080',
    description: 'Seconds after which a connection gets {"type":"disconnect","reason":"server_restart","reconnect":true} and is closed, before --max_connection cuts it',
  },
  { name: 'broadcast_concurrency', kind: 'string', default: String(DEFAULT_DELIVERY.concurrency), description: '@connections posts in flight at once per broadcast (the construct\'s broadcastConcurrency)' },
  { name: 'broadcast_shard_size', kind: 'string', default: String(DEFAULT_DELIVERY.shardSize), description: 'Subscribers per shard; larger streams are delivered in parallel shards (the construct\'s broadcastShardSize)' },
  {
    name: 'max_subscriptions_per_connection',
    kind: 'string',
    default: String(DEFAULT_LIMITS.maxSubscriptionsPerConnection),
    description: 'Subscriptions one connection may hold; past it subscribe gets reject_subscription and stores nothing (the construct\'s maxSubscriptionsPerConnection)',
  },
  {
    name: 'max_invalid_frames',
    kind: 'string',
    default: String(DEFAULT_LIMITS.maxInvalidFrames),
    description: 'Frames that are not commands one connection may send; the last ends it with invalid_request (the construct\'s maxInvalidFrames)',
  },
  {
    name: 'history_limit',
    kind: 'string',
    default: String(DEFAULT_HISTORY.limit),
    description: 'Messages kept per stream for actioncable-v1-ext-json clients that reconnect; 0 keeps none (the construct\'s historyLimit; docs/reliable-streams.md)',
  },
  { name: 'history_ttl', kind: 'string', default: String(DEFAULT_HISTORY.ttlSeconds), description: 'Seconds a stream\'s history and position are kept (the construct\'s historyTtl)' },
  {
    name: 'sessions_ttl',
    kind: 'string',
    default: String(DEFAULT_HISTORY.sessionsTtlSeconds),
    description: 'Seconds a gone actioncable-v1-ext-json connection\'s session can be restored with its sid; 0 restores none (the construct\'s sessionsTtl)',
  },
  { name: 'dynamodb_endpoint', kind: 'string', default: 'in-memory store', description: 'Keep connections and subscriptions in DynamoDB at this endpoint (e.g. DynamoDB Local)' },
  { name: 'connections_table', kind: 'string', default: '-', description: 'Connections table name (with --dynamodb_endpoint)' },
  { name: 'subscriptions_table', kind: 'string', default: '-', description: 'Subscriptions table name (with --dynamodb_endpoint)' },
  { name: 'lambda_assets', kind: 'string', default: '-', description: 'Run the bundled Lambda functions in this directory (assets/lambda/aws) instead of in-process handlers; needs --dynamodb_endpoint' },
  { name: 'demo', kind: 'boolean', default: 'true', description: 'Serve the demo page at GET / (Turbo, a signed stream and a form that broadcasts through POST /_broadcast)' },
  { name: 'log_level', kind: 'level', default: 'info', description: 'info, warn, error or silent' },
];
