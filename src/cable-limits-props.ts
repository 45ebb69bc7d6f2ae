/**
 * What one client connection may hold and send (part of `CableWebSocketApiProps`). Every frame a
 * client sends is a billed `$default` invocation and every frame it is sent a billed
 * `@connections` post on the account's shared request quota, so these bound what one connection
 * can cost; docs/cost.md, "What abuse costs", gives the figures.
 */
export interface CableLimitsProps {
  /**
   * Channel subscriptions one connection may hold. Past it a `subscribe` is answered
   * `reject_subscription` and stores nothing, so one broadcast brings a connection at most this
   * many frames of one stream (a client can otherwise subscribe to one signed stream under
   * thousands of identifiers by adding a key). A re-sent `subscribe` of a subscribed identifier
   * takes no second slot; `unsubscribe` gives the slot back. Real pages hold a handful to a few
   * dozen. Neither Rails nor anycable-go has such a cap: their subscriptions cost memory, here
   * each one costs every broadcast a post.
   * @default 300
   */
  readonly maxSubscriptionsPerConnection?: number;

  /**
   * Frames that are not commands (malformed JSON, unknown commands, `message` to Turbo Streams or
   * `$pubsub`) one connection may send: the one that reaches this number ends the connection with
   * `{"type":"disconnect","reason":"invalid_request","reconnect":false}`. Each bad frame is
   * counted with one write on the connection row; good frames cost no write. The warnings they
   * log are sampled (the 1st, 2nd, 4th, 8th... with the count).
   * @default 10
   */
  readonly maxInvalidFrames?: number;
}
