import { makeDisconnectHandler } from './disconnect-handler';
import { cableConfigForRpc, cableLogger, connectionStore, rpcClient, subscriptionStore } from './lambda-runtime';

export const handler = makeDisconnectHandler(async () => {
  // Secrets are read only when the app is to be told (its RPC key).
  const config = await cableConfigForRpc();
  return { connections: connectionStore(), subscriptions: subscriptionStore(), logger: cableLogger(), config, rpc: rpcClient(config) };
});
