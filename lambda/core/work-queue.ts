/**
 * A FIFO between one producer (the page reader of a fan-out) and a pool of consumers (its
 * posting workers). Consumers wait for items instead of polling; the producer waits for room,
 * so a stream of 100,000 subscribers is never held in memory at once.
 */
export class WorkQueue<T> {
  private items: T[] = [];
  private head = 0;
  private closed = false;
  private takers: (() => void)[] = [];
  private roomWaiters: { readonly size: number; readonly wake: () => void }[] = [];

  get size(): number {
    return this.items.length - this.head;
  }

  /** Adds items and wakes every waiting consumer (they re-check, so none takes twice). */
  pushAll(items: readonly T[]): void {
    if (this.closed) throw new Error('WorkQueue: push after close');
    if (items.length === 0) return;
    this.items.push(...items);
    this.wakeTakers();
  }

  /** The next item, or undefined once the queue is closed and empty. */
  async take(): Promise<T | undefined> {
    for (;;) {
      if (this.head < this.items.length) {
        const item = this.items[this.head];
        this.items[this.head++] = undefined as T;
        this.compact();
        this.wakeRoomWaiters();
        return item;
      }
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => this.takers.push(resolve));
    }
  }

  /** Resolves once at most `size` items are waiting (or the queue is closed). */
  async waitForRoom(size: number): Promise<void> {
    while (!this.closed && this.size > size) {
      await new Promise<void>((wake) => this.roomWaiters.push({ size, wake }));
    }
  }

  /** No more items will come: consumers drain what is left, then `take` answers undefined. */
  close(): void {
    this.closed = true;
    this.wakeTakers();
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    waiters.forEach(({ wake }) => wake());
  }

  private wakeTakers(): void {
    const takers = this.takers;
    this.takers = [];
    takers.forEach((wake) => wake());
  }

  private wakeRoomWaiters(): void {
    if (this.roomWaiters.length === 0) return;
    const ready = this.roomWaiters.filter(({ size }) => this.size <= size);
    if (ready.length === 0) return;
    this.roomWaiters = this.roomWaiters.filter(({ size }) => this.size > size);
    ready.forEach(({ wake }) => wake());
  }

  /** Drops the consumed prefix now and then, so the array does not grow for the whole fan-out. */
  private compact(): void {
    if (this.head < 1024 || this.head * 2 < this.items.length) return;
    this.items = this.items.slice(this.head);
    this.head = 0;
  }
}
