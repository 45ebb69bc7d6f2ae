import { connection, pingWorld, VirtualClock } from './ping-support';
import { START_MS } from './support';
import { MemoryPingerState } from '../../lambda/adapters/memory/memory-pinger-state';
import { PingInvocationDeps, runPingInvocation } from '../../lambda/core/ping-invocation';
import { runPingPeriod } from '../../lambda/core/ping-schedule';
import { ShardRequest } from '../../lambda/core/ports';
import { PresenceExpiry, PresenceExpiryStore } from '../../lambda/core/presence-expiry';

/*
 * Where the presence sweep runs (presence-expiry.ts, docs/presence.md): after each round of the
 * coordinator (or of the one invocation without coordination) that found a connection; never in
 * a worker, never when nobody is connected.
 */

const PERIOD = 60_000;
const MINUTE = START_MS - (START_MS % PERIOD) + PERIOD;
const DUE: PresenceExpiry = { stream: 'chat', id: 'u1', sessionKey: 'session', holder: 'gone', dueAt: Math.floor(MINUTE / 1000) + 30 };

/** Records the times it was read at; `DUE` is due from its time on and expires once. */
class CountingExpiryStore implements PresenceExpiryStore {
  readonly reads: number[] = [];
  private swept = false;

  async dueExpiries(nowMs: number): Promise<PresenceExpiry[]> {
    this.reads.push(nowMs);
    return !this.swept && DUE.dueAt * 1000 <= nowMs ? [DUE] : [];
  }

  async expire(expiry: PresenceExpiry): Promise<{ stream: string; id: string; last: boolean }> {
    this.swept = true;
    return { stream: expiry.stream, id: expiry.id, last: true };
  }
}

function sweeping(options: { connections?: number; coordinated?: boolean } = {}) {
  const clock = new VirtualClock(MINUTE);
  const world = pingWorld({ clock });
  const store = new CountingExpiryStore();
  const dispatched: ShardRequest[] = [];
  const deps: PingInvocationDeps = {
    ...world.deps,
    presenceExpiry: store,
    shards: { dispatch: async (shard) => void dispatched.push(shard) },
    ...(options.coordinated === false ? {} : { coordination: { state: new MemoryPingerState(), postsPerSecondPerWorker: 700 } }),
  };
  return { ...world, clock, store, dispatched, deps };
}

describe('ping: the presence sweep', () => {
  test('coordinator: one read of the expiries after each round that found a connection (every tick), the leave announced once', async () => {
    const { deps, store, dispatched, connections } = sweeping();
    await connections.put(connection('c1', MINUTE - 1_000));
    expect(await runPingInvocation(deps, { start: MINUTE, periodMs: PERIOD })).toMatchObject({ outcome: 'ran', rounds: 20 });
    expect(store.reads).toEqual(Array.from({ length: 20 }, (_, k) => MINUTE + k * 3_000));
    expect(dispatched).toEqual([{ broadcast: { stream: 'chat', data: '{"type":"leave","id":"u1"}', transient: true, broadcastType: 'presence' } }]);
  });

  test('without coordination (the local server): the one invocation sweeps after each round', async () => {
    const { deps, store, connections } = sweeping({ coordinated: false });
    await connections.put(connection('c1', MINUTE - 1_000));
    await runPingInvocation(deps, { start: MINUTE, periodMs: PERIOD });
    expect(store.reads.length).toBe(20);
  });

  test('no connection: nobody to tell, no read (the idle exit, and a period that finds none)', async () => {
    const idle = sweeping();
    expect(await runPingInvocation(idle.deps, { start: MINUTE, periodMs: PERIOD })).toMatchObject({ outcome: 'idle' });
    expect(idle.store.reads).toEqual([]);
    const single = sweeping({ coordinated: false });
    await runPingInvocation(single.deps, { start: MINUTE, periodMs: PERIOD });
    expect(single.store.reads).toEqual([]);
  });

  test('worker: a worker other than the coordinator never reads the expiries', async () => {
    const { deps, store, connections } = sweeping();
    for (let i = 0; i < 40; i++) await connections.put(connection(`Conn${i}=`, MINUTE - 1_000));
    expect(await runPingInvocation(deps, { start: MINUTE, periodMs: PERIOD, worker: 1, workers: 2 })).toMatchObject({ outcome: 'ran', pinged: expect.any(Number) });
    expect(store.reads).toEqual([]);
  });

  test('runPingPeriod: sweepsPresence unset, no read', async () => {
    const { deps, store, connections } = sweeping();
    await connections.put(connection('c1', MINUTE - 1_000));
    await runPingPeriod(deps, { start: MINUTE, periodMs: 6_000 });
    expect(store.reads).toEqual([]);
    await runPingPeriod(deps, { start: MINUTE + 6_000, periodMs: 6_000, sweepsPresence: true });
    expect(store.reads).toEqual([MINUTE + 6_000, MINUTE + 9_000]);
  });
});
