import { cableLogger, cableSettings, connectionStore, fanOutTransport, pingPeriodMs, subscriptionStore } from './lambda-runtime';
import { makePingHandler } from './ping-handler';
import { systemClock } from '../core/ports';

export const handler = makePingHandler(async () => {
  const config = cableSettings();
  return {
    config,
    connections: connectionStore(),
    subscriptions: subscriptionStore(),
    transport: fanOutTransport(config.fanOut.concurrency),
    clock: systemClock,
    logger: cableLogger(),
    periodMs: pingPeriodMs(),
  };
});
