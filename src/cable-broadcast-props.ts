import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CableRetryPolicy } from './cable-retry-policy';

/**
 * Broadcasting of a `CableWebSocketApi` (part of `CableWebSocketApiProps`): the HTTP broadcast
 * API, and how frames reach the subscribers of a stream.
 */
export interface CableBroadcastProps {
  /**
   * Key of the HTTP broadcast API (`Authorization: Bearer <key>`, anycable-go's
   * `--broadcast_key`); its SecretString is used as is.
   * @default - derived from `secret` as anycable-go and anycable-rails derive it: hex(HMAC-SHA256(secret, "broadcast-cable"))
   */
  readonly broadcastKey?: secretsmanager.ISecret;

  /**
   * Reserved concurrency of the broadcast function, the one behind the public broadcast URL.
   * Anyone can send requests to that URL; a bad key is refused in code (compared in constant
   * time), but each refusal is still an invocation, so a flood of them could take the account's
   * whole Lambda concurrency from every other function. With this set, at most this many
   * broadcast invocations (HTTP or direct, `grantBroadcast`) run at once and a flood cannot take
   * more; requests beyond it are refused with 429. What it costs: the amount is taken from the
   * account's unreserved concurrency even while idle (Lambda keeps at least 100 unreserved, so the
   * deployment fails if the account cannot spare it), and during a flood your own broadcasts
   * compete with it for these slots. anycable's HTTP broadcast adapter (anycable-rails) logs
   * a 429 as "Broadcast request responded with unexpected status: 429" and drops that broadcast:
   * it retries connection errors, not HTTP statuses. Set it well above your peak of concurrent
   * broadcasts (broadcasts per second × their duration, usually tens of milliseconds).
   * @default - none: the broadcast function shares the account's unreserved concurrency
   */
  readonly broadcastReservedConcurrency?: number;

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
}
