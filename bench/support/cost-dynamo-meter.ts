import { createServer, IncomingMessage, request as httpRequest, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { AttributeValue, DescribeTableCommand, DynamoDBClient, GetItemCommand, TableDescription } from '@aws-sdk/client-dynamodb';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynaliteDb = require('dynalite/db') as { itemSize(item: Item): number };

type Item = Record<string, AttributeValue>;

/** What the meter counts for one DynamoDB operation (`PutItem`, `Query`, …). */
export interface DynamoOperationCounts {
  requests: number;
  /** Requests DynamoDB refused (any 4xx/5xx), conditional-check failures included. */
  failed: number;
  conditionalCheckFailures: number;
  /** Items read (`Count`) or written (one per write request of a batch). */
  items: number;
  /** `ConsumedCapacity.CapacityUnits` as dynalite reports it (table and read indexes, no index writes). */
  reportedCapacityUnits: number;
  /** Read request units by DynamoDB's rules (see `billedReadUnits`). */
  readRequestUnits: number;
  /** Write request units on the base table. */
  tableWriteUnits: number;
  /** Write request units on global secondary indexes (a write that puts, changes or removes an index entry). */
  indexWriteUnits: number;
}

export type DynamoCounts = Record<string, DynamoOperationCounts>;

const READ_OPERATIONS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem']);
const WRITE_OPERATIONS = new Set(['PutItem', 'DeleteItem', 'UpdateItem', 'BatchWriteItem']);

function emptyCounts(): DynamoOperationCounts {
  return {
    requests: 0,
    failed: 0,
    conditionalCheckFailures: 0,
    items: 0,
    reportedCapacityUnits: 0,
    readRequestUnits: 0,
    tableWriteUnits: 0,
    indexWriteUnits: 0,
  };
}

/**
 * A loopback HTTP proxy in front of dynalite that every DynamoDB client of the run points at
 * (the local server's stores, the pinger's, the broadcast function's): it counts each request by
 * operation and works out the request units DynamoDB would bill for it.
 *
 * - Reads: the proxy adds `ReturnConsumedCapacity: "INDEXES"` to the request and takes dynalite's
 *   answer, which sums the sizes of the items (or index entries) read and rounds up to 4 KB,
 *   halved for eventually consistent reads; a read that finds nothing is raised to DynamoDB's
 *   minimum of one 4 KB unit (0.5 eventually consistent), which dynalite leaves at 0 for Query and Scan.
 * - Writes: dynalite does not report index writes, nor anything for a failed condition, so the
 *   proxy reads each key's item before the write (a GetItem of its own, not counted) and applies
 *   DynamoDB's rules: the larger of the old and new item, in 1 KB units (a delete: the old item,
 *   at least 1); per global secondary index, one write for each index entry put or removed (two
 *   when its key changes), sized from the projected attributes; a failed condition: the existing
 *   item's size, at least 1, and no index write.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html
 */
export class DynamoMeter {
  /** `direct`: a client that talks to dynalite itself (pre-images and table descriptions are not counted). */
  static async start(target: string, direct: DynamoDBClient): Promise<DynamoMeter> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const meter = new DynamoMeter(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, new URL(target), direct);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      meter.inFlightCount++;
      meter.handle(request, response)
        .catch((error: unknown) => {
          if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'application/x-amz-json-1.0' });
          response.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb#InternalServerError', message: `meter: ${(error as Error).message}` }));
        })
        .finally(() => meter.inFlightCount--);
    });
    return meter;
  }

  readonly counts: DynamoCounts = {};
  private inFlightCount = 0;
  private readonly tables = new Map<string, Promise<TableDescription>>();

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
    private readonly target: URL,
    private readonly direct: DynamoDBClient,
  ) {}

  get inFlight(): number {
    return this.inFlightCount;
  }

  snapshot(): DynamoCounts {
    return JSON.parse(JSON.stringify(this.counts));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const operation = String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? 'Unknown';
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      body = {};
    }
    const measured = READ_OPERATIONS.has(operation) || WRITE_OPERATIONS.has(operation);
    if (measured) body.ReturnConsumedCapacity = 'INDEXES';
    const writes = WRITE_OPERATIONS.has(operation) ? await this.preImages(operation, body) : [];

    const payload = Buffer.from(JSON.stringify(body), 'utf8');
    const upstream = await this.forward(request, payload);
    response.writeHead(upstream.status, upstream.headers);
    response.end(upstream.body);
    if (!measured) return;

    let answer: Record<string, unknown> = {};
    try {
      answer = JSON.parse(upstream.body.toString('utf8'));
    } catch {
      answer = {};
    }
    const counts = (this.counts[operation] ??= emptyCounts());
    counts.requests++;
    const ok = upstream.status < 300;
    const conditionFailed = !ok && String(answer.__type ?? '').endsWith('ConditionalCheckFailedException');
    if (!ok) counts.failed++;
    if (conditionFailed) counts.conditionalCheckFailures++;
    counts.reportedCapacityUnits += reportedUnits(answer.ConsumedCapacity);

    if (READ_OPERATIONS.has(operation)) {
      if (!ok) return;
      counts.items += typeof answer.Count === 'number' ? answer.Count : answer.Item ? 1 : 0;
      counts.readRequestUnits += billedReadUnits(operation, body, answer);
      return;
    }
    if (!ok && !conditionFailed) return;
    for (const write of writes) {
      if (conditionFailed) {
        counts.tableWriteUnits += writeUnits(write.before);
        continue;
      }
      counts.items++;
      const after = write.kind === 'delete' ? undefined : write.kind === 'put' ? write.item : await this.read(write.table, write.key);
      counts.tableWriteUnits += Math.max(writeUnits(write.before), write.kind === 'delete' ? 0 : writeUnits(after));
      counts.indexWriteUnits += indexWriteUnits(await this.describe(write.table), write.before, after);
    }
  }

  private async preImages(operation: string, body: Record<string, unknown>): Promise<PendingWrite[]> {
    const single = async (table: string, kind: PendingWrite['kind'], key: Item, item?: Item): Promise<PendingWrite> => ({
      table, kind, key, item, before: await this.read(table, key),
    });
    const table = String(body.TableName ?? '');
    switch (operation) {
      case 'PutItem':
        return [await single(table, 'put', await this.keyOf(table, body.Item as Item), body.Item as Item)];
      case 'DeleteItem':
        return [await single(table, 'delete', body.Key as Item)];
      case 'UpdateItem':
        return [await single(table, 'update', body.Key as Item)];
      case 'BatchWriteItem': {
        const writes: PendingWrite[] = [];
        for (const [name, requests] of Object.entries((body.RequestItems ?? {}) as Record<string, BatchRequest[]>)) {
          for (const entry of requests) {
            if (entry.PutRequest) writes.push(await single(name, 'put', await this.keyOf(name, entry.PutRequest.Item), entry.PutRequest.Item));
            else if (entry.DeleteRequest) writes.push(await single(name, 'delete', entry.DeleteRequest.Key));
          }
        }
        return writes;
      }
      default:
        return [];
    }
  }

  private async keyOf(table: string, item: Item): Promise<Item> {
    const description = await this.describe(table);
    return Object.fromEntries((description.KeySchema ?? []).map(({ AttributeName }) => [AttributeName!, item[AttributeName!]]));
  }

  private async read(table: string, key: Item): Promise<Item | undefined> {
    const { Item: item } = await this.direct.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }));
    return item;
  }

  private describe(table: string): Promise<TableDescription> {
    let description = this.tables.get(table);
    if (!description) {
      description = this.direct.send(new DescribeTableCommand({ TableName: table })).then((result) => result.Table!);
      this.tables.set(table, description);
    }
    return description;
  }

  private forward(request: IncomingMessage, payload: Buffer): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const headers = { ...request.headers, 'content-length': String(payload.length), 'host': this.target.host };
      const options = { host: this.target.hostname, port: this.target.port, method: request.method, path: request.url, headers };
      const upstream = httpRequest(options, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const passed: Record<string, string | string[]> = {};
          for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && name !== 'connection' && name !== 'transfer-encoding') passed[name] = value;
          resolve({ status: answer.statusCode ?? 500, headers: passed, body: Buffer.concat(chunks) });
        });
        answer.on('error', reject);
      });
      upstream.on('error', reject);
      upstream.end(payload);
    });
  }
}

interface BatchRequest {
  readonly PutRequest?: { readonly Item: Item };
  readonly DeleteRequest?: { readonly Key: Item };
}

interface PendingWrite {
  readonly table: string;
  readonly kind: 'put' | 'delete' | 'update';
  readonly key: Item;
  readonly item?: Item;
  readonly before?: Item;
}

/** DynamoDB's item size (attribute names plus values), as dynalite computes it. */
export function itemBytes(item: Item | undefined): number {
  return item ? dynaliteDb.itemSize(item) : 0;
}

function writeUnits(item: Item | undefined): number {
  return Math.max(1, Math.ceil(itemBytes(item) / 1024));
}

function reportedUnits(consumed: unknown): number {
  const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  return list.reduce((sum: number, entry: { CapacityUnits?: number }) => sum + (entry.CapacityUnits ?? 0), 0);
}

/** dynalite's read units, raised to one 4 KB unit per request (0.5 when eventually consistent): DynamoDB's minimum. */
function billedReadUnits(operation: string, body: Record<string, unknown>, answer: Record<string, unknown>): number {
  const reported = reportedUnits(answer.ConsumedCapacity);
  if (operation === 'BatchGetItem') return reported;
  const minimum = body.ConsistentRead === true ? 1 : 0.5;
  return Math.max(reported, minimum);
}

/** Writes to the global secondary indexes of `table` for an item going from `before` to `after`. */
function indexWriteUnits(table: TableDescription, before: Item | undefined, after: Item | undefined): number {
  let units = 0;
  for (const index of table.GlobalSecondaryIndexes ?? []) {
    const old = project(table, index, before);
    const next = project(table, index, after);
    if (!old && !next) continue;
    if (old && !next) {units += writeUnits(old);} else if (!old && next) {units += writeUnits(next);} else if (old && next) {
      const keyOf = (entry: Item) => JSON.stringify((index.KeySchema ?? []).map(({ AttributeName }) => entry[AttributeName!]));
      if (keyOf(old) !== keyOf(next)) units += writeUnits(old) + writeUnits(next);
      else if (JSON.stringify(old) !== JSON.stringify(next)) units += Math.max(writeUnits(old), writeUnits(next));
    }
  }
  return units;
}

/** The index entry of `item`: undefined when the item lacks one of the index's key attributes (a sparse index). */
function project(table: TableDescription, index: NonNullable<TableDescription['GlobalSecondaryIndexes']>[number], item: Item | undefined): Item | undefined {
  if (!item) return undefined;
  const indexKeys = (index.KeySchema ?? []).map(({ AttributeName }) => AttributeName!);
  if (indexKeys.some((name) => item[name] === undefined)) return undefined;
  const projection = index.Projection ?? {};
  if (projection.ProjectionType === 'ALL') return item;
  const tableKeys = (table.KeySchema ?? []).map(({ AttributeName }) => AttributeName!);
  const names = new Set([...indexKeys, ...tableKeys, ...(projection.NonKeyAttributes ?? [])]);
  return Object.fromEntries(Object.entries(item).filter(([name]) => names.has(name)).sort(([a], [b]) => a.localeCompare(b)));
}
