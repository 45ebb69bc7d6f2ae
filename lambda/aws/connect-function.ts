/** The AWS Lambda entry point of the `connect` function, bundled into assets/lambda/aws/connect-function/. */
import {
  cableConfig, cableLogger, connectionStore, deferredDelivery, handlerOptions, pingKeepalive, rpcClient, sessionStore, subscriptionStore,
} from './aws-runtime';
import { systemClock } from '../core/ports';
import { makeConnectHandler } from '../handlers/connect-handler';

export const handler = makeConnectHandler(async () => {
  const config = await cableConfig();
  return {
    config,
    connections: connectionStore(),
    delivery: deferredDelivery(),
    clock: systemClock,
    logger: cableLogger(),
    rpc: await rpcClient(config),
    // Starts a pinger when none holds the lease (the pinger exits when idle).
    keepalive: pingKeepalive(),
    // An ext client naming its last sid gets that session back (lambda/core/session-restore.ts).
    restore: { sessions: sessionStore(), subscriptions: subscriptionStore() },
  };
}, handlerOptions());
