import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { CONNECTIONS } from './schema';
import { ConnectionRecord, ConnectionStore, PingCandidate, PingCandidatePage } from '../../core/ports';

const [CONNECTED_AT, PING_INTERVAL] = CONNECTIONS.pingsIndexAttributes;
/** DynamoDB's limit on a partition key value (of the `byIdentifiers` index here). */
const MAX_KEY_BYTES = 2048;

export interface DynamoConnectionStoreOptions {
  /**
   * Connections per `listForPing` page.
   * @default - as many as fit in DynamoDB's 1 MB page (about 15,000)
   */
  readonly pingPageSize?: number;
}

/**
 * Connections table, one item per connection keyed by `connectionId`; headers and query are
 * stored as maps so they stay readable in the console and queryable by attribute path. The
 * pinger reads the slim `pings` index, a remote disconnect the sparse `byIdentifiers` index.
 */
export class DynamoConnectionStore implements ConnectionStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: DynamoConnectionStoreOptions = {},
  ) {}

  async put(record: ConnectionRecord): Promise<void> {
    const item: Record<string, unknown> = {
      [CONNECTIONS.partitionKey]: record.connectionId,
      [CONNECTED_AT]: record.connectedAt,
      [CONNECTIONS.ttl]: record.expiresAt,
      subprotocol: record.subprotocol,
      headers: { ...record.headers },
      query: { ...record.query },
    };
    // Omitted rather than relying on the client's removeUndefinedValues, which callers may not set.
    if (record.url !== undefined) item.url = record.url;
    if (record.pingIntervalSeconds !== undefined) item[PING_INTERVAL] = record.pingIntervalSeconds;
    if (record.identifiers !== undefined) {
      // DynamoDB would refuse the whole item with an opaque ValidationException.
      if (Buffer.byteLength(record.identifiers) > MAX_KEY_BYTES) {
        throw new Error(`identifiers of ${record.connectionId} are over ${MAX_KEY_BYTES} bytes, the limit of the ${CONNECTIONS.byIdentifiersIndex} index key`);
      }
      item[CONNECTIONS.byIdentifiersPartitionKey] = record.identifiers;
    }
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
      connectedAt: item[CONNECTED_AT],
      expiresAt: item[CONNECTIONS.ttl],
      subprotocol: item.subprotocol,
      headers: item.headers ?? {},
      query: item.query ?? {},
      ...(item.url !== undefined ? { url: item.url } : {}),
      ...(item[PING_INTERVAL] !== undefined ? { pingIntervalSeconds: item[PING_INTERVAL] } : {}),
      ...(item[CONNECTIONS.byIdentifiersPartitionKey] !== undefined ? { identifiers: item[CONNECTIONS.byIdentifiersPartitionKey] } : {}),
    };
  }

  async delete(connectionId: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: { [CONNECTIONS.partitionKey]: connectionId } }));
  }

  /**
   * A parallel Scan of the `pings` index: eventually consistent (half the read cost), so a
   * connection made a moment ago may first show up in the next round, which is soon enough for
   * its first ping. A page stops at DynamoDB's 1 MB (about 15,000 connections).
   */
  async listForPing(segment: number, totalSegments: number, cursor?: string): Promise<PingCandidatePage> {
    if (!Number.isInteger(totalSegments) || totalSegments < 1 || !Number.isInteger(segment) || segment < 0 || segment >= totalSegments) {
      throw new Error(`listForPing: segment must be an integer from 0 to totalSegments - 1, got ${segment} of ${totalSegments}`);
    }
    const result = await this.doc.send(new ScanCommand({
      TableName: this.tableName,
      IndexName: CONNECTIONS.pingsIndex,
      Segment: segment,
      TotalSegments: totalSegments,
      ExclusiveStartKey: cursor === undefined ? undefined : decodeCursor(cursor),
      Limit: this.options.pingPageSize,
    }));
    return {
      items: (result.Items ?? []).map((item): PingCandidate => ({
        connectionId: item[CONNECTIONS.partitionKey],
        connectedAt: item[CONNECTED_AT],
        ...(item[PING_INTERVAL] !== undefined ? { pingIntervalSeconds: item[PING_INTERVAL] } : {}),
      })),
      cursor: result.LastEvaluatedKey ? encodeCursor(result.LastEvaluatedKey) : undefined,
    };
  }

  async findByIdentifiers(identifiers: string): Promise<string[]> {
    if (identifiers === '' || Buffer.byteLength(identifiers) > MAX_KEY_BYTES) return []; // no row can hold such a key
    const ids: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(new QueryCommand({
        TableName: this.tableName,
        IndexName: CONNECTIONS.byIdentifiersIndex,
        KeyConditionExpression: '#identifiers = :identifiers',
        ExpressionAttributeNames: { '#identifiers': CONNECTIONS.byIdentifiersPartitionKey },
        ExpressionAttributeValues: { ':identifiers': identifiers },
        ExclusiveStartKey: start,
      }));
      for (const item of page.Items ?? []) ids.push(item[CONNECTIONS.partitionKey]);
      start = page.LastEvaluatedKey;
    } while (start);
    return ids;
  }
}

function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): Record<string, string> {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  const record = key as Record<string, unknown> | undefined;
  if (typeof record !== 'object' || record === null || typeof record[CONNECTIONS.partitionKey] !== 'string') {
    throw new Error('cursor is not one returned by listForPing');
  }
  return { [CONNECTIONS.partitionKey]: record[CONNECTIONS.partitionKey] as string };
}
