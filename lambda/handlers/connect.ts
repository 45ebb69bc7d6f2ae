import { makeConnectHandler } from './connect-handler';
import { cableConfig, cableLogger, connectionStore, deferredDelivery, rpcClient } from './lambda-runtime';
import { systemClock } from '../core/ports';

export const handler = makeConnectHandler(async () => {
  const config = await cableConfig();
  return {
    config,
    connections: connectionStore(),
    delivery: deferredDelivery(),
    clock: systemClock,
    logger: cableLogger(),
    rpc: rpcClient(config),
  };
});
