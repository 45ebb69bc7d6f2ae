import { WorkQueue } from '../../lambda/core/work-queue';

/** Lets every pending promise callback run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Whether `promise` has resolved once pending callbacks have run. */
async function resolved(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => { done = true; });
  await settle();
  return done;
}

describe('WorkQueue', () => {
  test('push after close is refused', () => {
    const queue = new WorkQueue<number>();
    queue.close();
    expect(() => queue.pushAll([1])).toThrow(/WorkQueue: push after close/);
  });

  test('items come out in order, and take answers undefined once closed and drained', async () => {
    const queue = new WorkQueue<number>();
    queue.pushAll([1, 2]);
    queue.close();
    expect([await queue.take(), await queue.take(), await queue.take()]).toEqual([1, 2, undefined]);
  });

  test('a long stream comes out whole and in order, however far the consumers got ahead of the producer', async () => {
    const queue = new WorkQueue<number>();
    const taken: (number | undefined)[] = [];
    let next = 0;
    // Pages of 500, each taken down to 100 before the next: the consumed prefix passes 1,024 many times.
    for (let page = 0; page < 12; page++) {
      queue.pushAll(Array.from({ length: 500 }, () => next++));
      while (queue.size > 100) taken.push(await queue.take());
    }
    queue.close();
    for (let item = await queue.take(); item !== undefined; item = await queue.take()) taken.push(item);
    expect(taken).toEqual(Array.from({ length: 6_000 }, (_, i) => i));
  });

  test('waitForRoom waits while more than `size` items are queued, and resolves once at most `size` are', async () => {
    const queue = new WorkQueue<number>();
    queue.pushAll([1, 2, 3, 4]);
    const room = queue.waitForRoom(2);
    expect(await resolved(room)).toBe(false);
    await queue.take();
    expect(await resolved(room)).toBe(false);
    await queue.take();
    expect(await resolved(room)).toBe(true);
  });

  test('waitForRoom resolves at once when exactly `size` items are queued', async () => {
    const queue = new WorkQueue<number>();
    queue.pushAll([1, 2]);
    expect(await resolved(queue.waitForRoom(2))).toBe(true);
  });

  test('producers waiting for different room are each woken when theirs comes, not before', async () => {
    const queue = new WorkQueue<number>();
    queue.pushAll([1, 2, 3, 4, 5]);
    const three = queue.waitForRoom(3);
    const one = queue.waitForRoom(1);
    await queue.take();
    await queue.take();
    expect([await resolved(three), await resolved(one)]).toEqual([true, false]);
    await queue.take();
    await queue.take();
    expect(await resolved(one)).toBe(true);
  });

  test('close wakes a producer waiting for room', async () => {
    const queue = new WorkQueue<number>();
    queue.pushAll([1, 2, 3]);
    const room = queue.waitForRoom(0);
    expect(await resolved(room)).toBe(false);
    queue.close();
    expect(await resolved(room)).toBe(true);
  });

  test('close wakes a consumer waiting for an item, which answers undefined', async () => {
    const queue = new WorkQueue<number>();
    const taken = queue.take();
    expect(await resolved(taken)).toBe(false);
    queue.close();
    expect(await taken).toBeUndefined();
  });

  test('a consumer waiting for an item gets the next one pushed', async () => {
    const queue = new WorkQueue<number>();
    const taken = queue.take();
    queue.pushAll([]);
    expect(await resolved(taken)).toBe(false);
    queue.pushAll([7]);
    expect(await taken).toBe(7);
  });
});
