import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoConnectionStore } from '../../lambda/adapters/dynamodb/dynamo-connection-store';
import { DynamoSubscriptionStore } from '../../lambda/adapters/dynamodb/dynamo-subscription-store';
import { subscriberKey } from '../../lambda/adapters/dynamodb/schema';
import { deliverBroadcast, fanOut, FanOutDeps } from '../../lambda/core/broadcast';
import { resolveConfig } from '../../lambda/core/config';
import { ShardDispatcher, Subscription } from '../../lambda/core/ports';
import { LocalShardDispatcher } from '../../lambda/local/local-shard-dispatcher';
import { Behaviour, connectionIds, DATA, expectedFrame, PUBSUB_ID, ROOM, ScriptedTransport, TURBO_ID } from '../core/broadcast-support';
import { FakeClock } from '../core/support';
import { useDynalite } from '../support/dynalite';
import { RecordingLogger } from '../support/recording-logger';

const SUBSCRIBERS = 2_500;
const IDS = connectionIds(SUBSCRIBERS, 'conn-');
/** Every 10th connection has gone away without a `$disconnect`. */
const GONE = new Set(IDS.filter((_, i) => i % 10 === 3));
const identifierOf = (id: string) => (IDS.indexOf(id) % 2 === 0 ? TURBO_ID : PUBSUB_ID);

const dynamo = useDynalite();
let tables: { connectionsTable: string; subscriptionsTable: string };

beforeEach(async () => {
  tables = await dynamo.createTables('fanout');
  const subscriptions: Subscription[] = IDS.map((connectionId) => ({
    stream: ROOM, connectionId, identifier: identifierOf(connectionId), expiresAt: 0,
  }));
  // The gone ones are in a second stream too: their clean-up must remove every row, not the broadcast's only.
  for (const connectionId of GONE) subscriptions.push({ stream: 'lobby', connectionId, identifier: TURBO_ID, expiresAt: 0 });
  subscriptions.push({ stream: 'lobby', connectionId: 'bystander', identifier: TURBO_ID, expiresAt: 0 });
  await batchPut(tables.subscriptionsTable, subscriptions.map((s) => ({ ...s, subscriber: subscriberKey(s.connectionId, s.identifier) })));
  await batchPut(tables.connectionsTable, [...IDS, 'bystander'].map((connectionId) => ({ connectionId, connectedAt: 0, expiresAt: 0 })));
});

async function batchPut(table: string, items: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    await dynamo.doc.send(new BatchWriteCommand({ RequestItems: { [table]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
  }
}

async function scan(table: string): Promise<Record<string, unknown>[]> {
  return dynamo.scanAll(table);
}

function deps(fanOutSettings: { concurrency?: number; shardSize?: number } = {}) {
  const script: Record<string, Behaviour> = Object.fromEntries([...GONE].map((id) => [id, 'gone' as const]));
  const transport = new ScriptedTransport(script);
  const subscriptions = new DynamoSubscriptionStore(dynamo.doc, tables.subscriptionsTable);
  const listByStream = jest.spyOn(subscriptions, 'listByStream');
  const logger = new RecordingLogger();
  const fanOutDeps: FanOutDeps = {
    subscriptions,
    connections: new DynamoConnectionStore(dynamo.doc, tables.connectionsTable),
    transport,
    clock: new FakeClock(),
    logger,
    config: resolveConfig({ delivery: fanOutSettings }),
  };
  return { deps: fanOutDeps, transport, listByStream, logger };
}

/** Every live subscriber got exactly one frame, under its identifier; the gone ones were tried once. */
function expectEachOnce(transport: ScriptedTransport): void {
  const live = IDS.filter((id) => !GONE.has(id)).sort();
  const received = transport.decoded();
  expect(Object.keys(received).sort()).toEqual(live);
  expect(received).toEqual(Object.fromEntries(live.map((id) => [id, [expectedFrame(identifierOf(id))]])));
  for (const id of GONE) expect(transport.attempts.get(id)).toBe(1);
  expect(transport.attempts.has('bystander')).toBe(false);
}

/** The gone connections have no row left in either table; everyone else keeps theirs. */
async function expectGoneCleanedUp(): Promise<void> {
  const subscriptions = await scan(tables.subscriptionsTable);
  const connections = await scan(tables.connectionsTable);
  expect(subscriptions.filter((row) => GONE.has(row.connectionId as string))).toEqual([]);
  expect(connections.filter((row) => GONE.has(row.connectionId as string))).toEqual([]);
  expect(subscriptions).toHaveLength(SUBSCRIBERS - GONE.size + 1);
  expect(connections).toHaveLength(SUBSCRIBERS - GONE.size + 1);
}

describe('fan-out on DynamoDB (dynalite)', () => {
  test('fanOut: 2,500 subscribers over several Query pages each get the frame once; 410 rows leave both tables', async () => {
    const { deps: fanOutDeps, transport, listByStream } = deps({ concurrency: 32 });

    const result = await fanOut(fanOutDeps, { stream: ROOM, data: DATA });

    expect(result).toEqual({
      subscribers: SUBSCRIBERS, delivered: SUBSCRIBERS - GONE.size, gone: GONE.size, failed: 0, excluded: 0, retries: 0, pages: 3,
    });
    expect(listByStream).toHaveBeenCalledTimes(3);
    expect(transport.maxInFlight).toBeLessThanOrEqual(32);
    expectEachOnce(transport);
    await expectGoneCleanedUp();
  });

  test('deliverBroadcast: sharded by real DynamoDB cursors, the shards together reach each subscriber once', async () => {
    const { deps: fanOutDeps, transport, logger } = deps({ shardSize: 700 });
    const dispatched: number[] = [];
    const local = new LocalShardDispatcher(fanOutDeps) satisfies ShardDispatcher;
    const shards: ShardDispatcher = { dispatch: (shard) => (dispatched.push(shard.limit ?? 0), local.dispatch(shard)) };

    const result = await deliverBroadcast({ ...fanOutDeps, shards }, { stream: ROOM, data: DATA });
    await local.drain();

    expect(result).toEqual({ mode: 'sharded', shards: 4, subscribers: SUBSCRIBERS, pages: 4, failedShards: 0 });
    expect(dispatched).toEqual([700, 700, 700, 400]);
    expectEachOnce(transport);
    await expectGoneCleanedUp();
    const summaries = logger.entries.filter((e) => e.event === 'broadcast.fan_out').map((e) => e.fields);
    expect(summaries.reduce((sum, f) => sum + (f.delivered as number), 0)).toBe(SUBSCRIBERS - GONE.size);
  });
});
