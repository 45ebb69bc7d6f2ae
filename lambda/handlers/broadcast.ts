import { makeBroadcastHandler } from './broadcast-handler';
import { cableConfig, cableLogger, connectionStore, fanOutTransport, rpcClient, shardDispatcher, subscriptionStore } from './lambda-runtime';
import { systemClock } from '../core/ports';

export const handler = makeBroadcastHandler(async () => {
  const config = await cableConfig();
  return {
    config,
    subscriptions: subscriptionStore(),
    connections: connectionStore(),
    transport: fanOutTransport(config.delivery.concurrency),
    shards: shardDispatcher(),
    clock: systemClock,
    logger: cableLogger(),
    // Told of connections a broadcast finds gone before their `$disconnect` (forget-connection.ts).
    rpc: rpcClient(config),
  };
});
