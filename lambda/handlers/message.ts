import { apiGatewayTransport, cableConfig, cableLogger, connectionStore, rpcClient, subscriptionStore } from './lambda-runtime';
import { makeMessageHandler } from './message-handler';
import { systemClock } from '../core/ports';

export const handler = makeMessageHandler(async () => {
  const config = await cableConfig();
  return {
    config,
    subscriptions: subscriptionStore(),
    connections: connectionStore(),
    transport: apiGatewayTransport(),
    clock: systemClock,
    logger: cableLogger(),
    rpc: rpcClient(config),
  };
});
