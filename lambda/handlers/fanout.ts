import { makeFanOutHandler } from './fanout-handler';
import { cableLogger, cableSettings, connectionStore, fanOutTransport, subscriptionStore } from './lambda-runtime';
import { systemClock } from '../core/ports';

export const handler = makeFanOutHandler(async () => {
  const config = cableSettings();
  return {
    config,
    subscriptions: subscriptionStore(),
    connections: connectionStore(),
    transport: fanOutTransport(config.fanOut.concurrency),
    clock: systemClock,
    logger: cableLogger(),
  };
});
