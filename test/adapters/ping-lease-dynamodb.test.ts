import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoConnectionStore } from '../../lambda/adapters/dynamodb/dynamo-connection-store';
import { DynamoPingerState } from '../../lambda/adapters/dynamodb/dynamo-pinger-state';
import { DynamoSubscriptionStore } from '../../lambda/adapters/dynamodb/dynamo-subscription-store';
import { SUBSCRIPTIONS } from '../../lambda/adapters/dynamodb/schema';
import { STALE_LEASE_MS } from '../../lambda/core/ping-coordination';
import { ensurePinger } from '../../lambda/core/ping-lease';
import { PingInvocationEvent } from '../../lambda/core/ping-workers';
import { FakeClock, START_MS } from '../core/support';
import { useDynalite } from '../support/dynalite';
import { RecordingLogger } from '../support/recording-logger';

const PERIOD = 60_000;
const MINUTE = START_MS - (START_MS % PERIOD) + PERIOD;

const dynamo = useDynalite();
let tables: { connectionsTable: string; subscriptionsTable: string };
let state: DynamoPingerState;

beforeEach(async () => {
  tables = await dynamo.createTables();
  state = new DynamoPingerState(dynamo.doc, tables.subscriptionsTable);
});

describe('pinger lease in DynamoDB', () => {
  test('lease: ten concurrent $connects take it once; one pinger is started', async () => {
    const started: PingInvocationEvent[] = [];
    const launcher = { launch: async (event: PingInvocationEvent) => { started.push(event); } };
    let n = 0;
    const keepalive = { state, launcher, periodMs: PERIOD, token: () => `token-${n++}` };
    const clock = new FakeClock(MINUTE + 5_000);
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => ensurePinger(keepalive, clock, new RecordingLogger())));
    expect(outcomes.filter((outcome) => outcome === 'started')).toHaveLength(1);
    expect(started).toHaveLength(1);
    expect(await state.read()).toMatchObject({ period: MINUTE, phase: 'leased' });
  });

  test('claimPeriod: the schedule claims a free period once; a duplicate delivery is refused', async () => {
    expect(await state.claimPeriod(MINUTE, MINUTE)).toEqual({ claimed: true, previous: undefined });
    expect(await state.claimPeriod(MINUTE, MINUTE + 100)).toEqual({ claimed: false });
    await state.record(MINUTE, 4_200, 3);
    const next = await state.claimPeriod(MINUTE + PERIOD, MINUTE + PERIOD);
    expect(next).toEqual({ claimed: true, previous: { period: MINUTE, phase: 'running', connections: 4_200 } });
  });

  test('markArrival: a $connect during the first round keeps the period from going idle; the next claim clears the mark and the count', async () => {
    await state.claimPeriod(MINUTE, MINUTE);
    expect(await state.read()).not.toHaveProperty('connections');
    expect(await state.markArrival(MINUTE)).toBe(true);
    expect(await state.release(MINUTE)).toBe(false);
    expect(await state.read()).toMatchObject({ period: MINUTE, phase: 'running' });
    await state.record(MINUTE, 1, 1);
    expect((await state.claimPeriod(MINUTE + PERIOD, MINUTE + PERIOD)).previous).toMatchObject({ connections: 1 });
    expect(await state.read()).not.toHaveProperty('connections');
    expect(await state.release(MINUTE + PERIOD)).toBe(true);
    expect(await state.markArrival(MINUTE + PERIOD)).toBe(false);
  });

  test('claimPeriod: an idle period may be claimed again; an earlier period never', async () => {
    await state.claimPeriod(MINUTE, MINUTE);
    await state.release(MINUTE);
    expect(await state.read()).toMatchObject({ period: MINUTE, phase: 'idle', connections: 0 });
    expect((await state.claimPeriod(MINUTE, MINUTE + 1_000)).claimed).toBe(true);
    expect((await state.claimPeriod(MINUTE - PERIOD, MINUTE + 1_000)).claimed).toBe(false);
  });

  test('claimPeriod: a lease $connect took is claimed by its token only, once; the schedule takes it over when stale', async () => {
    expect(await state.takeLease(MINUTE, 'mine', MINUTE)).toBe(true);
    expect((await state.claimPeriod(MINUTE, MINUTE + 1_000)).claimed).toBe(false);
    expect((await state.claimPeriod(MINUTE, MINUTE + 1_000, 'other')).claimed).toBe(false);
    expect((await state.claimPeriod(MINUTE, MINUTE + 1_000, 'mine')).claimed).toBe(true);
    expect((await state.claimPeriod(MINUTE, MINUTE + 1_000, 'mine')).claimed).toBe(false);

    expect(await state.takeLease(MINUTE + PERIOD, 'lost', MINUTE + PERIOD)).toBe(true);
    expect((await state.claimPeriod(MINUTE + PERIOD, MINUTE + PERIOD + STALE_LEASE_MS + 1)).claimed).toBe(true);
  });

  test('claimWorker: one claim per (period, worker)', async () => {
    expect(await state.claimWorker(MINUTE, 1, MINUTE)).toBe(true);
    expect(await state.claimWorker(MINUTE, 1, MINUTE)).toBe(false);
    expect(await state.claimWorker(MINUTE, 2, MINUTE)).toBe(true);
    expect(await state.claimWorker(MINUTE + PERIOD, 1, MINUTE)).toBe(true);
  });

  test('stored apart: no connection scan, stream or connection lookup sees the pinger\'s items', async () => {
    await state.claimPeriod(MINUTE, MINUTE);
    await state.claimWorker(MINUTE, 1, MINUTE);
    const connections = new DynamoConnectionStore(dynamo.doc, tables.connectionsTable);
    expect((await connections.listForPing(0, 1)).items).toEqual([]);
    const byConnection = await dynamo.doc.send(new QueryCommand({
      TableName: tables.subscriptionsTable,
      IndexName: SUBSCRIPTIONS.byConnectionIndex,
      KeyConditionExpression: '#c = :c',
      ExpressionAttributeNames: { '#c': SUBSCRIPTIONS.byConnectionPartitionKey },
      ExpressionAttributeValues: { ':c': 'undefined' },
    }));
    expect(byConnection.Items).toEqual([]);
    expect((await new DynamoSubscriptionStore(dynamo.doc, tables.subscriptionsTable).listByStream('cdk-cable:pinger')).items).toEqual([]);
    const rows = await dynamo.scanAll(tables.subscriptionsTable);
    expect(rows.map((row) => row[SUBSCRIPTIONS.sortKey]).sort()).toEqual(['state', `worker#${MINUTE}#1`]);
    expect(rows.every((row) => typeof row[SUBSCRIPTIONS.ttl] === 'number')).toBe(true);
  });
});
