import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { historyMessageKey, historyPartition, STREAM_HISTORY, SUBSCRIPTIONS } from './schema';
import { StreamPosition } from '../../core/ext-protocol';
import { AppendOptions, StoredMessage, StreamHistoryStore } from '../../core/stream-history';

/**
 * Stream positions and messages in the subscriptions table's reserved history partitions
 * (src/contract/table-schema.ts `STREAM_HISTORY`). A broadcast costs one UpdateItem (the counter)
 * and one PutItem (the message); a history read one GetItem and one Query.
 */
export class DynamoStreamHistory implements StreamHistoryStore {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly tableName: string) {}

  async append(stream: string, data: string, options: AppendOptions): Promise<StreamPosition> {
    // Rounded up: a message is kept at least the history TTL (rounded down, one stored a moment
    // before a whole second would be gone up to a second early, as the memory store's never is).
    const expiresAt = Math.ceil(options.nowMs / 1000) + options.ttlSeconds;
    const position = await this.advance(stream, expiresAt, options);
    await this.doc.send(new PutCommand({
      TableName: this.tableName,
      Item: {
        [SUBSCRIPTIONS.partitionKey]: historyPartition(stream),
        [SUBSCRIPTIONS.sortKey]: historyMessageKey(position.offset),
        data,
        storedAt: options.nowMs,
        [SUBSCRIPTIONS.ttl]: expiresAt,
      },
    }));
    return position;
  }

  async position(stream: string, nowMs: number): Promise<StreamPosition | undefined> {
    const { Item: item } = await this.doc.send(new GetCommand({
      TableName: this.tableName,
      Key: positionKey(stream),
      // Consistent: a replay's "live from" must come after every offset already given (history-replay.ts).
      ConsistentRead: true,
    }));
    // DynamoDB's TTL deletes late: an expired item is gone for us.
    if (!item || item[SUBSCRIPTIONS.ttl] * 1000 <= nowMs) return undefined;
    return { offset: item.offset, epoch: item.epoch };
  }

  async read(stream: string, after: number, through: number, nowMs: number): Promise<StoredMessage[]> {
    if (through <= after) return [];
    const found: StoredMessage[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#stream = :stream AND #key BETWEEN :from AND :to',
        ExpressionAttributeNames: { '#stream': SUBSCRIPTIONS.partitionKey, '#key': SUBSCRIPTIONS.sortKey },
        ExpressionAttributeValues: { ':stream': historyPartition(stream), ':from': historyMessageKey(after + 1), ':to': historyMessageKey(through) },
        ExclusiveStartKey: start,
      }));
      for (const item of page.Items ?? []) {
        if (item[SUBSCRIPTIONS.ttl] * 1000 <= nowMs) continue;
        found.push({ offset: offsetOf(item[SUBSCRIPTIONS.sortKey]), data: item.data, storedAt: item.storedAt });
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return found;
  }

  /**
   * The counter: ADD 1 to a live one; else (none, or expired but not deleted yet) start it again
   * at 1 under a new epoch, conditionally, and retry when another broadcast did so first.
   */
  private async advance(stream: string, expiresAt: number, options: { nowMs: number; newEpoch: string }): Promise<StreamPosition> {
    const now = Math.floor(options.nowMs / 1000);
    for (;;) {
      try {
        const { Attributes: item } = await this.doc.send(new UpdateCommand({
          TableName: this.tableName,
          Key: positionKey(stream),
          UpdateExpression: 'ADD #offset :one SET #ttl = :ttl',
          ConditionExpression: '#ttl > :now',
          ExpressionAttributeNames: { '#offset': 'offset', '#ttl': SUBSCRIPTIONS.ttl },
          ExpressionAttributeValues: { ':one': 1, ':ttl': expiresAt, ':now': now },
          ReturnValues: 'ALL_NEW',
        }));
        return { offset: item!.offset, epoch: item!.epoch };
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
      try {
        await this.doc.send(new PutCommand({
          TableName: this.tableName,
          Item: { ...positionKey(stream), offset: 1, epoch: options.newEpoch, [SUBSCRIPTIONS.ttl]: expiresAt },
          ConditionExpression: 'attribute_not_exists(#key) OR #ttl <= :now',
          ExpressionAttributeNames: { '#key': SUBSCRIPTIONS.sortKey, '#ttl': SUBSCRIPTIONS.ttl },
          ExpressionAttributeValues: { ':now': now },
        }));
        return { offset: 1, epoch: options.newEpoch };
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
        // Another broadcast started the stream first: take the next offset of its epoch.
      }
    }
  }
}

function positionKey(stream: string): Record<string, string> {
  return { [SUBSCRIPTIONS.partitionKey]: historyPartition(stream), [SUBSCRIPTIONS.sortKey]: STREAM_HISTORY.positionKey };
}

function offsetOf(key: string): number {
  return Number(key.slice(STREAM_HISTORY.messageKeyPrefix.length));
}

/** By name: an instanceof check fails when the bundle holds two copies of the SDK. */
function isConditionFailed(error: unknown): boolean {
  return (error as Error | undefined)?.name === 'ConditionalCheckFailedException';
}
