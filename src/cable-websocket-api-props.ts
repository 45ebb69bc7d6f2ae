import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CableDistributionOptions } from './cable-distribution';
import { CableRetryPolicy } from './cable-retry-policy';
import { CableRpc } from './cable-rpc';

/**
 * Properties for a `CableWebSocketApi`.
 */
export interface CableWebSocketApiProps {
  /**
   * Name of the API Gateway stage; the WebSocket URL ends with it (`wss://…/cable`).
   * @default 'cable'
   */
  readonly stageName?: string;

  /**
   * Throttling for every route of the stage (API Gateway applies account-level limits
   * otherwise: 10,000 requests/s shared by all APIs of the account and region).
   * `burstLimit` must be at least `rateLimit`.
   * @default { rateLimit: 1000, burstLimit: 2000 }
   */
  readonly throttle?: apigwv2.ThrottleSettings;

  /**
   * Write API Gateway access logs (one line per connect, message and disconnect) to a log group.
   * API Gateway needs an account-level CloudWatch Logs role for this; see `createCloudWatchRole`.
   * @default false
   */
  readonly accessLogging?: boolean;

  /**
   * The log group for access logs; implies `accessLogging: true`.
   * @default - a new log group with `logRetention`, when `accessLogging` is true
   */
  readonly accessLogGroup?: logs.ILogGroup;

  /**
   * Set the account-level role API Gateway uses to write logs (`AWS::ApiGateway::Account`).
   * There is one such setting per account and region: enable it in one stack only, and not
   * when your account already has it configured.
   * @default false
   */
  readonly createCloudWatchRole?: boolean;

  /**
   * How long connection and subscription rows live without being refreshed; DynamoDB's TTL
   * removes what a lost `$disconnect` leaves behind. At least 2 hours, API Gateway's
   * maximum connection duration.
   * @default Duration.hours(3)
   */
  readonly connectionTtl?: Duration;

  /**
   * Retention of the handlers' log groups (and of the access log group the construct creates).
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Memory of each handler function, in MB (CPU grows with it, which shortens cold starts).
   * @default 256
   */
  readonly memorySize?: number;

  /**
   * Instruction set of the handler functions.
   * @default lambda.Architecture.ARM_64
   */
  readonly architecture?: lambda.Architecture;

  /**
   * Node.js runtime of the handler functions (the bundles target Node.js 22 and later).
   * @default lambda.Runtime.NODEJS_22_X
   */
  readonly runtime?: lambda.Runtime;

  /**
   * What happens to the tables and log groups when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Point-in-time recovery of the two tables. Their rows are ephemeral connection state.
   * @default false
   */
  readonly pointInTimeRecovery?: boolean;

  /**
   * Server-side encryption of the two tables.
   * @default dynamodb.TableEncryption.AWS_MANAGED, or CUSTOMER_MANAGED when `tableEncryptionKey` is set
   */
  readonly tableEncryption?: dynamodb.TableEncryption;

  /**
   * KMS key for the tables (with `TableEncryption.CUSTOMER_MANAGED`).
   * @default - AWS managed key
   */
  readonly tableEncryptionKey?: kms.IKey;

  /**
   * Origins (`https://app.example.com`) allowed to open a connection, compared exactly with the
   * `Origin` header, like Rails' `config.action_cable.allowed_request_origins`.
   * @default - `https://<domain>` for each domain name of `distribution` (and of `addBehaviorTo`),
   * as Rails allows an origin that matches the host; any origin when no domain is known
   */
  readonly allowedOrigins?: string[];

  /**
   * Put a CloudFront distribution in front of the stage, so that clients connect to
   * `wss://<domain>/<stageName>` on the app's own domain; `url` then reports that URL.
   * To add the cable to a distribution you already have, use `addBehaviorTo` instead.
   * @default - no CloudFront distribution
   */
  readonly distribution?: CableDistributionOptions;

  /**
   * The common secret (anycable-go's `--secret`): the key for Turbo signed stream names and
   * `$pubsub` signed streams unless the more specific secrets below are set. Its SecretString is
   * used as is; set the Rails app's `config.turbo.signed_stream_verifier_key` to the same value.
   * @default - a new 64-character secret generated in Secrets Manager
   */
  readonly secret?: secretsmanager.ISecret;

  /**
   * Key for Turbo `signed_stream_name` (anycable-go's `--turbo_streams_secret`).
   * @default - `streamsSecret`, else `secret`
   */
  readonly turboStreamsSecret?: secretsmanager.ISecret;

  /**
   * Key for `$pubsub` signed streams (anycable-go's `--streams_secret`).
   * @default - `secret`
   */
  readonly streamsSecret?: secretsmanager.ISecret;

  /**
   * Serve `Turbo::StreamsChannel` (`<turbo-cable-stream-source>`).
   * @default true
   */
  readonly turboStreams?: boolean;

  /**
   * Let `$pubsub` subscribe to unsigned `stream_name`s (anycable-go's `--public_streams`):
   * anyone who can connect can then read any stream.
   * @default false
   */
  readonly publicStreams?: boolean;

  /**
   * Key of the HTTP broadcast API (`Authorization: Bearer <key>`, anycable-go's
   * `--broadcast_key`); its SecretString is used as is.
   * @default - derived from `secret` as anycable-go and anycable-rails derive it: hex(HMAC-SHA256(secret, "broadcast-cable"))
   */
  readonly broadcastKey?: secretsmanager.ISecret;

  /**
   * The app's AnyCable RPC (anycable-rails' HTTP RPC at `/_anycable`, `@anycable/serverless-js`,
   * or an app on Lambda): connections are identified by the app's `connect`
   * (`ApplicationCable::Connection`, `current_user`), and every channel other than Turbo Streams
   * and `$pubsub` runs in the app (`subscribed`, `stream_from`, actions).
   * @default - no RPC: Turbo Streams and `$pubsub` only; connections are anonymous unless a JWT identifies them
   */
  readonly rpc?: CableRpc;

  /**
   * Key of AnyCable JWT identification tokens (anycable-go's `--jwt_secret`): a client whose
   * token (`?jid=`, `X-JID` header or `anycable-token.<token>` subprotocol) verifies is identified by
   * the token's `ext` claim without an RPC call; an expired one gets `token_expired`.
   * @default - `secret` (anycable-go's default: JWT identification is always on)
   */
  readonly jwtSecret?: secretsmanager.ISecret;

  /**
   * Query parameter carrying the JWT; the header is `X-<jwtParam>` (anycable-go's `--jwt_param`).
   * @default 'jid'
   */
  readonly jwtParam?: string;

  /**
   * Refuse (with `unauthorized`) connections without a JWT instead of asking the app's RPC
   * `connect` (anycable-go's `--enforce_jwt`).
   * @default false
   */
  readonly enforceJwt?: boolean;

  /**
   * Posts in flight at once per broadcast (and per shard of a large stream), and per ping round.
   * @default 64
   */
  readonly broadcastConcurrency?: number;

  /**
   * Subscribers per shard. A stream with more subscribers is delivered by parallel fan-out
   * workers, one per shard; broadcasts to such a stream are then not ordered among themselves.
   * @default 5000
   */
  readonly broadcastShardSize?: number;

  /**
   * Retries of a post (a broadcast's or a ping's) that API Gateway throttled or failed with a server error.
   * @default - 4 attempts, 50 ms doubling to 1 s, with full jitter
   */
  readonly broadcastRetry?: CableRetryPolicy;

  /**
   * Seconds between keepalive pings (`{"type":"ping"}`) to a connection that asked for no
   * interval of its own. Rails pings every 3 s and a stock `@rails/actioncable` client reconnects
   * after 6 s without one; each ping is a billed API Gateway message (about $0.86 per connection
   * and month at 3 s). Longer intervals need the client's `ConnectionMonitor.staleThreshold`
   * raised to match (README, "Keepalive"); at most 9 minutes (API Gateway's 10-minute idle timeout).
   * @default Duration.seconds(3)
   */
  readonly pingInterval?: Duration;

  /**
   * Send keepalive pings. When off, the pinger still ends connections before the 2-hour cut.
   * @default true
   */
  readonly pings?: boolean;

  /**
   * Shortest interval a client may ask for with AnyCable's `?pi=<seconds>` URL parameter.
   * @default - `pingInterval`: clients may ask for fewer pings, not more
   */
  readonly minClientPingInterval?: Duration;

  /**
   * Longest interval a client may ask for with `?pi=<seconds>`.
   * @default Duration.minutes(9)
   */
  readonly maxClientPingInterval?: Duration;

  /**
   * Ceiling on the pinger's `@connections` posts per second: they draw on the account's API
   * Gateway quota (10,000 requests/s by default), which broadcasts share.
   * @default 5000
   */
  readonly maxPingsPerSecond?: number;

  /**
   * Age at which a connection is sent `{"type":"disconnect","reason":"server_restart","reconnect":true}`
   * and closed, so the client reconnects cleanly before API Gateway's 2-hour cut.
   * @default Duration.minutes(118)
   */
  readonly maxConnectionAge?: Duration;

  /**
   * Connections you expect at peak: only used at synth, to warn when pinging them would come near
   * the account's request quota or `maxPingsPerSecond`.
   * @default - no rate warning
   */
  readonly expectedConnections?: number;

  /**
   * Create CloudWatch alarms: any handler error or Lambda throttle, 10 failed broadcast posts,
   * or 5 API Gateway integration or execution errors within 5 minutes.
   * @default false
   */
  readonly alarms?: boolean;

  /**
   * What the alarms do, for example `new cloudwatch_actions.SnsAction(topic)`; implies `alarms`.
   * @default - no action (the alarms only change state)
   */
  readonly alarmAction?: cloudwatch.IAlarmAction;

  /**
   * Create a CloudWatch dashboard with traffic, broadcasting, errors and latency.
   * @default false
   */
  readonly dashboard?: boolean;
}
