import { connection, pingWorld, VirtualClock } from './ping-support';
import { START_MS } from './support';
import { MemoryConnectionStore } from '../../lambda/adapters/memory/memory-connection-store';
import { MemoryPingerState } from '../../lambda/adapters/memory/memory-pinger-state';
import { settingsFromEnvironment } from '../../lambda/aws/environment-settings';
import { resolveConfig } from '../../lambda/core/config';
import * as ping from '../../lambda/core/ping';
import { makePingHandler } from '../../lambda/handlers/ping-handler';
import { readEnvironment } from '../../src/contract/environment';

describe('ping handler', () => {
  let rounds: jest.SpiedFunction<typeof ping.pingRound>;
  beforeEach(() => {
    rounds = jest.spyOn(ping, 'pingRound');
  });
  afterEach(() => rounds.mockRestore());

  test('scheduled event: the period starts at the event\'s time, not when Lambda runs it', async () => {
    const clock = new VirtualClock();
    const world = pingWorld({ clock });
    const scheduled = START_MS - (START_MS % 60_000) + 60_000;
    await world.connections.put(connection('c1', scheduled - 1_000));
    clock.advance(scheduled - START_MS + 1_700); // delivered 1.7 s late
    const handler = makePingHandler(async () => world.deps);

    const result = await handler({ time: new Date(scheduled).toISOString() });

    expect(result).toMatchObject({ rounds: 20, lateTicks: 0, pinged: 20, failedRounds: 0 });
    expect(rounds.mock.calls[0][1]).toEqual({ previousTick: scheduled, now: scheduled + 3_000 });
    expect(world.logger.entries.find((e) => e.event === 'ping.period')?.fields).toMatchObject({ start: scheduled, periodMs: 60_000 });
    expect(world.logger.entries.find((e) => e.event === 'metrics')?.fields).toMatchObject({
      Pings: 20,
      GoneConnections: 0,
      PingFailures: 0,
      MaxAgeDisconnects: 0,
      _aws: { CloudWatchMetrics: [expect.objectContaining({ Namespace: 'cdk-cable' })] },
    });
  });

  test('periodMs: a shorter schedule period (the local server\'s) is one round per tick', async () => {
    const clock = new VirtualClock();
    const world = pingWorld({ clock });
    const handler = makePingHandler(async () => ({ ...world.deps, periodMs: 3_000 }));
    expect(await handler({ time: new Date(START_MS).toISOString() })).toMatchObject({ rounds: 1 });
  });

  test('no time (a test invocation): the current period', async () => {
    const clock = new VirtualClock(START_MS - (START_MS % 60_000) + 59_000);
    const world = pingWorld({ clock });
    const handler = makePingHandler(async () => world.deps);
    expect(await handler(undefined)).toMatchObject({ rounds: 1, lateTicks: 19 });
  });

  test('a round that cannot read fails the invocation after the period, logged as a handler failure', async () => {
    const clock = new VirtualClock();
    const world = pingWorld({ clock });
    const failing = Object.assign(Object.create(MemoryConnectionStore.prototype) as MemoryConnectionStore, world.connections, {
      listForPing: () => Promise.reject(Object.assign(new Error('Requested resource not found'), { name: 'ResourceNotFoundException' })),
    });
    const handler = makePingHandler(async () => ({ ...world.deps, connections: failing, periodMs: 3_000 }));
    await expect(handler({ time: new Date(START_MS).toISOString() })).rejects.toThrow(/1 of 1 rounds failed/);
    expect(world.logger.events()).toEqual(expect.arrayContaining(['ping.round', 'ping.period', 'handler.failed']));
  });
});

describe('ping handler: workers', () => {
  const minute = START_MS - (START_MS % 60_000) + 60_000;
  let rounds: jest.SpiedFunction<typeof ping.pingRound>;
  beforeEach(() => {
    rounds = jest.spyOn(ping, 'pingRound');
  });
  afterEach(() => rounds.mockRestore());

  test('a worker\'s event: its share of the period at the event\'s time, PingLag published, no PingWorkers', async () => {
    const clock = new VirtualClock(minute + 300);
    const world = pingWorld({ clock });
    // Connections in every segment, so that this worker's share pings some: a metrics line whose
    // counts are all zero is not written (emf-metrics.ts).
    for (let i = 0; i < 48; i++) await world.connections.put(connection(`c${i}`, minute - 1_000));
    const state = new MemoryPingerState();
    const listed = jest.spyOn(world.connections, 'listForPing');
    const handler = makePingHandler(async () => ({ ...world.deps, coordination: { state, postsPerSecondPerWorker: 700 } }));

    const result = await handler({ kind: 'cable.ping', time: new Date(minute).toISOString(), worker: 2, workers: 3 });

    expect(result).toMatchObject({ outcome: 'ran', worker: 2, workers: 3, rounds: 20, lagMs: 0 });
    expect(rounds.mock.calls[0][1]).toEqual({ previousTick: minute, now: minute + 3_000 });
    expect(new Set(listed.mock.calls.map(([segment, total]) => `${segment}/${total}`))).toEqual(new Set(['8/12', '9/12', '10/12', '11/12']));
    const metrics = world.logger.entries.find((e) => e.event === 'metrics')?.fields;
    expect(metrics).toMatchObject({ PingLag: 0, Pings: expect.any(Number) });
    expect(metrics?.Pings).toBeGreaterThan(0);
    expect(metrics).not.toHaveProperty('PingWorkers');
  });

  test('a duplicate delivery returns without a round and writes no metrics', async () => {
    const state = new MemoryPingerState();
    await state.claimWorker(minute, 1);
    const world = pingWorld({ clock: new VirtualClock(minute) });
    const handler = makePingHandler(async () => ({ ...world.deps, coordination: { state, postsPerSecondPerWorker: 700 } }));
    expect(await handler({ kind: 'cable.ping', time: new Date(minute).toISOString(), worker: 1, workers: 2 })).toMatchObject({ outcome: 'duplicate', rounds: 0 });
    expect(rounds).not.toHaveBeenCalled();
    expect(world.logger.events()).toEqual(['ping.duplicate']);
  });

  test('the scheduled event with no connection: idle, one round, PingWorkers 1', async () => {
    const world = pingWorld({ clock: new VirtualClock(minute) });
    const handler = makePingHandler(async () => ({ ...world.deps, coordination: { state: new MemoryPingerState(), postsPerSecondPerWorker: 700 } }));
    expect(await handler({ time: new Date(minute).toISOString() })).toMatchObject({ outcome: 'idle', rounds: 1 });
    expect(world.logger.entries.find((e) => e.event === 'metrics')?.fields).toMatchObject({ PingWorkers: 1, PingUnderstaffed: 0, PingLag: 0 });
  });
});

describe('environment: ping settings', () => {
  test('CABLE_PING_* and CABLE_MAX_CONNECTION_AGE reach the settings (anycable-go\'s names with the CABLE_ prefix)', () => {
    const env = readEnvironment({
      CABLE_PING_INTERVAL: '30',
      CABLE_PING_MIN_CLIENT_INTERVAL: '10',
      CABLE_PING_MAX_CLIENT_INTERVAL: '300',
      CABLE_PING_MAX_PER_SECOND: '1000',
      CABLE_PING_SEGMENTS: '8',
      CABLE_MAX_CONNECTION_AGE: '3600',
      CABLE_PING_PERIOD: '60',
    });
    expect(env.pingPeriodSeconds).toBe(60);
    expect(resolveConfig(settingsFromEnvironment(env))).toMatchObject({
      ping: { enabled: true, intervalSeconds: 30, minClientIntervalSeconds: 10, maxClientIntervalSeconds: 300, maxPerSecond: 1000, segments: 8 },
      maxConnectionAgeSeconds: 3600,
    });
  });

  test('CABLE_PING_INTERVAL=0 turns pings off; unset means the defaults', () => {
    expect(resolveConfig(settingsFromEnvironment(readEnvironment({ CABLE_PING_INTERVAL: '0' }))).ping.enabled).toBe(false);
    expect(resolveConfig(settingsFromEnvironment(readEnvironment({}))).ping).toEqual(resolveConfig({}).ping);
  });

  test('a value that is not an integer names the variable', () => {
    expect(() => readEnvironment({ CABLE_PING_INTERVAL: 'fast' })).toThrow(/CABLE_PING_INTERVAL must be an integer/);
  });
});
