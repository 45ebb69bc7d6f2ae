import { Duration } from 'aws-cdk-lib';

/**
 * Stream history for AnyCable's extended protocol (part of `CableWebSocketApiProps`). Clients that
 * connect with `actioncable-v1-ext-json` (`@anycable/web` with `protocol:
 * 'actioncable-v1-ext-json'`) receive every broadcast with its stream's `offset` and `epoch`.
 * When they reconnect, they get what they missed replayed, in order and exactly once. The history
 * is kept in the subscriptions table. Each broadcast that is not `meta.transient` costs one more
 * counter update and one more put (docs/cost.md, "Reliable streams"). A client whose connection
 * dropped may restore its session (identifiers, state, subscriptions) with its last `sid`. Names
 * and defaults follow anycable-go's `--history_limit`, `--history_ttl` and `--sessions_ttl`.
 * @see https://docs.anycable.io/anycable-go/reliable_streams
 */
export interface CableReliableStreamsProps {
  /**
   * Messages kept per stream for clients that reconnect. A client that missed more than this is
   * answered `reject_history`. 0 keeps no history: broadcasts then carry no offsets and cost
   * nothing extra.
   * @default 100
   */
  readonly historyLimit?: number;

  /**
   * How long a broadcast is kept in its stream's history, and how long a stream keeps its
   * position (its epoch) after its last broadcast. Whole seconds.
   * @default Duration.minutes(5)
   */
  readonly historyTtl?: Duration;

  /**
   * How long the session of a gone `actioncable-v1-ext-json` connection can be restored: a client
   * reconnecting with its last `sid` within this time gets its identifiers, connection and channel
   * state and subscriptions back without the app's RPC `connect` (each session restores once).
   * Whole seconds; `Duration.seconds(0)` restores none and saves no session at `$disconnect`.
   * @default Duration.minutes(5)
   */
  readonly sessionsTtl?: Duration;
}
