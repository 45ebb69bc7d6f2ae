import { makeBroadcastHandler } from './broadcast-handler';
import { cableConfig, cableLogger, connectionStore, fanOutTransport, shardDispatcher, subscriptionStore } from './lambda-runtime';
import { systemClock } from '../core/ports';

export const handler = makeBroadcastHandler(async () => {
  const config = await cableConfig();
  return {
    config,
    subscriptions: subscriptionStore(),
    connections: connectionStore(),
    transport: fanOutTransport(config.fanOut.concurrency),
    shards: shardDispatcher(),
    clock: systemClock,
    logger: cableLogger(),
  };
});
