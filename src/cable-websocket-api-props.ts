import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CableAccessLogProps } from './cable-access-log-props';
import { CableBroadcastProps } from './cable-broadcast-props';
import { CableDistributionOptions, CableOriginVerificationOptions } from './cable-distribution';
import { CableFunctionProps } from './cable-function-props';
import { CableKeepaliveProps } from './cable-keepalive-props';
import { CableLimitsProps } from './cable-limits-props';
import { CableReliableStreamsProps } from './cable-reliable-streams-props';
import { CableRpc } from './cable-rpc';

/**
 * Properties for a `CableWebSocketApi`. Those of one feature are grouped in the interfaces it
 * extends: access logs, functions, broadcasting, keepalive, per-connection limits and reliable streams.
 */
export interface CableWebSocketApiProps
  extends CableAccessLogProps, CableFunctionProps, CableBroadcastProps, CableKeepaliveProps, CableLimitsProps, CableReliableStreamsProps {
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
   * How long connection and subscription rows live without being refreshed; DynamoDB's TTL
   * removes what a lost `$disconnect` leaves behind. At least 2 hours, API Gateway's
   * maximum connection duration.
   * @default Duration.hours(3)
   */
  readonly connectionTtl?: Duration;

  /**
   * What happens to the tables, the log groups and the generated secret when they leave the stack.
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
   * Refuse `$connect` requests that did not come through a CloudFront distribution: the
   * distribution sends a secret header, and only requests carrying it are served (and may set
   * `X-Forwarded-Host`). Set it when you front the API with your own distribution; with
   * `distribution` it is always on (these options then choose the header and the secret).
   * @default - on with `distribution` (header `X-Origin-Verify`, generated secret); otherwise
   * off: any request is served, and `X-Forwarded-Host` is ignored
   */
  readonly originVerification?: CableOriginVerificationOptions;

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
   * Let clients whisper on signed `$pubsub` streams (anycable-go's `--streams_whisper`):
   * `channel.whisper({...})` reaches the stream's other subscribers without the app
   * (typing indicators, cursors). Public streams (`publicStreams`) always allow it, app channels
   * when they `stream_from "x", whisper: true`, Turbo Streams never. Each whisper costs a
   * `message` invocation and a fan-out invocation (docs/whispers.md).
   * @default false
   */
  readonly streamsWhisper?: boolean;

  /**
   * Let clients join presence on signed `$pubsub` streams (anycable-go's `streams.presence`):
   * `channel.presence.join(id, info)`, `leave()` and `info()` (who is online). Public streams
   * (`publicStreams`) always allow it, app channels when their state names a presence stream
   * (`$p`), Turbo Streams never. Join and leave events go through the fan-out function
   * (docs/presence.md).
   * @default false
   */
  readonly streamsPresence?: boolean;

  /**
   * How long a gone connection's presence stays (anycable-go's `--presence_ttl`), so a client
   * that reconnects or restores its session within it is never seen leaving. Whole seconds.
   * @default Duration.seconds(15)
   */
  readonly presenceTtl?: Duration;

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
