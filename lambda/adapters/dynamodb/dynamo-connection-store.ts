import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { CONNECTIONS } from './schema';
import { ConnectionRecord, ConnectionStore } from '../../core/ports';

/**
 * Connections table, one item per connection keyed by `connectionId`; headers and query are
 * stored as maps so they stay readable in the console and queryable by attribute path.
 */
export class DynamoConnectionStore implements ConnectionStore {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly tableName: string) {}

  async put(record: ConnectionRecord): Promise<void> {
    const item: Record<string, unknown> = {
      [CONNECTIONS.partitionKey]: record.connectionId,
      connectedAt: record.connectedAt,
      [CONNECTIONS.ttl]: record.expiresAt,
      subprotocol: record.subprotocol,
      headers: { ...record.headers },
      query: { ...record.query },
    };
    // Omitted rather than relying on the client's removeUndefinedValues, which callers may not set.
    if (record.url !== undefined) item.url = record.url;
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  async get(connectionId: string): Promise<ConnectionRecord | undefined> {
    // Consistent: a message may arrive right after `$connect` wrote the row.
    const { Item: item } = await this.doc.send(new GetCommand({
      TableName: this.tableName,
      Key: { [CONNECTIONS.partitionKey]: connectionId },
      ConsistentRead: true,
    }));
    if (!item) return undefined;
    return {
      connectionId: item[CONNECTIONS.partitionKey],
      connectedAt: item.connectedAt,
      expiresAt: item[CONNECTIONS.ttl],
      subprotocol: item.subprotocol,
      headers: item.headers ?? {},
      query: item.query ?? {},
      ...(item.url !== undefined ? { url: item.url } : {}),
    };
  }

  async delete(connectionId: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: { [CONNECTIONS.partitionKey]: connectionId } }));
  }
}
