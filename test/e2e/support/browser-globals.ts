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
