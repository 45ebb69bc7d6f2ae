import {
  BatchWriteCommand, BatchWriteCommandInput, DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor } from './cursor';
import { SUBSCRIPTIONS, subscriberKey } from './schema';
import { Subscription, SubscriptionKey, SubscriptionPage, SubscriptionStore } from '../../core/ports';

const DEFAULT_PAGE_SIZE = 1000;
/** BatchWriteItem accepts at most 25 requests. */
const BATCH_SIZE = 25;

export interface DynamoSubscriptionStoreOptions {
  /**
   * Attempts per BatchWriteItem chunk while DynamoDB answers with `UnprocessedItems`.
   * @default 8
   */
  readonly batchAttempts?: number;
  /**
   * First wait before re-sending unprocessed items, doubled on each retry up to one second.
   * @default 50
   */
  readonly batchBackoffMs?: number;
}

type Key = Record<string, string>;
type WriteRequests = NonNullable<BatchWriteCommandInput['RequestItems']>[string];

/**
 * Subscriptions table (key design in ./schema.ts): a broadcast reads one stream's partition
 * page by page; unsubscribe and `$disconnect` find a connection's rows through `byConnection`.
 */
export class DynamoSubscriptionStore implements SubscriptionStore {
  private readonly batchAttempts: number;
  private readonly batchBackoffMs: number;

  constructor(private readonly doc: DynamoDBDocumentClient, private readonly tableName: string, options: DynamoSubscriptionStoreOptions = {}) {
    this.batchAttempts = options.batchAttempts ?? 8;
    this.batchBackoffMs = options.batchBackoffMs ?? 50;
  }

  async add(subscription: Subscription): Promise<'created' | 'exists'> {
    try {
      // Conditional so that two invocations racing on a re-sent `subscribe` create one row.
      await this.doc.send(new PutCommand({
        TableName: this.tableName,
        Item: {
          [SUBSCRIPTIONS.partitionKey]: subscription.stream,
          [SUBSCRIPTIONS.sortKey]: subscriberKey(subscription.connectionId, subscription.identifier),
          [SUBSCRIPTIONS.byConnectionPartitionKey]: subscription.connectionId,
          [SUBSCRIPTIONS.byConnectionSortKey]: subscription.identifier,
          [SUBSCRIPTIONS.ttl]: subscription.expiresAt,
          ...(subscription.sid !== undefined ? { [SUBSCRIPTIONS.sid]: subscription.sid } : {}),
          ...(subscription.holdUntil !== undefined ? { [SUBSCRIPTIONS.holdUntil]: subscription.holdUntil } : {}),
        },
        ConditionExpression: 'attribute_not_exists(#subscriber)',
        ExpressionAttributeNames: { '#subscriber': SUBSCRIPTIONS.sortKey },
      }));
      return 'created';
    } catch (error) {
      // By name: an instanceof check fails when the bundle holds two copies of the SDK.
      if ((error as Error | undefined)?.name === 'ConditionalCheckFailedException') return 'exists';
      throw error;
    }
  }

  /** One GetItem, consistent: a `subscribe` re-sent right after the first must see its row. */
  async has(key: SubscriptionKey): Promise<boolean> {
    const { Item: item } = await this.doc.send(new GetCommand({
      TableName: this.tableName,
      Key: rowKey(key),
      ConsistentRead: true,
      ProjectionExpression: '#stream',
      ExpressionAttributeNames: { '#stream': SUBSCRIPTIONS.partitionKey },
    }));
    return item !== undefined;
  }

  /** One DeleteItem; ALL_OLD tells the one caller that deleted the row. */
  /** One GetItem, consistent: fan-out waiting on a replay's hold must see its release. */
  async get(key: SubscriptionKey): Promise<Subscription | undefined> {
    const { Item: item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: rowKey(key), ConsistentRead: true }));
    return item ? toSubscription(item) : undefined;
  }

  /** One UpdateItem, only if the row exists. */
  async hold(key: SubscriptionKey, untilMs: number): Promise<boolean> {
    try {
      await this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: rowKey(key),
        UpdateExpression: 'SET #hold = :hold',
        ConditionExpression: 'attribute_exists(#subscriber)',
        ExpressionAttributeNames: { '#hold': SUBSCRIPTIONS.holdUntil, '#subscriber': SUBSCRIPTIONS.sortKey },
        ExpressionAttributeValues: { ':hold': untilMs },
      }));
      return true;
    } catch (error) {
      if ((error as Error | undefined)?.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /** One UpdateItem, only if the row is still there (an unsubscribe may have removed it). */
  async release(key: SubscriptionKey, liveFrom?: number): Promise<void> {
    try {
      await this.doc.send(new UpdateCommand({
        TableName: this.tableName,
        Key: rowKey(key),
        UpdateExpression: liveFrom === undefined ? 'REMOVE #hold' : 'REMOVE #hold SET #live = :live',
        ConditionExpression: 'attribute_exists(#subscriber)',
        ExpressionAttributeNames: {
          '#hold': SUBSCRIPTIONS.holdUntil, '#subscriber': SUBSCRIPTIONS.sortKey, ...(liveFrom === undefined ? {} : { '#live': SUBSCRIPTIONS.liveFrom }),
        },
        ...(liveFrom === undefined ? {} : { ExpressionAttributeValues: { ':live': liveFrom } }),
      }));
    } catch (error) {
      if ((error as Error | undefined)?.name !== 'ConditionalCheckFailedException') throw error;
    }
  }

  async delete(key: SubscriptionKey): Promise<boolean> {
    const { Attributes: attributes } = await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: rowKey(key), ReturnValues: 'ALL_OLD' }));
    return attributes !== undefined;
  }

  async remove(connectionId: string, identifier: string, knownStreams: string[] = []): Promise<string[]> {
    const streams = new Set(knownStreams);
    for (const key of await this.keysOf(connectionId, identifier)) streams.add(key[SUBSCRIPTIONS.partitionKey]);
    await this.deleteKeys([...streams].map((stream) => ({
      [SUBSCRIPTIONS.partitionKey]: stream,
      [SUBSCRIPTIONS.sortKey]: subscriberKey(connectionId, identifier),
    })));
    return [...streams];
  }

  async removeStreams(connectionId: string, identifier: string, streams: string[]): Promise<void> {
    await this.deleteKeys([...new Set(streams)].map((stream) => ({
      [SUBSCRIPTIONS.partitionKey]: stream,
      [SUBSCRIPTIONS.sortKey]: subscriberKey(connectionId, identifier),
    })));
  }

  async removeAll(connectionId: string): Promise<SubscriptionKey[]> {
    const keys = await this.keysOf(connectionId);
    await this.deleteKeys(keys);
    // The sort key is `<connectionId>#<identifier>` (subscriberKey).
    return keys.map((key) => ({
      stream: key[SUBSCRIPTIONS.partitionKey],
      connectionId,
      identifier: String(key[SUBSCRIPTIONS.sortKey]).slice(connectionId.length + 1),
    }));
  }

  async listByStream(stream: string, cursor?: string, limit = DEFAULT_PAGE_SIZE): Promise<SubscriptionPage> {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`limit must be a positive integer, got ${limit}`);
    const result = await this.doc.send(new QueryCommand({
      TableName: this.tableName,
      KeyConditionExpression: '#stream = :stream',
      ExpressionAttributeNames: { '#stream': SUBSCRIPTIONS.partitionKey },
      ExpressionAttributeValues: { ':stream': stream },
      ExclusiveStartKey: cursor === undefined ? undefined : startKey(cursor, stream),
      Limit: limit,
      // Consistent: a client that has just been confirmed must get the next broadcast.
      ConsistentRead: true,
    }));
    return {
      items: (result.Items ?? []).map(toSubscription),
      cursor: result.LastEvaluatedKey ? encodeCursor(result.LastEvaluatedKey) : undefined,
    };
  }

  /**
   * Base-table keys of a connection's rows (of one identifier when given). The index is
   * eventually consistent, so a row written a moment ago may be missed; TTL removes it.
   */
  private async keysOf(connectionId: string, identifier?: string): Promise<Key[]> {
    const input: QueryCommandInput = {
      TableName: this.tableName,
      IndexName: SUBSCRIPTIONS.byConnectionIndex,
      KeyConditionExpression: identifier === undefined ? '#c = :c' : '#c = :c AND #i = :i',
      ExpressionAttributeNames: {
        '#c': SUBSCRIPTIONS.byConnectionPartitionKey,
        ...(identifier === undefined ? {} : { '#i': SUBSCRIPTIONS.byConnectionSortKey }),
      },
      ExpressionAttributeValues: { ':c': connectionId, ...(identifier === undefined ? {} : { ':i': identifier }) },
    };
    const keys: Key[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) {
        keys.push({ [SUBSCRIPTIONS.partitionKey]: item[SUBSCRIPTIONS.partitionKey], [SUBSCRIPTIONS.sortKey]: item[SUBSCRIPTIONS.sortKey] });
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return keys;
  }

  private async deleteKeys(keys: Key[]): Promise<void> {
    for (let i = 0; i < keys.length; i += BATCH_SIZE) {
      await this.deleteBatch(keys.slice(i, i + BATCH_SIZE));
    }
  }

  /** One BatchWriteItem chunk, re-sending what DynamoDB left unprocessed (throttling) with backoff. */
  private async deleteBatch(keys: Key[]): Promise<void> {
    let requests: WriteRequests = keys.map((key) => ({ DeleteRequest: { Key: key } }));
    let wait = this.batchBackoffMs;
    for (let attempt = 1; ; attempt++) {
      const result = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }));
      requests = result.UnprocessedItems?.[this.tableName] ?? [];
      if (requests.length === 0) return;
      if (attempt >= this.batchAttempts) {
        throw new Error(`${this.tableName}: ${requests.length} subscription deletes still unprocessed after ${attempt} BatchWriteItem attempts`);
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, 1000);
    }
  }
}

function toSubscription(item: Record<string, any>): Subscription {
  return {
    stream: item[SUBSCRIPTIONS.partitionKey],
    connectionId: item[SUBSCRIPTIONS.byConnectionPartitionKey],
    identifier: item[SUBSCRIPTIONS.byConnectionSortKey],
    expiresAt: item[SUBSCRIPTIONS.ttl],
    ...(item[SUBSCRIPTIONS.sid] !== undefined ? { sid: item[SUBSCRIPTIONS.sid] } : {}),
    ...(item[SUBSCRIPTIONS.holdUntil] !== undefined ? { holdUntil: item[SUBSCRIPTIONS.holdUntil] } : {}),
    ...(item[SUBSCRIPTIONS.liveFrom] !== undefined ? { liveFrom: item[SUBSCRIPTIONS.liveFrom] } : {}),
  };
}

function rowKey(key: SubscriptionKey): Key {
  return { [SUBSCRIPTIONS.partitionKey]: key.stream, [SUBSCRIPTIONS.sortKey]: subscriberKey(key.connectionId, key.identifier) };
}

/** The key of a `listByStream` page cursor, which must belong to `stream`. */
function startKey(cursor: string, stream: string): Key {
  const record = decodeCursor(cursor);
  // DynamoDB would reject a start key from another partition with an opaque ValidationException.
  if (record === undefined || record[SUBSCRIPTIONS.partitionKey] !== stream || typeof record[SUBSCRIPTIONS.sortKey] !== 'string') {
    throw new Error(`cursor is not one returned by listByStream for stream "${stream}"`);
  }
  return { [SUBSCRIPTIONS.partitionKey]: stream, [SUBSCRIPTIONS.sortKey]: record[SUBSCRIPTIONS.sortKey] as string };
}
