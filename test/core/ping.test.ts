import { connection, pingWorld, VirtualClock } from './ping-support';
import { LogEntry, START_MS } from './support';
import { MemoryConnectionStore } from '../../lambda/adapters/memory/memory-connection-store';
import { CableSettings, resolveConfig } from '../../lambda/core/config';
import { connect } from '../../lambda/core/connect';
import { MAX_FAILURE_LOGS } from '../../lambda/core/failure-log';
import * as ping from '../../lambda/core/ping';
import { pingRound, PingRoundResult, SERVER_RESTART_FRAME } from '../../lambda/core/ping';
import { clientPingInterval, isPingDue, pingTickSeconds } from '../../lambda/core/ping-interval';
import { runPingPeriod } from '../../lambda/core/ping-schedule';
import { RateLimiter } from '../../lambda/core/rate-limiter';

const S = 1000;

describe('isPingDue', () => {
  test.each<{ name: string; connectedAt: number; interval: number; from: number; to: number; due: boolean }>([
    { name: 'first multiple inside the window', connectedAt: 0, interval: 3, from: 2, to: 4, due: true },
    { name: 'a multiple on the window end counts', connectedAt: 0, interval: 3, from: 2, to: 3, due: true },
    { name: 'a multiple on the window start does not (the previous window had it)', connectedAt: 0, interval: 3, from: 3, to: 5, due: false },
    { name: 'no multiple inside', connectedAt: 0, interval: 3, from: 3.5, to: 5.9, due: false },
    { name: 'connectedAt itself is no ping time', connectedAt: 10, interval: 3, from: 9, to: 11, due: false },
    { name: 'window before the connection', connectedAt: 10, interval: 3, from: 0, to: 9, due: false },
    { name: 'several multiples in one window: due once', connectedAt: 0, interval: 3, from: 0, to: 60, due: true },
    { name: 'long interval, far from a multiple', connectedAt: 0, interval: 540, from: 600, to: 660, due: false },
    { name: 'long interval, multiple inside a minute window', connectedAt: 0, interval: 540, from: 1060, to: 1120, due: true },
    // Callers never pass these (intervals are clamped to at least the minimum); the guard keeps the arithmetic honest.
    { name: 'a negative interval is never due', connectedAt: 0, interval: -3, from: 2, to: 4, due: false },
    { name: 'a zero interval is never due', connectedAt: 0, interval: 0, from: 2, to: 4, due: false },
  ])('isPingDue: $name', ({ connectedAt, interval, from, to, due }) => {
    expect(isPingDue(connectedAt * S, interval * S, from * S, to * S)).toBe(due);
  });

  test.each<{ interval: number; tick: number; connectedAt: number }>([
    { interval: 3, tick: 3, connectedAt: 0 },
    { interval: 3, tick: 1, connectedAt: 1_234 },
    { interval: 7, tick: 3, connectedAt: 500 },
    { interval: 30, tick: 3, connectedAt: 2_999 },
    { interval: 540, tick: 60, connectedAt: 12_345 },
    { interval: 60, tick: 60, connectedAt: 60_000 },
  ])('tiled windows: interval $interval s, tick $tick s: every multiple is pinged exactly once (no double, no miss)', ({ interval, tick, connectedAt }) => {
    const span = 3_600 * S;
    let pings = 0;
    for (let from = 0; from < span; from += tick * S) pings += isPingDue(connectedAt, interval * S, from, from + tick * S) ? 1 : 0;
    const multiples = Math.floor((span - connectedAt) / (interval * S));
    expect(pings).toBe(multiples);
  });

  test('irregular windows (late and coalesced rounds): still never twice per multiple, and every multiple lands in a window', () => {
    const lengths = [3, 3, 0.5, 7, 3, 11, 3, 3, 0.2, 9, 3, 3, 6];
    let from = 0;
    let pings = 0;
    for (let i = 0; i < 200; i++) {
      const to = from + lengths[i % lengths.length] * S;
      pings += isPingDue(0, 3 * S, from, to) ? 1 : 0;
      from = to;
    }
    const windowsWithAMultiple = Math.floor(from / (3 * S));
    // A window that holds several multiples pings once: coalesced rounds send fewer pings, never more.
    expect(pings).toBeLessThanOrEqual(windowsWithAMultiple);
    expect(pings).toBeGreaterThan(0);
  });
});

describe('clientPingInterval (?pi=)', () => {
  const settings = resolveConfig({}).ping;
  test.each<{ name: string; query: Record<string, string>; expected: ReturnType<typeof clientPingInterval> }>([
    { name: 'absent: the default', query: {}, expected: { kind: 'default' } },
    { name: 'empty: the default', query: { pi: '' }, expected: { kind: 'default' } },
    { name: 'within bounds: kept', query: { pi: '30' }, expected: { kind: 'requested', seconds: 30, requested: 30 } },
    { name: 'the maximum: kept', query: { pi: '540' }, expected: { kind: 'requested', seconds: 540, requested: 540 } },
    { name: 'over the maximum: lowered to it', query: { pi: '3600' }, expected: { kind: 'requested', seconds: 540, requested: 3600 } },
    { name: 'under the minimum: raised to it', query: { pi: '1' }, expected: { kind: 'requested', seconds: 3, requested: 1 } },
    { name: 'zero (anycable-go: no pings): raised to the minimum', query: { pi: '0' }, expected: { kind: 'requested', seconds: 3, requested: 0 } },
    { name: 'negative: raised to the minimum', query: { pi: '-5' }, expected: { kind: 'requested', seconds: 3, requested: -5 } },
    { name: 'a fraction: invalid, the default (anycable-go: Atoi fails)', query: { pi: '10.5' }, expected: { kind: 'invalid', value: '10.5' } },
    { name: 'not a number: invalid, the default', query: { pi: 'fast' }, expected: { kind: 'invalid', value: 'fast' } },
    { name: 'padded with spaces (?pi=%2030%20): the number inside', query: { pi: ' 30 ' }, expected: { kind: 'requested', seconds: 30, requested: 30 } },
    { name: 'a long invalid value: kept for the log cut at 32 characters', query: { pi: 'x'.repeat(40) }, expected: { kind: 'invalid', value: 'x'.repeat(32) } },
  ])('pi: $name', ({ query, expected }) => {
    expect(clientPingInterval(query, settings)).toEqual(expected);
  });

  test.each<{ name: string; query: Record<string, string>; stored: number | undefined; log?: LogEntry }>([
    { name: 'connect: ?pi=30 is stored on the connection, nothing logged', query: { pi: '30' }, stored: 30 },
    {
      name: 'connect: ?pi=9999 is stored clamped, and the clamp is logged with what was asked and what is kept',
      query: { pi: '9999' },
      stored: 540,
      log: { level: 'info', event: 'connect.ping_interval_clamped', fields: { connectionId: 'c1', requested: 9999, seconds: 540 } },
    },
    {
      name: 'connect: ?pi=abc stores nothing (the default applies), and is logged with the value',
      query: { pi: 'abc' },
      stored: undefined,
      log: { level: 'info', event: 'connect.invalid_ping_interval', fields: { connectionId: 'c1', pi: 'abc' } },
    },
    { name: 'connect: no pi stores nothing, nothing logged', query: {}, stored: undefined },
  ])('$name', async ({ query, stored, log }) => {
    const world = pingWorld();
    await connect(world, {
      connectionId: 'c1', headers: { 'sec-websocket-protocol': 'actioncable-v1-json' }, query,
    });
    expect((await world.connections.get('c1'))?.pingIntervalSeconds).toBe(stored);
    expect(world.logger.entries).toEqual(log ? [log] : []);
  });

  test('tick: the shortest interval a connection can have, at least 1 s; none with pings off', () => {
    expect(pingTickSeconds(resolveConfig({}).ping)).toBe(3);
    expect(pingTickSeconds(resolveConfig({ ping: { intervalSeconds: 540 } }).ping)).toBe(540);
    expect(pingTickSeconds(resolveConfig({ ping: { intervalSeconds: 540, minClientIntervalSeconds: 10 } }).ping)).toBe(10);
    expect(pingTickSeconds(resolveConfig({ ping: { intervalSeconds: 0 } }).ping)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('pingRound', () => {
  const NOW = START_MS + 3_600 * S;
  /** One second: every 3 s connection has exactly one multiple in any 3 s window, so a shorter one shows the skipping. */
  const WINDOW = { previousTick: NOW - 1 * S, now: NOW };
  const PING = { type: 'ping', message: Math.floor(NOW / 1000) };

  test.each<{
    name: string;
    rows: [string, number, number?][];
    settings?: CableSettings;
    script?: Record<string, 'gone' | 'permanent' | { transient: number }>;
    frames: Record<string, unknown[]>;
    closed?: string[];
    remaining?: string[];
    result: Partial<PingRoundResult>;
  }>([
    {
      name: 'due connections get {"type":"ping","message":<unix seconds>}; others nothing',
      rows: [['due', NOW - 30 * S], ['due-on-edge', NOW - 3 * S], ['not-due', NOW - 31 * S]],
      frames: { 'due': [PING], 'due-on-edge': [PING] },
      result: { connections: 3, pinged: 2, gone: 0, failed: 0, expired: 0 },
    },
    {
      name: 'a connection\'s own interval (?pi=) replaces the default',
      rows: [['pi-30-due', NOW - 60 * S, 30], ['pi-30-not-due', NOW - 57 * S, 30]],
      frames: { 'pi-30-due': [PING] },
      result: { pinged: 1 },
    },
    {
      name: 'a stored interval outside the pinger\'s bounds (settings changed since $connect) is clamped again',
      rows: [['stored-1', NOW - 3 * S, 1], ['stored-1-not-due', NOW - 2 * S, 1], ['stored-9999', NOW - 540 * S, 9999]],
      frames: { 'stored-1': [PING], 'stored-9999': [PING] },
      result: { pinged: 2 },
    },
    {
      name: '410: the connection\'s subscriptions and row are removed, as fan-out does',
      rows: [['gone', NOW - 30 * S], ['ok', NOW - 30 * S]],
      script: { gone: 'gone' },
      frames: { ok: [PING] },
      remaining: ['ok'],
      result: { pinged: 1, gone: 1 },
    },
    {
      name: '410 from a connection younger than the delivery deadline: left alone (it may still be in its handshake)',
      rows: [['opening', NOW - 3 * S]],
      script: { opening: 'gone' },
      frames: {},
      remaining: ['opening'],
      result: { pinged: 0, gone: 0, notOpen: 1 },
    },
    {
      name: '410 from a connection exactly as old as the delivery deadline (no longer younger): removed',
      rows: [['at-deadline', NOW - 30 * S]],
      settings: { deliveryDeadlineMs: 30_000 },
      script: { 'at-deadline': 'gone' },
      frames: {},
      remaining: [],
      result: { gone: 1, notOpen: 0 },
    },
    {
      name: 'one worker (delivery.concurrency 1): connections not due are skipped, the round goes on to those due',
      rows: [['not-due-1', NOW - 31 * S], ['not-due-2', NOW - 32 * S], ['due', NOW - 30 * S], ['due-too', NOW - 3 * S]],
      settings: { delivery: { concurrency: 1 } },
      frames: { 'due': [PING], 'due-too': [PING] },
      result: { connections: 4, pinged: 2 },
    },
    {
      name: 'transient errors are retried with backoff; a permanent one fails that connection only',
      rows: [['flaky', NOW - 30 * S], ['broken', NOW - 30 * S], ['ok', NOW - 30 * S]],
      script: { flaky: { transient: 2 }, broken: 'permanent' },
      frames: { flaky: [PING], ok: [PING] },
      remaining: ['broken', 'flaky', 'ok'],
      result: { pinged: 2, failed: 1, retries: 2 },
    },
    {
      name: 'max age: {"type":"disconnect","reason":"server_restart","reconnect":true}, then closed; no ping',
      rows: [['old', NOW - 7_080 * S], ['young', NOW - 7_077 * S]],
      frames: { old: [{ type: 'disconnect', reason: 'server_restart', reconnect: true }], young: [PING] },
      closed: ['old'],
      result: { pinged: 1, expired: 1 },
    },
    {
      name: 'max age when already gone: cleaned up like any 410',
      rows: [['old', NOW - 7_200 * S]],
      script: { old: 'gone' },
      frames: {},
      remaining: [],
      result: { expired: 0, gone: 1 },
    },
    {
      name: 'pings off (intervalSeconds 0): no pings, the lifecycle still runs',
      rows: [['old', NOW - 7_100 * S], ['due', NOW - 30 * S]],
      settings: { ping: { intervalSeconds: 0 } },
      frames: { old: [{ type: 'disconnect', reason: 'server_restart', reconnect: true }] },
      closed: ['old'],
      result: { pinged: 0, expired: 1 },
    },
  ])('$name', async ({ rows, settings, script, frames, closed, remaining, result }) => {
    const world = pingWorld({ settings, script });
    for (const [id, connectedAt, pi] of rows) {
      await world.connections.put(connection(id, connectedAt, pi === undefined ? {} : { pingIntervalSeconds: pi }));
      await world.subscriptions.add({ stream: 'room', connectionId: id, identifier: '{"channel":"Room"}', expiresAt: 0 });
    }
    world.clock.advance(NOW - START_MS);

    expect(await pingRound(world.deps, WINDOW)).toMatchObject(result);

    expect(world.recorder.framesByConnection()).toEqual(frames);
    expect(world.recorder.calls.filter((c) => c.kind === 'close').map((c) => c.connectionId)).toEqual(closed ?? []);
    if (remaining) {
      expect([...world.connections.records.keys()].sort()).toEqual(remaining);
      expect(world.subscriptions.all().map((s) => s.connectionId).sort()).toEqual(remaining);
    }
  });

  test('max age: the disconnect frame is exactly Rails\' text and goes before the close', async () => {
    const world = pingWorld({ settings: { maxConnectionAgeSeconds: 60, ttlSeconds: 120 } });
    await world.connections.put(connection('old', START_MS));
    world.clock.advance(61 * S);
    await pingRound(world.deps, { previousTick: START_MS + 58 * S, now: START_MS + 61 * S });
    expect(SERVER_RESTART_FRAME).toBe('{"type":"disconnect","reason":"server_restart","reconnect":true}');
    expect(world.recorder.calls.map((c) => c.kind)).toEqual(['send', 'close']);
  });

  test('segments: every connection is read and pinged exactly once across segments and pages', async () => {
    const world = pingWorld({ settings: { ping: { segments: 4 } }, pageSize: 3 });
    const ids = Array.from({ length: 50 }, (_, i) => `conn-${String(i).padStart(3, '0')}`);
    for (const id of ids) await world.connections.put(connection(id, NOW - 30 * S));
    world.clock.advance(NOW - START_MS);
    const round = await pingRound(world.deps, WINDOW);
    expect(round).toMatchObject({ connections: 50, pinged: 50 });
    expect(round.pages).toBeGreaterThanOrEqual(Math.ceil(50 / 3));
    expect(world.recorder.pingedIds()).toEqual(ids);
  });

  test('logging: a round that only pinged writes no line; one that ended or cleaned up writes one', async () => {
    const world = pingWorld({ script: { gone: 'gone' } });
    await world.connections.put(connection('ok', NOW - 30 * S));
    world.clock.advance(NOW - START_MS);
    await pingRound(world.deps, WINDOW);
    expect(world.logger.entries).toEqual([]);
    await world.connections.put(connection('gone', NOW - 30 * S));
    await pingRound(world.deps, WINDOW);
    expect(world.logger.entries).toEqual([expect.objectContaining({ level: 'info', event: 'ping.round', fields: expect.objectContaining({ pinged: 1, gone: 1 }) })]);
  });

  test('empty window (now = previousTick): nothing is due, the round still runs', async () => {
    const world = pingWorld();
    await world.connections.put(connection('a', NOW - 30 * S));
    world.clock.advance(NOW - START_MS);
    expect(await pingRound(world.deps, { previousTick: NOW, now: NOW })).toMatchObject({ connections: 1, pinged: 0 });
  });

  test('logging: ping.send_failed says what was not sent, the ping or the server_restart disconnect', async () => {
    const world = pingWorld({ script: { due: 'permanent', old: 'permanent' } });
    await world.connections.put(connection('due', NOW - 30 * S));
    await world.connections.put(connection('old', NOW - 7_200 * S));
    world.clock.advance(NOW - START_MS);
    await pingRound(world.deps, WINDOW);
    const what = Object.fromEntries(world.logger.entries.filter((e) => e.event === 'ping.send_failed').map((e) => [e.fields.connectionId, e.fields.what]));
    expect(what).toEqual({ due: 'ping', old: 'disconnect' });
  });

  test('max age: a close that fails counts the connection as failed, not expired, and is warned about', async () => {
    const world = pingWorld();
    await world.connections.put(connection('old', NOW - 7_200 * S));
    world.clock.advance(NOW - START_MS);
    const error = Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    jest.spyOn(world.recorder, 'close').mockRejectedValue(error);
    expect(await pingRound(world.deps, WINDOW)).toMatchObject({ expired: 0, failed: 1 });
    expect(world.logger.at('warn')).toEqual([
      { level: 'warn', event: 'ping.send_failed', fields: { connectionId: 'old', what: 'close', attempts: 1, error } },
      expect.objectContaining({ event: 'ping.round', fields: expect.objectContaining({ failed: 1, errors: { ThrottlingException: 1 } }) }),
    ]);
  });

  test('logging: one summary line; per-connection warnings stop at MAX_FAILURE_LOGS', async () => {
    const script = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`bad-${i}`, 'permanent' as const]));
    const world = pingWorld({ script });
    for (const id of Object.keys(script)) await world.connections.put(connection(id, NOW - 30 * S));
    world.clock.advance(NOW - START_MS);
    await pingRound(world.deps, WINDOW);
    expect(world.logger.events().filter((e) => e === 'ping.send_failed')).toHaveLength(MAX_FAILURE_LOGS);
    const summary = world.logger.entries.filter((e) => e.event === 'ping.round');
    expect(summary).toEqual([expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ failed: 25, unloggedFailures: 15, errors: { BadRequestException: 25 } }) })]);
  });

  test('410: a clean-up that fails is counted as gone, warned about, and shown in the summary', async () => {
    const world = pingWorld({ script: { gone: 'gone' } });
    await world.connections.put(connection('gone', NOW - 30 * S));
    world.clock.advance(NOW - START_MS);
    jest.spyOn(world.subscriptions, 'removeAll').mockRejectedValue(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));

    const round = await pingRound(world.deps, WINDOW);

    expect(round).toMatchObject({ gone: 1, failed: 0 });
    expect(world.logger.at('warn')).toEqual([
      expect.objectContaining({ event: 'ping.cleanup_failed', fields: expect.objectContaining({ connectionId: 'gone' }) }),
      expect.objectContaining({ event: 'ping.round', fields: expect.objectContaining({ gone: 1, cleanupFailures: 1, errors: { ThrottlingException: 1 } }) }),
    ]);
  });

  test('read error: the other segments are still pinged, then the error is thrown and logged', async () => {
    const world = pingWorld({ settings: { ping: { segments: 2 } } });
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) await world.connections.put(connection(id, NOW - 30 * S));
    world.clock.advance(NOW - START_MS);
    const store = world.connections;
    const failing = Object.assign(Object.create(MemoryConnectionStore.prototype) as MemoryConnectionStore, store, {
      listForPing: (segment: number, total: number, cursor?: string) => (segment === 1 ? Promise.reject(new Error('ProvisionedThroughputExceeded')) : store.listForPing(segment, total, cursor)),
    });
    await expect(pingRound({ ...world.deps, connections: failing }, WINDOW)).rejects.toThrow(/ProvisionedThroughputExceeded/);
    const segmentZero = (await store.listForPing(0, 2)).items.map((c) => c.connectionId).sort();
    expect(world.recorder.pingedIds()).toEqual(segmentZero);
    expect(world.logger.at('error').map((e) => e.event)).toEqual(['ping.round']);
  });

  test('window: one that ends before it starts is refused', async () => {
    const world = pingWorld();
    await expect(pingRound(world.deps, { previousTick: 10, now: 5 })).rejects.toThrow(/window/);
  });
});

describe('ping rate ceiling (ping.maxPerSecond)', () => {
  // The ceiling as RateLimiter documents it: over any span of t seconds at most perSecond × t + burst
  // calls, the burst being a tenth of a second's worth and at least one call. The numbers below are
  // worked out from that statement, not from the implementation's formula.
  test.each([
    { perSecond: 1, burst: 1 },
    { perSecond: 7, burst: 1 },
    { perSecond: 10, burst: 1 },
    { perSecond: 11, burst: 2 },
    { perSecond: 50, burst: 5 },
    { perSecond: 5_000, burst: 500 },
  ])('burst: $perSecond per second allows a burst of $burst', ({ perSecond, burst }) => {
    expect(new RateLimiter(new VirtualClock(), perSecond).burst).toBe(burst);
  });

  test.each([
    // 50/s: a burst of 5, then one every 20 ms: the 400th at (400 - 5) × 20 ms; at most 50 + 5 in any second.
    { perSecond: 50, connections: 400, maxInOneSecond: 55, spanMs: 7_900 },
    // 7/s: a burst of 1, then one every 1000/7 ms: the 40th at 39 × 1000/7 ≈ 5,571.4 ms; at most 7 + 1 in any second.
    { perSecond: 7, connections: 40, maxInOneSecond: 8, spanMs: 5_571.43 },
  ])('maxPerSecond $perSecond: $connections pings, at most $maxInOneSecond in any second, all within $spanMs ms', async ({
    perSecond, connections, maxInOneSecond, spanMs,
  }) => {
    const clock = new VirtualClock();
    const world = pingWorld({ clock, settings: { ping: { maxPerSecond: perSecond, segments: 3 }, delivery: { concurrency: 16 } } });
    for (let i = 0; i < connections; i++) await world.connections.put(connection(`c${i}`, START_MS));
    clock.advance(30 * S);

    await pingRound(world.deps, { previousTick: START_MS + 27 * S, now: START_MS + 30 * S });

    const times = world.recorder.calls.map((c) => c.at).sort((a, b) => a - b);
    expect(times).toHaveLength(connections);
    const busiestSecond = Math.max(...times.map((start) => times.filter((t) => t >= start && t < start + 1000).length));
    expect(busiestSecond).toBeLessThanOrEqual(maxInOneSecond);
    // And it does not go slower than the ceiling either (to within rounding of the interval).
    expect(times[times.length - 1] - times[0]).toBeCloseTo(spanMs, 1);
  });

  test('a close draws from the ceiling too: a max-age disconnect costs two calls', async () => {
    const clock = new VirtualClock();
    const limiter = new RateLimiter(clock, 10);
    const world = pingWorld({ clock, settings: { maxConnectionAgeSeconds: 60, ttlSeconds: 120 } });
    for (let i = 0; i < 10; i++) await world.connections.put(connection(`old${i}`, START_MS));
    clock.advance(61 * S);
    await pingRound({ ...world.deps, limiter }, { previousTick: START_MS + 58 * S, now: START_MS + 61 * S });
    const times = world.recorder.calls.map((c) => c.at);
    expect(times).toHaveLength(20);
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(1800);
  });
});

describe('runPingPeriod', () => {
  let rounds: jest.SpiedFunction<typeof ping.pingRound>;
  beforeEach(() => {
    rounds = jest.spyOn(ping, 'pingRound');
  });
  afterEach(() => rounds.mockRestore());

  /** The windows of the rounds run so far, relative to `start` in seconds. */
  function windows(_world: unknown, start: number): [number, number][] {
    return rounds.mock.calls.map(([, window]) => [(window.previousTick - start) / S, (window.now - start) / S]);
  }

  test('a minute at the 3 s default: 20 rounds one tick ahead, tiling from the previous minute to the next', async () => {
    const clock = new VirtualClock();
    const world = pingWorld({ clock });
    const start = START_MS - (START_MS % 60_000) + 60_000;
    clock.advance(start - START_MS + 200);
    const result = await runPingPeriod(world.deps, { start });
    expect(result).toMatchObject({ rounds: 20, failedRounds: 0, lateTicks: 0 });
    const covered = windows(world, start);
    expect(covered[0]).toEqual([0, 3]);
    expect(covered[19]).toEqual([57, 60]);
    for (let i = 1; i < covered.length; i++) expect(covered[i][0]).toBe(covered[i - 1][1]);
  });

  test('two consecutive minutes: a 3 s connection is pinged every 3 s, once each; a ?pi=30 one twice a minute', async () => {
    const clock = new VirtualClock();
    const world = pingWorld({ clock });
    const start = START_MS - (START_MS % 60_000) + 60_000;
    await world.connections.put(connection('fast', start - 1_500));
    await world.connections.put(connection('slow', start - 1_500, { pingIntervalSeconds: 30 }));
    clock.advance(start - START_MS);
    await runPingPeriod(world.deps, { start });
    await runPingPeriod(world.deps, { start: start + 60_000 });

    const pings = world.recorder.calls.filter((c) => c.connectionId === 'fast').map((c) => c.at - start);
    expect(pings).toHaveLength(40);
    const gaps = pings.slice(1).map((t, i) => t - pings[i]);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(3_000);
    expect(world.recorder.calls.filter((c) => c.connectionId === 'slow')).toHaveLength(4);
  });

  test('a late invocation folds the ticks it missed into one round and still covers its whole period', async () => {
    const clock = new VirtualClock();
    const world = pingWorld({ clock });
    const start = START_MS;
    clock.advance(10_500);
    const result = await runPingPeriod(world.deps, { start });
    expect(result).toMatchObject({ lateTicks: 3, rounds: 17 });
    const covered = windows(world, start);
    expect(covered[0]).toEqual([0, 12]);
    expect(covered[covered.length - 1]).toEqual([57, 60]);
    expect(world.logger.events()).toContain('ping.behind');
  });

  test('intervals of a minute or more: one round per period, covering the minute ahead', async () => {
    const clock = new VirtualClock();
    const world = pingWorld({ clock, settings: { ping: { intervalSeconds: 540 } } });
    const result = await runPingPeriod(world.deps, { start: START_MS });
    expect(result.rounds).toBe(1);
    expect(windows(world, START_MS)).toEqual([[0, 60]]);
  });

  test('a round that overruns by more than a tick: the ticks it missed fold into the next round, counted and logged (ping.behind)', async () => {
    const clock = new VirtualClock();
    const world = pingWorld({ clock });
    const start = START_MS;
    for (const id of ['a', 'b']) await world.connections.put(connection(id, start - 1_500));
    // Round 1 (tick 3 s) takes until 10.5 s: tick 6 s is 4.5 s late and tick 9 s has passed too.
    const afterRound = async (_round: PingRoundResult, index: number) => {
      if (index === 1) clock.advance(7_500);
      return true;
    };
    const result = await runPingPeriod(world.deps, { start, afterRound });
    expect(result).toMatchObject({ rounds: 19, lateTicks: 1, connections: 2 });
    expect(windows(world, start).slice(0, 4)).toEqual([[0, 3], [3, 6], [6, 12], [12, 15]]);
    expect(world.logger.entries.filter((e) => e.event === 'ping.behind')).toEqual([
      { level: 'warn', event: 'ping.behind', fields: { lateTicks: 1, tickMs: 3_000, lagMs: 4_500 } },
    ]);
  });

  test('on time: no tick is late and nothing is logged as behind', async () => {
    const world = pingWorld({ clock: new VirtualClock() });
    const result = await runPingPeriod(world.deps, { start: START_MS });
    expect(result.lateTicks).toBe(0);
    expect(world.logger.events()).not.toContain('ping.behind');
  });

  test('resumed: the ticks past when $connect started the pinger are not late, but a later overrun is', async () => {
    const clock = new VirtualClock();
    const world = pingWorld({ clock });
    clock.advance(10_500);
    const afterRound = async (_round: PingRoundResult, index: number) => {
      if (index === 1) clock.advance(7_500);
      return true;
    };
    const result = await runPingPeriod(world.deps, { start: START_MS, resumed: true, afterRound });
    // Round 0 at 10.5 s covers (0, 12 s]; round 1 at 12 s takes until 19.5 s, past tick 18 s.
    expect(windows(world, START_MS).slice(0, 3)).toEqual([[0, 12], [12, 15], [15, 21]]);
    expect(result.lateTicks).toBe(1);
    expect(world.logger.events().filter((e) => e === 'ping.behind')).toHaveLength(1);
  });

  test('maxPerSecond: the period\'s own ceiling holds its posts, in place of ping.maxPerSecond', async () => {
    const clock = new VirtualClock();
    const world = pingWorld({ clock, settings: { delivery: { concurrency: 16 } } });
    for (let i = 0; i < 30; i++) await world.connections.put(connection(`c${i}`, START_MS - 1_500));
    await runPingPeriod(world.deps, { start: START_MS, periodMs: 3_000, maxPerSecond: 10 });
    const times = world.recorder.calls.map((c) => c.at);
    expect(times).toHaveLength(30);
    // 10 a second with a burst of 1 (RateLimiter): the 30th post no sooner than 2.9 s after the first.
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(2_900);
  });

  test.each([0, -60_000, 1.5, Number.NaN])('periodMs %p: refused, it must be a positive integer', async (periodMs) => {
    const world = pingWorld({ clock: new VirtualClock() });
    await expect(runPingPeriod(world.deps, { start: START_MS, periodMs })).rejects.toThrow(`periodMs must be a positive integer, got ${periodMs}`);
  });

  test('periodMs 1: the smallest period runs one round', async () => {
    const world = pingWorld({ clock: new VirtualClock() });
    expect(await runPingPeriod(world.deps, { start: START_MS, periodMs: 1 })).toMatchObject({ rounds: 1 });
  });

  test('stopped: no further round starts', async () => {
    const clock = new VirtualClock();
    const world = pingWorld({ clock });
    const result = await runPingPeriod(world.deps, { start: START_MS, stopped: () => rounds.mock.calls.length >= 2 });
    expect(result.rounds).toBe(2);
  });
});
