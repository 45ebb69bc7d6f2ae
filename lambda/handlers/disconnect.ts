import { makeDisconnectHandler } from './disconnect-handler';
import { cableConfig, cableEnvironment, cableLogger, connectionStore, rpcClient, subscriptionStore } from './lambda-runtime';

export const handler = makeDisconnectHandler(async () => {
  const deps = { connections: connectionStore(), subscriptions: subscriptionStore(), logger: cableLogger() };
  // Secrets are read only when the app is to be told (its RPC secret).
  if (!cableEnvironment().rpc) return deps;
  const config = await cableConfig();
  return { ...deps, config, rpc: rpcClient(config) };
});
