/**
 * The tables' key schema: the construct creates them with these names (src/private/tables.ts)
 * and the DynamoDB stores read and write them (lambda/adapters/dynamodb/).
 *
 * Connections: partition key `connectionId`; TTL `expiresAt`. Two global secondary indexes:
 * - `pings` (partition `connectionId`, projection INCLUDE `connectedAt`, `pingIntervalSeconds`):
 *   the pinger scans it in parallel segments every few seconds. A Scan is billed by the size of
 *   the items it reads, and a connection row carries up to 12 KB of headers and query; through
 *   this index each connection costs about 60 bytes. Every connection row is in it.
 * - `byIdentifiers` (partition `identifiers`, keys only): sparse, holding only identified
 *   connections; a remote disconnect finds the connections of one identifiers JSON with a Query.
 *   A key value is limited to 2,048 bytes, so identifiers longer than that cannot be stored.
 *
 * Subscriptions: partition key `stream`, sort key `subscriber` = `<connectionId>#<identifier>`
 * (API Gateway connection ids never contain `#`), so all subscribers of a stream are one
 * paginated Query; GSI `byConnection` (partition `connectionId`, sort `identifier`, keys only)
 * finds one connection's rows for unsubscribe and `$disconnect` without a Scan; TTL `expiresAt`.
 * An ext-protocol subscriber's row also holds its session id `sid` (fan-out sends it stream
 * positions, `exclude_socket` may name it) so fan-out reads nothing else.
 */
export const CONNECTIONS_TABLE = {
  partitionKey: 'connectionId',
  ttl: 'expiresAt',
  pingsIndex: 'pings',
  pingsIndexAttributes: ['connectedAt', 'pingIntervalSeconds'],
  byIdentifiersIndex: 'byIdentifiers',
  byIdentifiersPartitionKey: 'identifiers',
} as const;

export const SUBSCRIPTIONS_TABLE = {
  partitionKey: 'stream',
  sortKey: 'subscriber',
  ttl: 'expiresAt',
  byConnectionIndex: 'byConnection',
  byConnectionPartitionKey: 'connectionId',
  byConnectionSortKey: 'identifier',
  sid: 'sid',
  /** A history replay's hold on fan-out to the row (lambda/core/replay-hold.ts), epoch ms. */
  holdUntil: 'holdUntil',
  /** The first offset fan-out sends the row live after a replay. */
  liveFrom: 'liveFrom',
} as const;

/** The subscriptions table's sort key of one subscription. */
export function subscriberKey(connectionId: string, identifier: string): string {
  return `${connectionId}#${identifier}`;
}

/**
 * The pinger's state, kept in the subscriptions table under one reserved stream (the connections
 * table cannot hold it: every item there is in the `pings` index the pinger scans). Nothing reads
 * these items but the pinger and `$connect`: a stream's subscribers are a Query of another
 * partition, and `byConnection` is sparse (these items have no `connectionId`). docs/stored-data.md.
 * - `state`: the lease, `period` (the period start it is for, epoch ms), `phase` (`leased`: taken by
 *   `$connect`, its pinger not started yet; `running`; `idle`: the pinger found no connection and
 *   returned), `holder` (the lease token `$connect` passed its pinger), `leasedAt`, and
 *   `connections`/`workers`: what the period's first round found, which sizes the next period.
 * - `worker#<period>#<worker>`: one invocation's claim of one worker's share of one period, so a
 *   duplicate delivery of its event exits; removed by TTL an hour later.
 */
export const PINGER_STATE = {
  /** No broadcast uses a stream name starting with NUL; the partition is the pinger's. */
  stream: '\u0000cdk-cable:pinger',
  stateKey: 'state',
  workerKeyPrefix: 'worker#',
  claimTtlSeconds: 60 * 60,
} as const;

/**
 * Stream history (AnyCable's reliable streams, docs/reliable-streams.md), in the subscriptions
 * table under one reserved partition per stream, `"\u0000cdk-cable:history#" + stream` (NUL
 * first, as the pinger's: no broadcast's stream starts so, and fan-out queries the stream's own
 * partition). Sort keys:
 * - `position`: the stream's counter (`offset`, the last one given), its `epoch` (set when the
 *   item is created, so a stream whose history expired starts a new epoch), `expiresAt`;
 * - `m#<offset, 16 digits>`: one message (`data`, `storedAt` epoch ms, `expiresAt` = history TTL),
 *   so the messages after an offset are one Query on a key range, in offset order.
 * Not a new table: no more idle cost or IAM surface (the functions that touch it already hold the
 * subscriptions table), and nothing else reads these partitions.
 */
export const STREAM_HISTORY = {
  partitionPrefix: '\u0000cdk-cable:history#',
  positionKey: 'position',
  messageKeyPrefix: 'm#',
  offsetDigits: 16,
} as const;

/** The partition holding a stream's position and messages. */
export function historyPartition(stream: string): string {
  return `${STREAM_HISTORY.partitionPrefix}${stream}`;
}

/** The sort key of the message at `offset`: zero-padded, so keys sort as offsets do. */
export function historyMessageKey(offset: number): string {
  return `${STREAM_HISTORY.messageKeyPrefix}${String(offset).padStart(STREAM_HISTORY.offsetDigits, '0')}`;
}

/**
 * Resumable sessions (lambda/core/session-restore.ts), in the subscriptions table under one
 * reserved partition per session, `"\u0000cdk-cable:session#" + SHA-256(sid)`, sort key `session`:
 * `snapshot` (JSON: identifiers, connection and channel state, the subscriptions) and `expiresAt`
 * (the sessions TTL). A partition per session spreads the writes; a restore is one DeleteItem that
 * returns the item, so a sid restores once. Nothing else reads these partitions.
 */
export const SESSIONS = {
  partitionPrefix: '\u0000cdk-cable:session#',
  sortKey: 'session',
} as const;

/** The partition holding the session stored under `key` (a hash of its sid). */
export function sessionPartition(key: string): string {
  return `${SESSIONS.partitionPrefix}${key}`;
}

/**
 * Presence (AnyCable's, lambda/core/presence.ts), in the subscriptions table under two reserved
 * partitions (NUL first, as the others; these items have no `connectionId`, so `byConnection`
 * does not index them):
 * - per stream, `"\u0000cdk-cable:presence#" + stream`, sort key `r#<JSON id>#<session key>`: one
 *   item per (id, session), `id`, `info` (JSON), `joinedAt` (epoch ms), `holder` (the connection
 *   that joined), `expiresAt` (the row TTL while connected, the presence TTL once it is gone).
 *   A stream's `info` is one Query of the `r#` keys; the JSON-quoted id makes `r#<JSON id>#` a
 *   prefix of that id's items only, so "is anyone else here under this id" is one Query too.
 * - per session, `"\u0000cdk-cable:presence-session#" + SHA-256(sid)`, sort key the channel
 *   identifier: `presenceStream`, `id`, `holder`, `expiresAt`. What a session joined, so a leave
 *   (which names the identifier) and a disconnect (which names nothing) need no scan.
 * - one partition of expiries, `"\u0000cdk-cable:presence-expiry"`, sort key
 *   `<due, epoch seconds, 10 digits>#<SHA-256 of stream, id, session key>`: one item per record a
 *   gone connection let expire (`presenceStream`, `id`, `sessionKey`, `holder`; `expiresAt` an hour
 *   past due), so the pinger finds what is due with one Query of a key range
 *   (lambda/core/presence-expiry.ts) and deletes each item once it is swept.
 */
export const PRESENCE = {
  streamPartitionPrefix: '\u0000cdk-cable:presence#',
  sessionPartitionPrefix: '\u0000cdk-cable:presence-session#',
  recordKeyPrefix: 'r#',
  expiryPartition: '\u0000cdk-cable:presence-expiry',
  expiryDueDigits: 10,
  /** An expiry no pinger swept (no connection was left to hear it) is removed by TTL this long after it was due. */
  expiryRetentionSeconds: 60 * 60,
} as const;

/** The partition holding a stream's presence records. */
export function presencePartition(stream: string): string {
  return `${PRESENCE.streamPartitionPrefix}${stream}`;
}

/** The partition listing what a session (by the hash of its sid) joined. */
export function presenceSessionPartition(sessionKey: string): string {
  return `${PRESENCE.sessionPartitionPrefix}${sessionKey}`;
}

/** The expiries partition's sort key of a record due at `dueAt` (epoch seconds): keys sort as due times do. */
export function presenceExpiryKey(dueAt: number, recordHash: string): string {
  return `${String(dueAt).padStart(PRESENCE.expiryDueDigits, '0')}#${recordHash}`;
}

/** The sort keys of one id's records on a stream start so; a session's record is this plus its key. */
export function presenceIdPrefix(id: string): string {
  return `${PRESENCE.recordKeyPrefix}${JSON.stringify(id)}#`;
}
