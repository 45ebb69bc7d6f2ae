import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { PRESENCE, presenceExpiryKey, presenceIdPrefix, presencePartition, presenceSessionPartition, SUBSCRIPTIONS } from './schema';
import { PresenceEntry, PresenceLeft, PresenceRecord, PresenceStore } from '../../core/presence';
import { PresenceExpiry, PresenceExpiryStore } from '../../core/presence-expiry';

type Item = Record<string, any>;

/**
 * Presence in the subscriptions table's reserved presence partitions (src/contract/table-schema.ts
 * `PRESENCE`). A join is one conditional PutItem (the session's entry: refused when it holds
 * another id), one Query of the id's records and one PutItem; a leave one DeleteItem returning the
 * entry, one DeleteItem and one Query; an `info` one Query (paged past 1 MB); a disconnect one
 * Query of the session's partition, two UpdateItems and one PutItem (its expiry) per channel it
 * joined. The pinger's sweep: one Query of the expiries due, then per due expiry one conditional
 * DeleteItem of the record (a sweep that loses the race announces nothing), one DeleteItem of the
 * expiry and, when the record was this sweep's to remove, one Query of the id's records.
 *
 * Two sessions joining one id at the same moment may both announce it (each Queries before the
 * other's PutItem): a repeated `join` event, which `@anycable/core` applies idempotently. The
 * other order (neither announcing) cannot happen.
 */
export class DynamoPresenceStore implements PresenceStore, PresenceExpiryStore {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly tableName: string) {}

  async join(entry: PresenceEntry, nowMs: number, expiresAt: number): Promise<'joined' | 'present' | 'id_mismatch'> {
    try {
      await this.doc.send(new PutCommand({
        TableName: this.tableName,
        Item: {
          ...sessionItemKey(entry.sessionKey, entry.identifier),
          presenceStream: entry.stream,
          id: entry.id,
          holder: entry.connectionId,
          [SUBSCRIPTIONS.ttl]: expiresAt,
        },
        // Its own earlier join under another id, still live: anycable-go's "presence ID mismatch".
        ConditionExpression: 'attribute_not_exists(#key) OR #id = :id OR #ttl <= :now',
        ExpressionAttributeNames: { '#key': SUBSCRIPTIONS.sortKey, '#id': 'id', '#ttl': SUBSCRIPTIONS.ttl },
        ExpressionAttributeValues: { ':id': entry.id, ':now': Math.floor(nowMs / 1000) },
      }));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'id_mismatch';
      throw error;
    }
    const present = (await this.liveRecords(entry.stream, presenceIdPrefix(entry.id), nowMs)).length > 0;
    await this.doc.send(new PutCommand({
      TableName: this.tableName,
      Item: {
        ...recordKey(entry.stream, entry.id, entry.sessionKey),
        id: entry.id,
        ...(entry.info !== undefined ? { info: entry.info } : {}),
        joinedAt: nowMs,
        holder: entry.connectionId,
        [SUBSCRIPTIONS.ttl]: expiresAt,
      },
    }));
    return present ? 'present' : 'joined';
  }

  async leave(sessionKey: string, identifier: string, nowMs: number): Promise<PresenceLeft | undefined> {
    const { Attributes: held } = await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: sessionItemKey(sessionKey, identifier), ReturnValues: 'ALL_OLD' }));
    if (!held) return undefined;
    const { presenceStream: stream, id } = held as { presenceStream: string; id: string };
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: recordKey(stream, id, sessionKey) }));
    // Expired already: it was gone for everyone, and its leave is not ours to announce.
    if (held[SUBSCRIPTIONS.ttl] * 1000 <= nowMs) return undefined;
    const last = (await this.liveRecords(stream, presenceIdPrefix(id), nowMs)).length === 0;
    return { stream, id, last };
  }

  async info(stream: string, nowMs: number): Promise<PresenceRecord[]> {
    const latest = new Map<string, Item>();
    for (const item of await this.liveRecords(stream, PRESENCE.recordKeyPrefix, nowMs)) {
      const seen = latest.get(item.id);
      if (!seen || seen.joinedAt <= item.joinedAt) latest.set(item.id, item);
    }
    return [...latest.values()].map(({ id, info }) => ({ id, ...(info !== undefined ? { info } : {}) }));
  }

  async finish(sessionKey: string, connectionId: string, expiresAt: number): Promise<void> {
    const joined = await this.query(presenceSessionPartition(sessionKey));
    for (const item of joined) {
      if (item.holder !== connectionId) continue;
      await this.shorten(sessionItemKey(sessionKey, item[SUBSCRIPTIONS.sortKey]), connectionId, expiresAt);
      if (!await this.shorten(recordKey(item.presenceStream, item.id, sessionKey), connectionId, expiresAt)) continue;
      const expiry: PresenceExpiry = { stream: item.presenceStream, id: item.id, sessionKey, holder: connectionId, dueAt: expiresAt };
      await this.doc.send(new PutCommand({
        TableName: this.tableName,
        Item: {
          ...expiryKey(expiry),
          presenceStream: expiry.stream,
          id: expiry.id,
          sessionKey,
          holder: connectionId,
          [SUBSCRIPTIONS.ttl]: expiresAt + PRESENCE.expiryRetentionSeconds,
        },
      }));
    }
  }

  async dueExpiries(nowMs: number): Promise<PresenceExpiry[]> {
    const items = await this.query(PRESENCE.expiryPartition, undefined, presenceExpiryKey(Math.floor(nowMs / 1000) + 1, ''));
    return items.map((item) => ({
      stream: item.presenceStream,
      id: item.id,
      sessionKey: item.sessionKey,
      holder: item.holder,
      dueAt: Number(String(item[SUBSCRIPTIONS.sortKey]).slice(0, PRESENCE.expiryDueDigits)),
    }));
  }

  async expire(expiry: PresenceExpiry, nowMs: number): Promise<PresenceLeft | undefined> {
    if (expiry.dueAt * 1000 > nowMs) return undefined;
    let removed = true;
    try {
      // Once: a second sweeper (or round) finds it gone; a re-join has put another holder and a later TTL.
      await this.doc.send(new DeleteCommand({
        TableName: this.tableName,
        Key: recordKey(expiry.stream, expiry.id, expiry.sessionKey),
        ConditionExpression: 'holder = :holder AND #ttl <= :now',
        ExpressionAttributeNames: { '#ttl': SUBSCRIPTIONS.ttl },
        ExpressionAttributeValues: { ':holder': expiry.holder, ':now': Math.floor(nowMs / 1000) },
      }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      removed = false;
    }
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: expiryKey(expiry) }));
    if (!removed) return undefined;
    const last = (await this.liveRecords(expiry.stream, presenceIdPrefix(expiry.id), nowMs)).length === 0;
    return { stream: expiry.stream, id: expiry.id, last };
  }

  /** Only while this connection still holds it: a restored session's new connection may have joined again. True: shortened. */
  private async shorten(key: Item, connectionId: string, expiresAt: number): Promise<boolean> {
    try {
      await this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: 'SET #ttl = :exp',
        ConditionExpression: 'holder = :holder AND #ttl > :exp',
        ExpressionAttributeNames: { '#ttl': SUBSCRIPTIONS.ttl },
        ExpressionAttributeValues: { ':holder': connectionId, ':exp': expiresAt },
      }));
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return false;
    }
  }

  private async liveRecords(stream: string, prefix: string, nowMs: number): Promise<Item[]> {
    return (await this.query(presencePartition(stream), prefix)).filter((item) => item[SUBSCRIPTIONS.ttl] * 1000 > nowMs);
  }

  /** The partition's items, those whose sort key starts with `prefix` or sorts before `below`. */
  private async query(partition: string, prefix?: string, below?: string): Promise<Item[]> {
    const items: Item[] = [];
    const range = prefix !== undefined ? ' AND begins_with(#sk, :sk)' : below !== undefined ? ' AND #sk < :sk' : '';
    const bound = prefix ?? below;
    let start: Item | undefined;
    do {
      const page = await this.doc.send(new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: `#pk = :pk${range}`,
        ExpressionAttributeNames: { '#pk': SUBSCRIPTIONS.partitionKey, ...(bound === undefined ? {} : { '#sk': SUBSCRIPTIONS.sortKey }) },
        ExpressionAttributeValues: { ':pk': partition, ...(bound === undefined ? {} : { ':sk': bound }) },
        ExclusiveStartKey: start,
      }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }
}

function sessionItemKey(sessionKey: string, identifier: string): Item {
  return { [SUBSCRIPTIONS.partitionKey]: presenceSessionPartition(sessionKey), [SUBSCRIPTIONS.sortKey]: identifier };
}

function recordKey(stream: string, id: string, sessionKey: string): Item {
  return { [SUBSCRIPTIONS.partitionKey]: presencePartition(stream), [SUBSCRIPTIONS.sortKey]: `${presenceIdPrefix(id)}${sessionKey}` };
}

/** One record's expiry, keyed by when it is due and a hash of what it names (a stream may be long). */
function expiryKey(expiry: PresenceExpiry): Item {
  const hash = createHash('sha256').update(JSON.stringify([expiry.stream, expiry.id, expiry.sessionKey])).digest('base64url');
  return { [SUBSCRIPTIONS.partitionKey]: PRESENCE.expiryPartition, [SUBSCRIPTIONS.sortKey]: presenceExpiryKey(expiry.dueAt, hash) };
}
