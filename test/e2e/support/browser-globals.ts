import * as ActionCable from '@rails/actioncable';

/**
 * The few browser globals `@rails/actioncable` touches in Node: its ConnectionMonitor calls the
 * global `addEventListener`/`removeEventListener` for `visibilitychange` and reads
 * `document.visibilityState`. Returns a function that restores what was there before.
 */
export function installBrowserGlobals(): () => void {
  const target = globalThis as Record<string, unknown>;
  const names = ['addEventListener', 'removeEventListener', 'document'] as const;
  const saved = names.map((name) => [name, Object.getOwnPropertyDescriptor(target, name)] as const);
  target.addEventListener = () => undefined;
  target.removeEventListener = () => undefined;
  target.document = { visibilityState: 'visible' };
  return () => {
    for (const [name, descriptor] of saved) {
      if (descriptor) Object.defineProperty(target, name, descriptor);
      else delete target[name];
    }
  };
}

/** `@rails/actioncable` in Node: the browser globals, and `webSocket` (`ws`, or a recording subclass) as its socket; returns the undo. */
export function installNodeConsumer(webSocket: unknown): () => void {
  const restoreGlobals = installBrowserGlobals();
  const saved = ActionCable.adapters.WebSocket;
  ActionCable.adapters.WebSocket = webSocket as typeof ActionCable.adapters.WebSocket;
  return () => {
    ActionCable.adapters.WebSocket = saved;
    restoreGlobals();
  };
}

/**
 * For one test file: `installNodeConsumer(webSocket)` around its tests (jest hooks), and
 * `create(url)`, whose consumers are disconnected after each test.
 */
export function nodeConsumers<C extends ActionCable.Consumer = ActionCable.Consumer>(webSocket: unknown): { create(url: string): C } {
  let restore: (() => void) | undefined;
  const created: C[] = [];
  beforeAll(() => {
    restore = installNodeConsumer(webSocket);
  });
  afterEach(() => created.splice(0).forEach((consumer) => consumer.disconnect()));
  afterAll(() => restore?.());
  return {
    create: (url) => {
      const consumer = ActionCable.createConsumer(url) as C;
      created.push(consumer);
      return consumer;
    },
  };
}
