import { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { tableDefinitions } from './table-definitions';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite');

/** A real DynamoDB API (dynalite, in memory) on a random local port, with the cable's tables. */
export interface TestDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly connectionsTable: string;
  readonly subscriptionsTable: string;
  /** Creates a fresh pair of tables (unique names) and returns their names. */
  createTables(prefix?: string): Promise<{ connectionsTable: string; subscriptionsTable: string }>;
  /** Every row of a table, every page, read consistently (the stores themselves never scan). */
  scanAll(table: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

// The SDK signs requests even against dynalite; any credentials do.
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
process.env.AWS_REGION ??= 'us-east-1';

let tableCounter = 0;

export async function startDynalite(): Promise<TestDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });

  const createTables = async (prefix = 'cable') => {
    const suffix = `${process.pid}-${++tableCounter}`;
    const connectionsTable = `${prefix}-connections-${suffix}`;
    const subscriptionsTable = `${prefix}-subscriptions-${suffix}`;
    for (const definition of tableDefinitions(connectionsTable, subscriptionsTable)) await client.send(new CreateTableCommand(definition));
    return { connectionsTable, subscriptionsTable };
  };

  const scanAll = async (table: string) => {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  };

  const tables = await createTables();
  return {
    endpoint,
    client,
    doc,
    ...tables,
    createTables,
    scanAll,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * One dynalite for a test file: started before its tests, closed after them. Call it at the top
 * level of the file; the object it returns stands for the running one inside tests and hooks.
 */
export function useDynalite(): TestDynamo {
  let started: TestDynamo | undefined;
  beforeAll(async () => {
    started = await startDynalite();
  });
  afterAll(async () => {
    await started?.close();
  });
  return new Proxy({} as TestDynamo, {
    get: (_target, property) => {
      if (!started) throw new Error('dynalite is not running: use it inside tests and hooks of the file that called useDynalite()');
      return Reflect.get(started, property);
    },
  });
}
