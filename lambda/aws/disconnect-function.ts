/** The AWS Lambda entry point of the `disconnect` function, bundled into assets/lambda/aws/disconnect-function/. */
import { cableConfigForRpc, cableLogger, connectionStore, handlerOptions, presenceStore, rpcClient, sessionStore, subscriptionStore } from './aws-runtime';
import { systemClock } from '../core/ports';
import { makeDisconnectHandler } from '../handlers/disconnect-handler';

export const handler = makeDisconnectHandler(async () => {
  // Secrets are read only when the app is to be told (its RPC key).
  const config = await cableConfigForRpc();
  return {
    connections: connectionStore(),
    subscriptions: subscriptionStore(),
    logger: cableLogger(),
    config,
    rpc: await rpcClient(config),
    // An ext client's session is kept for restore (lambda/core/session-restore.ts).
    sessions: { store: sessionStore(), clock: systemClock, ttlSeconds: config.history.sessionsTtlSeconds },
    // What it joined expires after the presence TTL (lambda/core/presence.ts).
    presence: presenceStore(),
    clock: systemClock,
  };
}, handlerOptions());
