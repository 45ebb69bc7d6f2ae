import { makeConnectHandler } from './connect-handler';
import { cableLogger, cableSettings, connectionStore, deferredDelivery } from './lambda-runtime';
import { systemClock } from '../core/ports';

export const handler = makeConnectHandler(async () => ({
  config: cableSettings(),
  connections: connectionStore(),
  delivery: deferredDelivery(),
  clock: systemClock,
  logger: cableLogger(),
}));
