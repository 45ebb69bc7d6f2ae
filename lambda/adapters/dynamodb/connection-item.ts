import { CONNECTIONS } from './schema';
import { ConnectionRecord } from '../../core/ports';

/** How a connection row's attributes map to a `ConnectionRecord` (dynamo-connection-store.ts writes them). */
export const [CONNECTED_AT, PING_INTERVAL] = CONNECTIONS.pingsIndexAttributes;
/** Where identifiers too long for the index key are kept: usable by RPC calls, not by a remote disconnect. */
export const UNINDEXED_IDENTIFIERS = 'identifiersUnindexed';
/** Set when the server closed the connection on purpose: `$disconnect` keeps no session for it. */
export const NO_RESTORE = 'noRestore';
/** Set at the connection's first presence join: only then does its disconnect read what it joined. */
export const PRESENCE_JOINED = 'presenceJoined';

export function toRecord(item: Record<string, any>): ConnectionRecord {
  return {
    connectionId: item[CONNECTIONS.partitionKey],
    connectedAt: item[CONNECTED_AT],
    expiresAt: item[CONNECTIONS.ttl],
    subprotocol: item.subprotocol,
    headers: item.headers ?? {},
    query: item.query ?? {},
    ...(item.url !== undefined ? { url: item.url } : {}),
    ...(item.sid !== undefined ? { sid: item.sid } : {}),
    ...(item[PING_INTERVAL] !== undefined ? { pingIntervalSeconds: item[PING_INTERVAL] } : {}),
    ...(item[CONNECTIONS.byIdentifiersPartitionKey] !== undefined ? { identifiers: item[CONNECTIONS.byIdentifiersPartitionKey] } : {}),
    ...(item[UNINDEXED_IDENTIFIERS] !== undefined ? { identifiers: item[UNINDEXED_IDENTIFIERS] } : {}),
    ...(item.remoteAddress !== undefined ? { remoteAddress: item.remoteAddress } : {}),
    ...(item.cstate !== undefined ? { cstate: item.cstate } : {}),
    ...(item.channels !== undefined ? { channels: item.channels } : {}),
    ...(item[NO_RESTORE] === true ? { noRestore: true } : {}),
    ...(item[PRESENCE_JOINED] === true ? { presenceJoined: true } : {}),
  };
}
