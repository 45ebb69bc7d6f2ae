import { systemClock } from '../../lambda/core/ports';

// The production clock: the rate limiter's waits, the retrying sender's backoff and the ping loop's
// pauses all sleep through it, while every other core test uses a fake clock. Jest's fake timers
// stand in for time, so nothing here waits or depends on the machine's speed.
describe('systemClock', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_700_000_000_000 }));
  afterEach(() => jest.useRealTimers());

  test('now() is the wall clock in milliseconds', () => {
    expect(systemClock.now()).toBe(1_700_000_000_000);
    jest.advanceTimersByTime(250);
    expect(systemClock.now()).toBe(1_700_000_000_250);
  });

  test('sleep(ms) resolves once ms have passed, not before', async () => {
    let woke = false;
    const sleeping = systemClock.sleep(1_000).then(() => { woke = true; });

    await jest.advanceTimersByTimeAsync(999);
    expect(woke).toBe(false);

    await jest.advanceTimersByTimeAsync(1);
    await sleeping;
    expect(woke).toBe(true);
  });
});
