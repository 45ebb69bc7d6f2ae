import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DeleteCommand, DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { SUBSCRIPTIONS } from '../../lambda/adapters/dynamodb/schema';

/**
 * The two fan-out designs that serverless ActionCable/WebSocket examples commonly ship, written as
 * they are usually written (AWS's simple-websockets-chat-app: Scan, then `Promise.all` over
 * `postToConnection`, deleting the row on 410), against the same tables and SDK clients (SDK
 * defaults) as cdk-cable.
 * @see https://github.com/aws-samples/simple-websockets-chat-app/blob/master/sendmessage/app.js
 */
export interface NaiveDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly api: ApiGatewayManagementApiClient;
  readonly subscriptionsTable: string;
}

export interface NaiveOutcome {
  /** Subscribers posted to. */
  readonly subscribers: number;
  readonly gone: number;
  /** Posts that failed other than with 410. */
  readonly errors: number;
  readonly storePages: number;
}

interface Row {
  readonly connectionId: string;
  readonly identifier: string;
  readonly subscriber: string;
}

/** Query the stream page by page (1 MB pages) and await each post in turn; stop after `limit` subscribers. */
export async function sequentialFanOut(deps: NaiveDeps, stream: string, data: string, limit = Infinity): Promise<NaiveOutcome> {
  let start: Record<string, unknown> | undefined;
  let subscribers = 0;
  let gone = 0;
  let errors = 0;
  let storePages = 0;
  do {
    const page = await deps.doc.send(new QueryCommand({
      TableName: deps.subscriptionsTable,
      KeyConditionExpression: '#stream = :stream',
      ExpressionAttributeNames: { '#stream': SUBSCRIPTIONS.partitionKey },
      ExpressionAttributeValues: { ':stream': stream },
      ExclusiveStartKey: start,
    }));
    storePages++;
    for (const item of page.Items ?? []) {
      if (subscribers >= limit) break;
      subscribers++;
      const outcome = await post(deps, stream, rowOf(item), data);
      if (outcome === 'gone') gone++;
      if (outcome === 'error') errors++;
    }
    start = page.LastEvaluatedKey;
  } while (start && subscribers < limit);
  return { subscribers, gone, errors, storePages };
}

/** Scan the whole table (every page, filtered to the stream), then post to every row at once with `Promise.all`. */
export async function unboundedFanOut(deps: NaiveDeps, stream: string, data: string, limit = Infinity): Promise<NaiveOutcome> {
  const rows: Row[] = [];
  let start: Record<string, unknown> | undefined;
  let storePages = 0;
  do {
    const page = await deps.doc.send(new ScanCommand({
      TableName: deps.subscriptionsTable,
      FilterExpression: '#stream = :stream',
      ExpressionAttributeNames: { '#stream': SUBSCRIPTIONS.partitionKey },
      ExpressionAttributeValues: { ':stream': stream },
      ExclusiveStartKey: start,
    }));
    storePages++;
    for (const item of page.Items ?? []) rows.push(rowOf(item));
    start = page.LastEvaluatedKey;
  } while (start && rows.length < limit);
  const outcomes = await Promise.all(rows.slice(0, limit).map((row) => post(deps, stream, row, data)));
  return {
    subscribers: outcomes.length,
    gone: outcomes.filter((outcome) => outcome === 'gone').length,
    errors: outcomes.filter((outcome) => outcome === 'error').length,
    storePages,
  };
}

async function post(deps: NaiveDeps, stream: string, row: Row, data: string): Promise<'sent' | 'gone' | 'error'> {
  try {
    await deps.api.send(new PostToConnectionCommand({
      ConnectionId: row.connectionId,
      Data: Buffer.from(JSON.stringify({ identifier: row.identifier, message: JSON.parse(data) }), 'utf8'),
    }));
    return 'sent';
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 410) return 'error';
    await deps.doc.send(new DeleteCommand({
      TableName: deps.subscriptionsTable,
      Key: { [SUBSCRIPTIONS.partitionKey]: stream, [SUBSCRIPTIONS.sortKey]: row.subscriber },
    })).catch(() => undefined);
    return 'gone';
  }
}

function rowOf(item: Record<string, unknown>): Row {
  return {
    connectionId: item[SUBSCRIPTIONS.byConnectionPartitionKey] as string,
    identifier: item[SUBSCRIPTIONS.byConnectionSortKey] as string,
    subscriber: item[SUBSCRIPTIONS.sortKey] as string,
  };
}
