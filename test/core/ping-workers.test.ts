import { connection, pingWorld, VirtualClock } from './ping-support';
import { START_MS } from './support';
import { MemoryPingerState } from '../../lambda/adapters/memory/memory-pinger-state';
import { pingRound } from '../../lambda/core/ping';
import { PingerLease, PingLauncher } from '../../lambda/core/ping-coordination';
import { PingInvocationDeps, runPingInvocation } from '../../lambda/core/ping-invocation';
import { covers, ensurePinger, PingKeepalive } from '../../lambda/core/ping-lease';
import { runPingPeriod } from '../../lambda/core/ping-schedule';
import { isUnderstaffed, PingInvocationEvent, pingWorkerCount, roundLagMs, scanShare, workerRate } from '../../lambda/core/ping-workers';
import { Transport } from '../../lambda/core/ports';
import { MAX_PING_WORKERS, pingPostsPerSecondPerInvocation } from '../../src/contract/defaults';

const PERIOD = 60_000;
/** A whole minute after START_MS: the scheduled time of an invocation. */
const MINUTE = START_MS - (START_MS % PERIOD) + PERIOD;
const AT_256_MB = { postsPerSecondPerWorker: pingPostsPerSecondPerInvocation(256), maxPerSecond: 5000, tickSeconds: 3 };

class RecordingLauncher implements PingLauncher {
  readonly events: PingInvocationEvent[] = [];
  async launch(event: PingInvocationEvent): Promise<void> {
    this.events.push(event);
  }
}

function coordinated(options: { connections?: number; state?: MemoryPingerState; launcher?: PingLauncher; at?: number } = {}) {
  const clock = new VirtualClock(options.at ?? MINUTE);
  const world = pingWorld({ clock });
  const state = options.state ?? new MemoryPingerState();
  const launcher = options.launcher ?? new RecordingLauncher();
  const deps: PingInvocationDeps = { ...world.deps, coordination: { state, launcher, postsPerSecondPerWorker: 700 } };
  return { ...world, clock, state, launcher, deps };
}

describe('ping workers: sizing', () => {
  test('pingWorkerCount: one invocation up to what it plans for (80% of 700/s at 256 MB, ~1,680 connections at 3 s), then more', () => {
    expect(pingPostsPerSecondPerInvocation(256)).toBe(700);
    expect(pingWorkerCount(0, AT_256_MB)).toBe(1);
    expect(pingWorkerCount(1_680, AT_256_MB)).toBe(1);
    expect(pingWorkerCount(1_700, AT_256_MB)).toBe(2);
    expect(pingWorkerCount(10_000, AT_256_MB)).toBe(6);
  });

  test('pingWorkerCount: no more workers than maxPingsPerSecond can use, nor MAX_PING_WORKERS', () => {
    expect(pingWorkerCount(1_000_000, AT_256_MB)).toBe(9); // 5,000/s over 560/s planned each
    expect(pingWorkerCount(1_000_000, { ...AT_256_MB, maxPerSecond: 100_000 })).toBe(MAX_PING_WORKERS);
    expect(pingWorkerCount(5_000, { ...AT_256_MB, postsPerSecondPerWorker: pingPostsPerSecondPerInvocation(1769) })).toBe(1);
  });

  test('memory: the rate scales with memory up to one vCPU (1,769 MB), no further', () => {
    expect(pingPostsPerSecondPerInvocation(512)).toBe(1400);
    expect(pingPostsPerSecondPerInvocation(3008)).toBe(pingPostsPerSecondPerInvocation(1769));
  });

  test('workerRate: the workers together stay within maxPingsPerSecond', () => {
    for (const workers of [1, 3, 7, 9]) expect(workerRate(5000, workers) * workers).toBeLessThanOrEqual(5000);
  });

  test.each([1, 2, 3, 5])('scanShare: %i workers read every segment exactly once', (workers) => {
    const read = Array.from({ length: workers }, (_, worker) => scanShare(worker, workers, 4));
    expect(new Set(read.map((share) => share.totalSegments))).toEqual(new Set([workers * 4]));
    expect(read.flatMap((share) => share.segments).sort((a, b) => a - b)).toEqual(Array.from({ length: workers * 4 }, (_, i) => i));
  });

  test.each([
    ['past the last', 3, 3],
    ['negative', -1, 3],
    ['not an integer', 0.5, 3],
    ['of a fractional count', 0, 1.5],
    ['of no workers', 0, 0],
  ])('scanShare: a worker %s (%p of %p) is refused', (_, worker, workers) => {
    expect(() => scanShare(worker, workers, 4)).toThrow(`worker must be an integer from 0 to workers - 1, got ${worker} of ${workers}`);
  });

  test.each([
    ['no rate to plan with (0 posts/s)', 10_000, { ...AT_256_MB, postsPerSecondPerWorker: 0 }],
    ['a count that is not a number', NaN, AT_256_MB],
    ['pings off (no tick)', 10_000, { ...AT_256_MB, tickSeconds: Number.POSITIVE_INFINITY }],
    ['a tick that is not a number', 10_000, { ...AT_256_MB, tickSeconds: NaN }],
  ])('pingWorkerCount: %s sizes one invocation', (_, connections, sizing) => {
    expect(pingWorkerCount(connections, sizing)).toBe(1);
  });

  // At 256 MB one worker plans 560 posts/s: 1,680 connections at a 3 s tick.
  test.each([
    ['10,000 connections for 1 worker: 6 needed', 10_000, 1, AT_256_MB, true],
    ['3,000 connections for 1 worker: 1,000/s, over 1.5 × 560/s', 3_000, 1, AT_256_MB, true],
    ['2,000 connections for 1 worker: 2 needed, but within 1.5 × its plan', 2_000, 1, AT_256_MB, false],
    ['3,600 connections for 2 workers: 3 needed, but within 1.5 × their plan', 3_600, 2, AT_256_MB, false],
    ['10,000 connections for the 6 workers they need', 10_000, 6, AT_256_MB, false],
    ['1,000,000 connections for the 9 workers maxPingsPerSecond can use', 1_000_000, 9, AT_256_MB, false],
    ['exactly 1.5 × the plan (1,200/s for 800/s planned)', 1_200, 1, { postsPerSecondPerWorker: 1000, maxPerSecond: 5000, tickSeconds: 1 }, false],
  ])('isUnderstaffed: %s', (_, connections, workers, sizing, expected) => {
    expect(isUnderstaffed(connections, workers, sizing)).toBe(expected);
  });

  test('pingRound with shares: three workers ping each of 200 connections exactly once', async () => {
    const world = pingWorld({ pageSize: 7 });
    const ids = Array.from({ length: 200 }, (_, i) => `Conn${i}=`);
    for (const id of ids) await world.connections.put(connection(id, START_MS - 3_000));
    const window = { previousTick: START_MS - 1, now: START_MS };
    for (let worker = 0; worker < 3; worker++) await pingRound(world.deps, window, scanShare(worker, 3, world.deps.config.ping.segments));
    expect(world.recorder.pingedIds()).toEqual([...ids].sort());
  });
});

describe('ping workers: the coordinator', () => {
  test('previous count: the coordinator starts workers 1 … n-1 with the same period start, and reads its own share', async () => {
    const { deps, state, launcher, connections } = coordinated();
    await state.claimPeriod(MINUTE - PERIOD, MINUTE - PERIOD);
    await state.record(MINUTE - PERIOD, 5_000, 3);
    await connections.put(connection('c1', MINUTE - 30_000));
    const listed = jest.spyOn(connections, 'listForPing');

    const result = await runPingInvocation(deps, { start: MINUTE, periodMs: PERIOD });

    expect(result).toMatchObject({ outcome: 'ran', worker: 0, workers: 3 });
    const time = new Date(MINUTE).toISOString();
    expect((launcher as RecordingLauncher).events).toEqual([
      { kind: 'cable.ping', time, worker: 1, workers: 3 },
      { kind: 'cable.ping', time, worker: 2, workers: 3 },
    ]);
    expect(new Set(listed.mock.calls.map(([segment, total]) => `${segment}/${total}`))).toEqual(new Set(['0/12', '1/12', '2/12', '3/12']));
  });

  test('idle: with no connection the scheduled invocation returns after one read and releases the lease', async () => {
    const { deps, state, clock, launcher } = coordinated();
    const result = await runPingInvocation(deps, { start: MINUTE, periodMs: PERIOD });
    expect(result).toMatchObject({ outcome: 'idle', rounds: 1, workers: 1 });
    expect(clock.now()).toBe(MINUTE);
    expect(await state.read()).toMatchObject({ period: MINUTE, phase: 'idle', connections: 0 });
    expect((launcher as RecordingLauncher).events).toEqual([]);
  });

  test('idle: with a connection the period runs through, and the count is recorded for the next one', async () => {
    const { deps, state, connections } = coordinated();
    await connections.put(connection('c1', MINUTE - 1_000));
    expect(await runPingInvocation(deps, { start: MINUTE, periodMs: PERIOD })).toMatchObject({ outcome: 'ran', rounds: 20, pinged: 20 });
    expect(await state.read()).toMatchObject({ period: MINUTE, phase: 'running', connections: 1 });
  });

  test('duplicate: a second delivery of the schedule\'s event exits without pinging', async () => {
    const state = new MemoryPingerState();
    const first = coordinated({ state });
    await first.connections.put(connection('c1', MINUTE - 1_000));
    await runPingInvocation(first.deps, { start: MINUTE, periodMs: PERIOD });
    const again = coordinated({ state });
    await again.connections.put(connection('c1', MINUTE - 1_000));
    expect(await runPingInvocation(again.deps, { start: MINUTE, periodMs: PERIOD })).toMatchObject({ outcome: 'duplicate', rounds: 0 });
    expect(again.recorder.calls).toEqual([]);
  });

  test('duplicate: a worker delivered twice pings its share once', async () => {
    const state = new MemoryPingerState();
    const sent: string[] = [];
    for (let delivery = 0; delivery < 2; delivery++) {
      const { deps, connections, recorder } = coordinated({ state });
      for (let i = 0; i < 40; i++) await connections.put(connection(`Conn${i}=`, MINUTE - 1_000));
      const result = await runPingInvocation(deps, { start: MINUTE, periodMs: PERIOD, worker: 1, workers: 2 });
      expect(result.outcome).toBe(delivery === 0 ? 'ran' : 'duplicate');
      sent.push(...recorder.pingedIds());
    }
    expect(sent.length).toBe(new Set(sent).size * 20);
    expect(sent.length).toBeGreaterThan(0);
  });
});

describe('ping workers: lag', () => {
  test('roundLagMs: 0 on time, else how long after the window\'s end the round finished', () => {
    expect(roundLagMs(10_000, 9_000)).toBe(0);
    expect(roundLagMs(10_000, 11_500)).toBe(1_500);
  });

  test('lagMs: a round whose posts take longer than a tick finishes late, and says by how much', async () => {
    const clock = new VirtualClock(MINUTE);
    const world = pingWorld({ clock, settings: { delivery: { concurrency: 1 } } });
    const slow: Transport = { send: () => clock.sleep(2_500), close: async () => undefined };
    for (const id of ['a', 'b']) await world.connections.put(connection(id, MINUTE - 1_000));
    const result = await runPingPeriod({ ...world.deps, transport: slow }, { start: MINUTE, periodMs: 3_000 });
    // One round, window (MINUTE, MINUTE + 3 s]; two posts of 2.5 s each end at MINUTE + 5 s.
    expect(result.lagMs).toBe(2_000);
  });
});

describe('ping workers: $connect starts an idle pinger', () => {
  const keepalive = (state: MemoryPingerState, launcher: RecordingLauncher, tokens = ['t1', 't2', 't3']): PingKeepalive => ({
    state, launcher, periodMs: PERIOD, token: () => tokens.shift()!,
  });

  test('lease: taken once by concurrent $connects; the winner starts one pinger for the current period', async () => {
    const state = new MemoryPingerState();
    const launcher = new RecordingLauncher();
    const { clock, logger } = coordinated({ at: MINUTE + 20_000 });
    const outcomes = await Promise.all([1, 2, 3].map(() => ensurePinger(keepalive(state, launcher, ['a', 'b', 'c']), clock, logger)));
    expect(outcomes.filter((o) => o === 'started')).toHaveLength(1);
    expect(launcher.events).toEqual([{ kind: 'cable.ping', time: new Date(MINUTE).toISOString(), worker: 0, workers: 1, lease: 'a' }]);
    expect(await ensurePinger(keepalive(state, launcher), clock, logger)).toBe('held');
  });

  test('lease: the pinger $connect started claims it, runs the rest of the period, and does not exit idle', async () => {
    const state = new MemoryPingerState();
    const launcher = new RecordingLauncher();
    const started = coordinated({ state, at: MINUTE + 20_000 });
    await ensurePinger(keepalive(state, launcher), started.clock, started.logger);
    const result = await runPingInvocation(started.deps, { start: MINUTE, periodMs: PERIOD, lease: launcher.events[0].lease });
    expect(result).toMatchObject({ outcome: 'ran', rounds: 14, lateTicks: 0 });
    const scheduled = coordinated({ state, at: MINUTE + 20_000 });
    expect(await runPingInvocation(scheduled.deps, { start: MINUTE, periodMs: PERIOD })).toMatchObject({ outcome: 'duplicate' });
  });

  test('lease: near the end of a period, $connect makes sure the next one is pinged', async () => {
    const state = new MemoryPingerState();
    const launcher = new RecordingLauncher();
    const { clock, logger } = coordinated({ at: MINUTE + PERIOD - 1_000 });
    expect(await ensurePinger(keepalive(state, launcher), clock, logger)).toBe('started');
    expect(launcher.events[0].time).toBe(new Date(MINUTE + PERIOD).toISOString());
  });

  test('race: a $connect while the period\'s first round reads; the round misses the new row, and the pinger runs on instead of exiting idle', async () => {
    const state = new MemoryPingerState();
    const launcher = new RecordingLauncher();
    const scheduled = coordinated({ state, launcher });
    const { connections } = scheduled;
    const listForPing = connections.listForPing.bind(connections);
    let arrived: Promise<string> | undefined;
    // The first page is read before the row is visible (the pings index lags its table); meanwhile
    // a client connects, finds the period's lease running and leaves it be.
    jest.spyOn(connections, 'listForPing').mockImplementationOnce(async (...args) => {
      const page = await listForPing(...args);
      await connections.put(connection('late', MINUTE + 100));
      arrived = ensurePinger(keepalive(state, launcher), scheduled.clock, scheduled.logger);
      await arrived;
      return page;
    });
    const result = await runPingInvocation(scheduled.deps, { start: MINUTE, periodMs: PERIOD });
    expect(await arrived).toBe('held');
    expect(launcher.events).toEqual([]);
    expect(result.outcome).toBe('ran');
    expect(result.rounds).toBeGreaterThan(1);
    expect(scheduled.recorder.calls.filter((call) => call.connectionId === 'late').length).toBeGreaterThan(0);
  });

  test('race: a $connect just after the first round found nothing and released the lease starts a pinger', async () => {
    const state = new MemoryPingerState();
    const launcher = new RecordingLauncher();
    const scheduled = coordinated({ state, launcher });
    expect(await runPingInvocation(scheduled.deps, { start: MINUTE, periodMs: PERIOD })).toMatchObject({ outcome: 'idle' });
    expect(await ensurePinger(keepalive(state, launcher), scheduled.clock, scheduled.logger)).toBe('started');
  });

  test('covers: a running period, a fresh lease, or the period before running with connections', () => {
    const now = MINUTE + 1_000;
    expect(covers(undefined, MINUTE, PERIOD, now)).toBe(false);
    expect(covers({ period: MINUTE, phase: 'running' }, MINUTE, PERIOD, now)).toBe(true);
    expect(covers({ period: MINUTE, phase: 'idle' }, MINUTE, PERIOD, now)).toBe(false);
    expect(covers({ period: MINUTE, phase: 'leased', leasedAt: now - 1_000 }, MINUTE, PERIOD, now)).toBe(true);
    expect(covers({ period: MINUTE, phase: 'leased', leasedAt: now - 60_000 }, MINUTE, PERIOD, now)).toBe(false);
    expect(covers({ period: MINUTE - PERIOD, phase: 'running', connections: 3 }, MINUTE, PERIOD, now)).toBe(true);
    expect(covers({ period: MINUTE - PERIOD, phase: 'running', connections: 0 }, MINUTE, PERIOD, now)).toBe(false);
  });

  test.each<{ name: string; lease: PingerLease }>([
    { name: 'the period released idle soon after $connect leased it', lease: { period: MINUTE, phase: 'idle', leasedAt: MINUTE } },
    { name: 'the period before released idle, connections recorded', lease: { period: MINUTE - PERIOD, phase: 'idle', connections: 3 } },
    { name: 'the period before leased, connections recorded', lease: { period: MINUTE - PERIOD, phase: 'leased', leasedAt: MINUTE - 1_000, connections: 3 } },
    { name: 'two periods back running with connections', lease: { period: MINUTE - 2 * PERIOD, phase: 'running', connections: 3 } },
  ])('covers: not when $name', ({ lease }) => {
    expect(covers(lease, MINUTE, PERIOD, MINUTE + 1_000)).toBe(false);
  });

  test('lease: a period whose first round already counted its connections costs $connect one read, no write', async () => {
    const state = new MemoryPingerState();
    const launcher = new RecordingLauncher();
    const { clock, logger } = coordinated({ at: MINUTE + 20_000 });
    await state.claimPeriod(MINUTE, MINUTE);
    await state.record(MINUTE, 3, 1);
    const markArrival = jest.spyOn(state, 'markArrival');
    const takeLease = jest.spyOn(state, 'takeLease');
    expect(await ensurePinger(keepalive(state, launcher), clock, logger)).toBe('held');
    expect(markArrival).not.toHaveBeenCalled();
    expect(takeLease).not.toHaveBeenCalled();
  });

  test('lease: the pinger $connect starts is logged with its period', async () => {
    const { clock, logger } = coordinated({ at: MINUTE + 20_000 });
    expect(await ensurePinger(keepalive(new MemoryPingerState(), new RecordingLauncher()), clock, logger)).toBe('started');
    expect(logger.entries).toEqual([{ level: 'info', event: 'connect.pinger_started', fields: { period: MINUTE } }]);
  });

  test('failure: a launch that fails is logged as an error with its period; $connect goes on (failed)', async () => {
    const state = new MemoryPingerState();
    const error = new Error('TooManyRequestsException');
    const failing: PingLauncher = { launch: () => Promise.reject(error) };
    const { clock, logger } = coordinated({ at: MINUTE + 20_000 });
    expect(await ensurePinger({ state, launcher: failing, periodMs: PERIOD, token: () => 't1' }, clock, logger)).toBe('failed');
    expect(logger.entries).toEqual([{ level: 'error', event: 'connect.pinger_start_failed', fields: { period: MINUTE, error } }]);
  });

  test('failure: a lease that cannot be read is logged as an error; $connect goes on (failed) without starting a pinger', async () => {
    const state = new MemoryPingerState();
    const error = new Error('ProvisionedThroughputExceededException');
    jest.spyOn(state, 'read').mockRejectedValue(error);
    const launcher = new RecordingLauncher();
    const { clock, logger } = coordinated({ at: MINUTE + 20_000 });
    expect(await ensurePinger(keepalive(state, launcher), clock, logger)).toBe('failed');
    expect(launcher.events).toEqual([]);
    expect(logger.entries).toEqual([{ level: 'error', event: 'connect.pinger_check_failed', fields: { error } }]);
  });
});
