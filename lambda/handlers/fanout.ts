import { makeFanOutHandler } from './fanout-handler';
import { cableConfigForRpc, cableLogger, connectionStore, fanOutTransport, rpcClient, subscriptionStore } from './lambda-runtime';
import { systemClock } from '../core/ports';

export const handler = makeFanOutHandler(async () => {
  const config = await cableConfigForRpc();
  return {
    config,
    subscriptions: subscriptionStore(),
    connections: connectionStore(),
    transport: fanOutTransport(config.delivery.concurrency),
    clock: systemClock,
    logger: cableLogger(),
    // Told of connections a shard finds gone before their `$disconnect` (forget-connection.ts).
    rpc: rpcClient(config),
  };
});
