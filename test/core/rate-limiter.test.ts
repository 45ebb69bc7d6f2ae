import { VirtualClock } from './ping-support';
import { FakeClock } from './support';
import { RateLimiter } from '../../lambda/core/rate-limiter';

describe('RateLimiter', () => {
  test.each([0, -1, Number.NaN])('perSecond: %p is refused', (perSecond) => {
    expect(() => new RateLimiter(new VirtualClock(), perSecond)).toThrow(new Error(`RateLimiter: perSecond must be positive, got ${perSecond}`));
  });

  test('perSecond: a fraction of one is accepted (one call every 2 s at 0.5)', () => {
    expect(new RateLimiter(new VirtualClock(), 0.5)).toMatchObject({ perSecond: 0.5, burst: 1 });
  });

  test('take: a call within the rate does not sleep at all (not even 0 ms: a timer per ping post); the next waits its interval', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter(clock, 1);
    await limiter.take();
    expect(clock.sleeps).toEqual([]);
    await limiter.take();
    expect(clock.sleeps).toEqual([1000]);
  });
});
