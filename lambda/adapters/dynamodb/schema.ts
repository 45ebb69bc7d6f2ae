/**
 * The tables' key schema, as the construct creates it: one definition, in the contract both
 * sides import (src/contract/table-schema.ts, which documents every attribute and index).
 */
export {
  CONNECTIONS_TABLE as CONNECTIONS, SUBSCRIPTIONS_TABLE as SUBSCRIPTIONS, subscriberKey, STREAM_HISTORY, historyPartition, historyMessageKey,
  SESSIONS, sessionPartition, PRESENCE, presencePartition, presenceSessionPartition, presenceIdPrefix, presenceExpiryKey,
} from '../../../src/contract/table-schema';
