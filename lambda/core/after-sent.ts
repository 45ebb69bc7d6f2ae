/** What runs once a reply's frames are sent, or the client is found gone (message.ts `MessageResult`). */
export type AfterSent = () => Promise<void>;

/**
 * The given steps as one `afterSent`, each awaited before the next, to spread into a result;
 * `{}` when none is given. The order is the caller's: a history replay's release goes before the
 * presence join it precedes, so the joiner's own `join` reaches it after the replayed messages.
 */
export function afterSentInOrder(...steps: readonly (AfterSent | undefined)[]): { readonly afterSent?: AfterSent } {
  const given = steps.filter((step): step is AfterSent => step !== undefined);
  if (given.length === 0) return {};
  return { afterSent: async () => { for (const step of given) await step(); } };
}
