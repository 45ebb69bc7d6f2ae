import { cableConfigForRpc, cableLogger, connectionStore, fanOutTransport, pingPeriodMs, rpcClient, subscriptionStore } from './lambda-runtime';
import { makePingHandler } from './ping-handler';
import { systemClock } from '../core/ports';

export const handler = makePingHandler(async () => {
  const config = await cableConfigForRpc();
  return {
    config,
    connections: connectionStore(),
    subscriptions: subscriptionStore(),
    transport: fanOutTransport(config.delivery.concurrency),
    clock: systemClock,
    logger: cableLogger(),
    periodMs: pingPeriodMs(),
    // Told of connections the pinger finds gone before their `$disconnect` (forget-connection.ts).
    rpc: rpcClient(config),
  };
});
