/** The AWS Lambda entry point of the `connect` function, bundled into assets/lambda/aws/connect-function/. */
import { cableConfig, cableLogger, connectionStore, deferredDelivery, handlerOptions, pingKeepalive, rpcClient } from './aws-runtime';
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
  };
}, handlerOptions());
