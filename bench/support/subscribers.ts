import { createHash } from 'node:crypto';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CONNECTIONS, SUBSCRIPTIONS, subscriberKey } from '../../lambda/adapters/dynamodb/schema';
import { signStream } from '../../lambda/core/signed-stream';
import { tableDefinitions } from '../../test/support/table-definitions';

/** The stream every seeded subscriber follows: `turbo_stream_from @room, :messages` in Rails. */
export const BENCH_STREAM = 'Z2lkOi8vYXBwL1Jvb20vMQ:messages';
const BENCH_SECRET = 'bench-turbo-streams-secret';

/** The identifier `@hotwired/turbo-rails` sends for that stream (a real signed name, so rows have a real size). */
export const BENCH_IDENTIFIER = JSON.stringify({ channel: 'Turbo::StreamsChannel', signed_stream_name: signStream(BENCH_STREAM, BENCH_SECRET) });

/** What `broadcast_append_to @room, :messages` sends: AnyCable's `data`, the JSON-encoded message. */
export const BENCH_DATA = JSON.stringify(
  '<turbo-stream action="append" target="messages"><template><div id="message_42">Hello from the fan-out benchmark</div></template></turbo-stream>',
);

/** An API Gateway-shaped connection id (16 characters of base64 ending in `=`), stable per index. */
export function connectionIdOf(index: number): string {
  return `${createHash('sha1').update(`bench-${index}`).digest('base64').slice(0, 15).replace(/\//g, '_')}=`;
}

export function subscriptionItem(connectionId: string, expiresAt: number): Record<string, unknown> {
  return {
    [SUBSCRIPTIONS.partitionKey]: BENCH_STREAM,
    [SUBSCRIPTIONS.sortKey]: subscriberKey(connectionId, BENCH_IDENTIFIER),
    [SUBSCRIPTIONS.byConnectionPartitionKey]: connectionId,
    [SUBSCRIPTIONS.byConnectionSortKey]: BENCH_IDENTIFIER,
    [SUBSCRIPTIONS.ttl]: expiresAt,
  };
}

export interface BenchTables {
  readonly connectionsTable: string;
  readonly subscriptionsTable: string;
}

let tableCounter = 0;

/** The two tables with the construct's keys and indexes (test/support/table-definitions.ts). */
export async function createTables(client: DynamoDBClient): Promise<BenchTables> {
  const suffix = `${process.pid}-${++tableCounter}`;
  const tables = { connectionsTable: `bench-connections-${suffix}`, subscriptionsTable: `bench-subscriptions-${suffix}` };
  for (const definition of tableDefinitions(tables.connectionsTable, tables.subscriptionsTable)) {
    await client.send(new CreateTableCommand(definition));
  }
  return tables;
}

export async function deleteTables(client: DynamoDBClient, tables: BenchTables): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: tables.connectionsTable }));
  await client.send(new DeleteTableCommand({ TableName: tables.subscriptionsTable }));
}

const BATCH = 25;
const SEED_CONCURRENCY = 16;
const MAX_BATCH_ATTEMPTS = 10;

/**
 * Writes a subscription row (and a connection row, as `$connect` would have) for each connection
 * id, with BatchWriteItem, several batches in flight, re-sending unprocessed items.
 */
export async function seedSubscribers(doc: DynamoDBDocumentClient, tables: BenchTables, connectionIds: readonly string[]): Promise<void> {
  const expiresAt = Math.floor(Date.now() / 1000) + 3 * 60 * 60;
  const batches: Record<string, unknown>[][][] = [];
  for (let i = 0; i < connectionIds.length; i += BATCH) {
    const ids = connectionIds.slice(i, i + BATCH);
    batches.push([
      ids.map((id) => subscriptionItem(id, expiresAt)),
      ids.map((id) => ({ [CONNECTIONS.partitionKey]: id, [CONNECTIONS.ttl]: expiresAt, connectedAt: Date.now(), subprotocol: 'actioncable-v1-json', headers: {}, query: {} })),
    ]);
  }
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const [subscriptions, connections] = batches[next++];
      await writeAll(doc, tables.subscriptionsTable, subscriptions);
      await writeAll(doc, tables.connectionsTable, connections);
    }
  };
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
}

async function writeAll(doc: DynamoDBDocumentClient, table: string, items: Record<string, unknown>[]): Promise<void> {
  let requests = items.map((item) => ({ PutRequest: { Item: item } }));
  for (let attempt = 1; requests.length > 0; attempt++) {
    if (attempt > MAX_BATCH_ATTEMPTS) throw new Error(`${table}: ${requests.length} puts still unprocessed after ${MAX_BATCH_ATTEMPTS} attempts`);
    const result = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
    requests = (result.UnprocessedItems?.[table] ?? []) as typeof requests;
  }
}
