import { connection, pingWorld, VirtualClock } from './ping-support';
import { START_MS } from './support';
import { MemoryPingerState } from '../../lambda/adapters/memory/memory-pinger-state';
import { PingLauncher } from '../../lambda/core/ping-coordination';
import { PingInvocationDeps, runPingInvocation } from '../../lambda/core/ping-invocation';
import { PingInvocationEvent, pingWorkerCount } from '../../lambda/core/ping-workers';

/*
 * runPingInvocation's coordination beyond the happy paths of ping-workers.test.ts: what the result
 * and the logs say, the count it records for the next period, and how it carries on when the
 * pinger state or a worker's launch fails.
 */

const PERIOD = 60_000;
/** A whole minute after START_MS: the scheduled time of an invocation. */
const MINUTE = START_MS - (START_MS % PERIOD) + PERIOD;
const BOOM = new Error('boom');

class RecordingLauncher implements PingLauncher {
  readonly events: PingInvocationEvent[] = [];
  constructor(private readonly failing: readonly number[] = []) {}
  async launch(event: PingInvocationEvent): Promise<void> {
    this.events.push(event);
    if (this.failing.includes(event.worker)) throw BOOM;
  }
}

function coordinated(options: { state?: MemoryPingerState; launcher?: RecordingLauncher; at?: number; postsPerSecondPerWorker?: number } = {}) {
  const clock = new VirtualClock(options.at ?? MINUTE);
  const world = pingWorld({ clock });
  const state = options.state ?? new MemoryPingerState();
  const launcher = options.launcher ?? new RecordingLauncher();
  const coordination = { state, launcher, postsPerSecondPerWorker: options.postsPerSecondPerWorker ?? 700 };
  const deps: PingInvocationDeps = { ...world.deps, coordination };
  return { ...world, clock, state, launcher, deps };
}

async function putConnections(world: { connections: { put(record: ReturnType<typeof connection>): Promise<void> } }, count: number, prefix = 'Conn') {
  for (let i = 0; i < count; i++) await world.connections.put(connection(`${prefix}${i}=`, MINUTE - 1_000));
}

/** The counts the coordinator wrote for the next period, in order. */
function recordedCounts(state: MemoryPingerState): number[][] {
  const record = jest.spyOn(state, 'record');
  return record.mock.calls as unknown as number[][];
}

describe('runPingInvocation: results', () => {
  test('without coordination: one invocation, nothing launched, not understaffed', async () => {
    const world = pingWorld({ clock: new VirtualClock(MINUTE) });
    await world.connections.put(connection('c1', MINUTE - 1_000));
    const result = await runPingInvocation(world.deps, { start: MINUTE, periodMs: PERIOD });
    expect(result).toMatchObject({ outcome: 'ran', worker: 0, workers: 1, launchFailures: 0, understaffed: false, pinged: 20 });
  });

  test('a worker that ran, and its duplicate delivery: neither understaffed nor launching, and the duplicate is logged with its period and worker', async () => {
    const state = new MemoryPingerState();
    const results = [];
    let logged;
    for (let delivery = 0; delivery < 2; delivery++) {
      const world = coordinated({ state });
      await putConnections(world, 8);
      results.push(await runPingInvocation(world.deps, { start: MINUTE, periodMs: PERIOD, worker: 1, workers: 2 }));
      logged = world.logger.entries.filter((entry) => entry.event === 'ping.duplicate');
    }
    expect(results).toMatchObject([
      { outcome: 'ran', worker: 1, workers: 2, launchFailures: 0, understaffed: false },
      { outcome: 'duplicate', worker: 1, workers: 2, launchFailures: 0, understaffed: false, rounds: 0 },
    ]);
    expect(logged).toEqual([{ level: 'info', event: 'ping.duplicate', fields: { start: MINUTE, worker: 1 } }]);
  });

  test('a duplicate coordinator: not understaffed, and logged with its period, worker and lease', async () => {
    const state = new MemoryPingerState();
    await state.claimPeriod(MINUTE, MINUTE);
    const world = coordinated({ state });
    const result = await runPingInvocation(world.deps, { start: MINUTE, periodMs: PERIOD, lease: 'stale-token' });
    expect(result).toMatchObject({ outcome: 'duplicate', worker: 0, workers: 1, launchFailures: 0, understaffed: false });
    expect(world.logger.entries).toEqual([{ level: 'info', event: 'ping.duplicate', fields: { start: MINUTE, worker: 0, lease: 'stale-token' } }]);
  });
});

describe('runPingInvocation: sizing the period', () => {
  test('a count from long ago (the pinger was idle since) is no guide: one invocation, no workers started', async () => {
    const state = new MemoryPingerState();
    await state.claimPeriod(MINUTE - 3 * PERIOD, MINUTE - 3 * PERIOD);
    await state.record(MINUTE - 3 * PERIOD, 5_000, 3);
    const world = coordinated({ state });
    await putConnections(world, 1);
    expect(await runPingInvocation(world.deps, { start: MINUTE, periodMs: PERIOD })).toMatchObject({ outcome: 'ran', workers: 1 });
    expect(world.launcher.events).toEqual([]);
  });

  test('two workers: the coordinator starts worker 1', async () => {
    const state = new MemoryPingerState();
    await state.claimPeriod(MINUTE - PERIOD, MINUTE - PERIOD);
    await state.record(MINUTE - PERIOD, 1_700, 1); // just over one worker's plan at 700/s
    const world = coordinated({ state });
    await putConnections(world, 1);
    expect(await runPingInvocation(world.deps, { start: MINUTE, periodMs: PERIOD })).toMatchObject({ workers: 2, launchFailures: 0 });
    expect(world.launcher.events).toEqual([{ kind: 'cable.ping', time: new Date(MINUTE).toISOString(), worker: 1, workers: 2 }]);
  });

  test('the count recorded for the next period estimates all connections from the coordinator\'s share', async () => {
    const state = new MemoryPingerState();
    await state.claimPeriod(MINUTE - PERIOD, MINUTE - PERIOD);
    await state.record(MINUTE - PERIOD, 5_000, 3);
    const world = coordinated({ state });
    await putConnections(world, 120);
    expect(await runPingInvocation(world.deps, { start: MINUTE, periodMs: PERIOD })).toMatchObject({ workers: 3 });
    // Its share is 4 of 12 evenly hashed segments: about a third of the 120, times 3.
    const { connections } = (await state.read())!;
    expect(connections).toBeGreaterThanOrEqual(60);
    expect(connections).toBeLessThanOrEqual(240);
  });
});

describe('runPingInvocation: the first round decides', () => {
  test('the idle exit is taken on the first round only: a period whose only connection goes away later runs all its rounds', async () => {
    const clock = new VirtualClock(MINUTE);
    const world = pingWorld({ clock, script: { c1: 'gone' } });
    const state = new MemoryPingerState();
    const deps: PingInvocationDeps = { ...world.deps, coordination: { state, launcher: new RecordingLauncher(), postsPerSecondPerWorker: 700 } };
    await world.connections.put(connection('c1', MINUTE - 1_000));
    const result = await runPingInvocation(deps, { start: MINUTE, periodMs: PERIOD });
    expect(result).toMatchObject({ outcome: 'ran', rounds: 20, gone: 1 });
  });

  test('understaffed: a first round finding more than the workers can ping says so once, with how many were needed', async () => {
    // 1 post/s per worker plans 0.8/s: 30 connections at a 3 s tick need 10/s.
    const world = coordinated({ postsPerSecondPerWorker: 1 });
    await putConnections(world, 30);
    const result = await runPingInvocation(world.deps, { start: MINUTE, periodMs: PERIOD });
    expect(result).toMatchObject({ outcome: 'ran', workers: 1, understaffed: true });
    const sizing = { postsPerSecondPerWorker: 1, maxPerSecond: world.deps.config.ping.maxPerSecond, tickSeconds: 3 };
    expect(world.logger.at('warn').filter((entry) => entry.event === 'ping.understaffed')).toEqual([
      { level: 'warn', event: 'ping.understaffed', fields: { start: MINUTE, workers: 1, connections: 30, needed: pingWorkerCount(30, sizing) } },
    ]);
  });

  test('not understaffed: a period its workers can ping says nothing of it', async () => {
    const world = coordinated();
    await putConnections(world, 3);
    expect(await runPingInvocation(world.deps, { start: MINUTE, periodMs: PERIOD })).toMatchObject({ outcome: 'ran', understaffed: false });
    expect(world.logger.events()).not.toContain('ping.understaffed');
  });
});

describe('runPingInvocation: the count recorded for the next period', () => {
  test('written once when the count does not change', async () => {
    const world = coordinated();
    const counts = recordedCounts(world.state);
    await putConnections(world, 4);
    expect(await runPingInvocation(world.deps, { start: MINUTE, periodMs: PERIOD })).toMatchObject({ rounds: 20 });
    expect(counts).toEqual([[MINUTE, 4, 1]]);
  });

  test('written once when a pinger $connect started finds no connection (it does not exit idle)', async () => {
    const state = new MemoryPingerState();
    await state.takeLease(MINUTE, 'token', MINUTE + 20_000);
    const world = coordinated({ state, at: MINUTE + 20_000 });
    const counts = recordedCounts(state);
    expect(await runPingInvocation(world.deps, { start: MINUTE, periodMs: PERIOD, lease: 'token' })).toMatchObject({ outcome: 'ran', rounds: 14 });
    expect(counts).toEqual([[MINUTE, 0, 1]]);
  });

  test('written again when the count grows by more than a quarter', async () => {
    const world = coordinated();
    const write = world.state.record.bind(world.state);
    const record = jest.spyOn(world.state, 'record');
    // Clients arrive after the first count was written: 4 grow to 6.
    record.mockImplementationOnce(async (...args) => {
      await write(...args);
      await putConnections(world, 2, 'Late');
    });
    await putConnections(world, 4);
    await runPingInvocation(world.deps, { start: MINUTE, periodMs: PERIOD });
    expect(record.mock.calls).toEqual([[MINUTE, 4, 1], [MINUTE, 6, 1]]);
  });
});

describe('runPingInvocation: late delivery', () => {
  test('a scheduled invocation delivered late counts the ticks it missed as late', async () => {
    const world = coordinated({ at: MINUTE + 10_000 });
    await putConnections(world, 1);
    const result = await runPingInvocation(world.deps, { start: MINUTE, periodMs: PERIOD });
    expect(result.lateTicks).toBeGreaterThan(0);
    expect(world.logger.events()).toContain('ping.behind');
  });
});

describe('runPingInvocation: failures', () => {
  test('a worker that cannot be started is logged and counted; the others are started and the period runs', async () => {
    const state = new MemoryPingerState();
    await state.claimPeriod(MINUTE - PERIOD, MINUTE - PERIOD);
    await state.record(MINUTE - PERIOD, 5_000, 3);
    const world = coordinated({ state, launcher: new RecordingLauncher([2]) });
    await putConnections(world, 30);
    const result = await runPingInvocation(world.deps, { start: MINUTE, periodMs: PERIOD });
    expect(result).toMatchObject({ outcome: 'ran', workers: 3, launchFailures: 1 });
    expect(world.launcher.events.map((event) => event.worker)).toEqual([1, 2]);
    expect(world.logger.at('error')).toEqual([{ level: 'error', event: 'ping.launch_failed', fields: { start: MINUTE, worker: 2, workers: 3, error: BOOM } }]);
  });

  test.each([
    ['the coordinator', {}, 'claimPeriod' as const, { start: MINUTE, worker: 0, lease: undefined }],
    ['a worker', { worker: 1, workers: 2 }, 'claimWorker' as const, { start: MINUTE, worker: 1 }],
  ])('%s whose claim cannot be made logs it and pings anyway', async (_, invocation, method, fields) => {
    const world = coordinated();
    await putConnections(world, 8);
    jest.spyOn(world.state, method).mockRejectedValue(BOOM);
    const result = await runPingInvocation(world.deps, { start: MINUTE, periodMs: PERIOD, ...invocation });
    expect(result.outcome).toBe('ran');
    expect(result.pinged).toBeGreaterThan(0);
    expect(world.logger.at('error')).toContainEqual({ level: 'error', event: 'ping.claim_failed', fields: { ...fields, error: BOOM } });
  });

  test('an idle exit whose release cannot be written is logged, and the invocation still exits idle', async () => {
    const world = coordinated();
    jest.spyOn(world.state, 'release').mockRejectedValue(BOOM);
    expect(await runPingInvocation(world.deps, { start: MINUTE, periodMs: PERIOD })).toMatchObject({ outcome: 'idle', rounds: 1 });
    expect(world.logger.at('error')).toEqual([{ level: 'error', event: 'ping.state_failed', fields: { what: 'release', error: BOOM } }]);
  });

  test('a count that cannot be recorded is logged, and the period runs on', async () => {
    const world = coordinated();
    jest.spyOn(world.state, 'record').mockRejectedValueOnce(BOOM);
    await putConnections(world, 2);
    expect(await runPingInvocation(world.deps, { start: MINUTE, periodMs: PERIOD })).toMatchObject({ outcome: 'ran', rounds: 20, pinged: 40 });
    expect(world.logger.at('error')).toEqual([{ level: 'error', event: 'ping.state_failed', fields: { what: 'record', error: BOOM } }]);
  });
});
