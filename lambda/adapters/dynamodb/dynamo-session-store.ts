import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { SESSIONS, sessionPartition, SUBSCRIPTIONS } from './schema';
import { SessionSnapshot, SessionStore } from '../../core/session-restore';

/**
 * Resumable sessions in the subscriptions table's reserved session partitions
 * (src/contract/table-schema.ts `SESSIONS`): saving one is a PutItem, restoring it a DeleteItem
 * that returns the item, so of two restores with the same sid only one gets it.
 */
export class DynamoSessionStore implements SessionStore {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly tableName: string) {}

  async save(key: string, snapshot: SessionSnapshot, expiresAt: number): Promise<void> {
    await this.doc.send(new PutCommand({
      TableName: this.tableName,
      Item: { ...itemKey(key), snapshot: JSON.stringify(snapshot), [SUBSCRIPTIONS.ttl]: expiresAt },
    }));
  }

  async take(key: string, nowMs: number): Promise<SessionSnapshot | undefined> {
    const { Attributes: item } = await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: itemKey(key), ReturnValues: 'ALL_OLD' }));
    // DynamoDB's TTL deletes late: an expired session is gone for us.
    if (!item || item[SUBSCRIPTIONS.ttl] * 1000 <= nowMs) return undefined;
    return JSON.parse(item.snapshot) as SessionSnapshot;
  }
}

function itemKey(key: string): Record<string, string> {
  return { [SUBSCRIPTIONS.partitionKey]: sessionPartition(key), [SUBSCRIPTIONS.sortKey]: SESSIONS.sortKey };
}
