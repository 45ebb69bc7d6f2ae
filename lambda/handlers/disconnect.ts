import { makeDisconnectHandler } from './disconnect-handler';
import { cableLogger, connectionStore, subscriptionStore } from './lambda-runtime';

export const handler = makeDisconnectHandler(async () => ({
  connections: connectionStore(),
  subscriptions: subscriptionStore(),
  logger: cableLogger(),
}));
