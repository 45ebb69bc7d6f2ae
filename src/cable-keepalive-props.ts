import { Duration } from 'aws-cdk-lib';

/**
 * Keepalive pings and the end of old connections (part of `CableWebSocketApiProps`).
 */
export interface CableKeepaliveProps {
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
   * Ceiling on the pinger's `@connections` posts per second, all its invocations together: they
   * draw on the account's API Gateway quota (10,000 requests/s by default), which broadcasts
   * share. When one invocation cannot post a minute's pings in time, the pinger splits the
   * minute across parallel invocations (each sustains about 700 posts/s at 256 MB, more with
   * `memorySize`), each taking an equal share of this ceiling. It also bounds the connections
   * pinged in time: about `maxPingsPerSecond × pingInterval` (15,000 at the defaults; README,
   * "Connection ceiling per interval").
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
   * the account's request quota or exceed what the pinger sustains within `maxPingsPerSecond`.
   * @default - no rate warning
   */
  readonly expectedConnections?: number;
}
