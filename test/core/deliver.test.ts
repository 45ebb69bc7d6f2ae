import { CONNECTION_ID, expectValidFrames, makeWorld, START_MS } from './support';
import { deliver, DeliverResult } from '../../lambda/core/deliver';
import { ConnectionGoneError } from '../../lambda/core/errors';
import { disconnect, encodeFrame, welcome } from '../../lambda/core/protocol';

const WELCOME = encodeFrame(welcome());
const CONFIRM = encodeFrame({ type: 'confirm_subscription', identifier: '{"channel":"$pubsub","stream_name":"a"}' });
const UNAUTHORIZED = encodeFrame(disconnect('unauthorized', false));
const DEADLINE = START_MS + 10_000;

describe('deliver', () => {
  test.each<{ name: string; openAfterSleeps?: number; frames: string[]; expected: DeliverResult; sleeps: number[] }>([
    {
      name: 'deliver: delivers immediately when the connection is open',
      openAfterSleeps: 0,
      frames: [WELCOME],
      expected: { kind: 'delivered', attempts: 1 },
      sleeps: [],
    },
    {
      name: 'deliver: retries while the connection answers gone and succeeds once it opens',
      openAfterSleeps: 3,
      frames: [WELCOME],
      expected: { kind: 'delivered', attempts: 4 },
      sleeps: [20, 40, 80],
    },
    {
      name: 'deliver: backoff is capped at 250 ms',
      openAfterSleeps: 7,
      frames: [WELCOME],
      expected: { kind: 'delivered', attempts: 8 },
      sleeps: [20, 40, 80, 160, 250, 250, 250],
    },
    {
      name: 'deliver: frames arrive in order after a late open',
      openAfterSleeps: 2,
      frames: [WELCOME, CONFIRM],
      expected: { kind: 'delivered', attempts: 4 },
      sleeps: [20, 40],
    },
    {
      name: 'deliver: nothing to send is delivered at once',
      frames: [],
      expected: { kind: 'delivered', attempts: 0 },
      sleeps: [],
    },
  ])('$name', async ({ openAfterSleeps, frames, expected, sleeps }) => {
    const world = makeWorld();
    if (openAfterSleeps === 0) world.transport.open(CONNECTION_ID);
    world.clock.onSleep = (count) => {
      if (count === openAfterSleeps) world.transport.open(CONNECTION_ID);
    };

    const result = await deliver(world, { connectionId: CONNECTION_ID, frames, deadline: DEADLINE });

    expect(result).toEqual(expected);
    expect(world.clock.sleeps).toEqual(sleeps);
    expect(world.transport.sent.get(CONNECTION_ID) ?? []).toEqual(frames);
    expectValidFrames(world.transport.sent.get(CONNECTION_ID) ?? []);
    expect(world.logger.at('warn')).toEqual([]);
  });

  test('deliver: gives up with gave_up once the next retry would pass the deadline', async () => {
    const world = makeWorld();
    const result = await deliver(world, { connectionId: CONNECTION_ID, frames: [WELCOME], deadline: DEADLINE });

    expect(result).toEqual({ kind: 'gave_up', attempts: world.clock.sleeps.length + 1, sent: 0 });
    expect(world.transport.sent.size).toBe(0);
    // It never sleeps past the deadline, and stops within one backoff step of it.
    expect(world.clock.now()).toBeLessThanOrEqual(DEADLINE);
    expect(world.clock.now() + 250).toBeGreaterThan(DEADLINE);
    expect(world.logger.at('warn')).toEqual([
      { level: 'warn', event: 'deliver.gave_up', fields: { connectionId: CONNECTION_ID, attempts: result.attempts, sent: 0 } },
    ]);
  });

  test('deliver: a retry that lands exactly on the deadline is still made', async () => {
    const world = makeWorld();
    world.clock.onSleep = () => world.transport.open(CONNECTION_ID);
    // The first backoff is 20 ms: the retry is due at the deadline itself.
    const result = await deliver(world, { connectionId: CONNECTION_ID, frames: [WELCOME], deadline: START_MS + 20 });
    expect(result).toEqual({ kind: 'delivered', attempts: 2 });
    expect(world.clock.sleeps).toEqual([20]);
  });

  test('deliver: gives up at once when the deadline has already passed', async () => {
    const world = makeWorld();
    const result = await deliver(world, { connectionId: CONNECTION_ID, frames: [WELCOME], deadline: START_MS - 1 });
    expect(result).toEqual({ kind: 'gave_up', attempts: 1, sent: 0 });
    expect(world.clock.sleeps).toEqual([]);
  });

  test('deliver: gave_up counts the frames sent before the connection went away', async () => {
    const world = makeWorld();
    world.transport.open(CONNECTION_ID);
    const send = world.transport.send.bind(world.transport);
    world.transport.send = async (id, data) => {
      await send(id, data);
      await world.transport.close(id);
    };

    const result = await deliver(world, { connectionId: CONNECTION_ID, frames: [WELCOME, CONFIRM], deadline: DEADLINE });

    expect(result).toMatchObject({ kind: 'gave_up', sent: 1 });
    expect(world.transport.sent.get(CONNECTION_ID)).toEqual([WELCOME]);
  });

  test('deliver: an error other than gone propagates without retrying', async () => {
    const world = makeWorld();
    const failure = new Error('throttled');
    world.transport.send = async () => {
      throw failure;
    };

    await expect(deliver(world, { connectionId: CONNECTION_ID, frames: [WELCOME], deadline: DEADLINE })).rejects.toBe(failure);
    expect(world.clock.sleeps).toEqual([]);
  });

  test('deliver: gone is told apart from other errors by type', async () => {
    const world = makeWorld();
    let calls = 0;
    world.transport.send = async (id) => {
      calls++;
      throw calls === 1 ? new ConnectionGoneError(id) : new TypeError('boom');
    };

    await expect(deliver(world, { connectionId: CONNECTION_ID, frames: [WELCOME], deadline: DEADLINE })).rejects.toThrow(TypeError);
    expect(world.clock.sleeps).toEqual([20]);
  });
});

describe('deliver: close', () => {
  /** Every send and close in the order the transport saw them. */
  function recordCalls(world: ReturnType<typeof makeWorld>): string[] {
    const calls: string[] = [];
    const send = world.transport.send.bind(world.transport);
    const close = world.transport.close.bind(world.transport);
    world.transport.send = async (id, data) => {
      await send(id, data);
      calls.push(`send ${id} ${data}`);
    };
    world.transport.close = async (id) => {
      calls.push(`close ${id}`);
      await close(id);
    };
    return calls;
  }

  test('close: true closes the connection after its frames have been posted (a refused identification)', async () => {
    const world = makeWorld();
    world.transport.open(CONNECTION_ID);
    const calls = recordCalls(world);

    const result = await deliver(world, { connectionId: CONNECTION_ID, frames: [UNAUTHORIZED], deadline: DEADLINE, close: true });

    expect(result).toEqual({ kind: 'delivered', attempts: 1 });
    expect(calls).toEqual([`send ${CONNECTION_ID} ${UNAUTHORIZED}`, `close ${CONNECTION_ID}`]);
    expect([...world.transport.closed]).toEqual([CONNECTION_ID]);
  });

  test('close: true waits for a late open, then posts and closes', async () => {
    const world = makeWorld();
    world.clock.onSleep = (count) => {
      if (count === 2) world.transport.open(CONNECTION_ID);
    };
    const calls = recordCalls(world);

    const result = await deliver(world, { connectionId: CONNECTION_ID, frames: [UNAUTHORIZED], deadline: DEADLINE, close: true });

    expect(result).toEqual({ kind: 'delivered', attempts: 3 });
    expect(calls).toEqual([`send ${CONNECTION_ID} ${UNAUTHORIZED}`, `close ${CONNECTION_ID}`]);
  });

  test.each([
    ['absent', undefined],
    ['false', false],
  ])('close %s: the connection stays open after its frames', async (_name, close) => {
    const world = makeWorld();
    world.transport.open(CONNECTION_ID);

    await deliver(world, { connectionId: CONNECTION_ID, frames: [WELCOME], deadline: DEADLINE, close });

    expect(world.transport.closed.size).toBe(0);
    expect(world.transport.sent.get(CONNECTION_ID)).toEqual([WELCOME]);
  });

  test('close: true after giving up closes nothing (the client has already left)', async () => {
    const world = makeWorld();
    const calls = recordCalls(world);

    const result = await deliver(world, { connectionId: CONNECTION_ID, frames: [UNAUTHORIZED], deadline: START_MS - 1, close: true });

    expect(result).toEqual({ kind: 'gave_up', attempts: 1, sent: 0 });
    expect(calls).toEqual([]);
  });
});
