/** The AWS Lambda entry point of the `fanout` function, bundled into assets/lambda/aws/fanout-function/. */
import { cableConfigForRpc, cableLogger, connectionStore, fanOutTransport, handlerOptions, presenceStore, rpcClient, subscriptionStore } from './aws-runtime';
import { systemClock } from '../core/ports';
import { makeFanOutHandler } from '../handlers/fanout-handler';

export const handler = makeFanOutHandler(async () => {
  const config = await cableConfigForRpc();
  return {
    config,
    subscriptions: subscriptionStore(),
    connections: connectionStore(),
    transport: fanOutTransport(config.delivery.concurrency),
    clock: systemClock,
    logger: cableLogger(),
    // Told of connections a shard finds gone before their `$disconnect` (forget-connection.ts).
    rpc: await rpcClient(config),
    // What a gone connection joined expires after the presence TTL (forget-connection.ts).
    presence: presenceStore(),
  };
}, handlerOptions());
