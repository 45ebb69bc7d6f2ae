import { apiGatewayTransport, cableConfig, cableLogger, subscriptionStore } from './lambda-runtime';
import { makeMessageHandler } from './message-handler';
import { systemClock } from '../core/ports';

export const handler = makeMessageHandler(async () => ({
  config: await cableConfig(),
  subscriptions: subscriptionStore(),
  transport: apiGatewayTransport(),
  clock: systemClock,
  logger: cableLogger(),
}));
