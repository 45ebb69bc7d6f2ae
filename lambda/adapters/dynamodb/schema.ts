/**
 * The tables' key schema, as the construct creates it (src/cable-tables.ts holds the same
 * names; a test checks they agree).
 *
 * Connections: partition key `connectionId`; TTL `expiresAt`.
 * Subscriptions: partition key `stream`, sort key `subscriber` = `<connectionId>#<identifier>`
 * (API Gateway connection ids never contain `#`), so all subscribers of a stream are one
 * paginated Query; GSI `byConnection` (partition `connectionId`, sort `identifier`, keys only)
 * finds one connection's rows for unsubscribe and `$disconnect` without a Scan; TTL `expiresAt`.
 */
export const CONNECTIONS = {
  partitionKey: 'connectionId',
  ttl: 'expiresAt',
} as const;

export const SUBSCRIPTIONS = {
  partitionKey: 'stream',
  sortKey: 'subscriber',
  ttl: 'expiresAt',
  byConnectionIndex: 'byConnection',
  byConnectionPartitionKey: 'connectionId',
  byConnectionSortKey: 'identifier',
} as const;

export function subscriberKey(connectionId: string, identifier: string): string {
  return `${connectionId}#${identifier}`;
}
