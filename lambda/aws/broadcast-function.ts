/** The AWS Lambda entry point of the `broadcast` function, bundled into assets/lambda/aws/broadcast-function/. */
import { cableConfig, cableLogger, connectionStore, fanOutTransport, handlerOptions, presenceStore, rpcClient, shardDispatcher, streamHistory, subscriptionStore } from './aws-runtime';
import { systemClock } from '../core/ports';
import { makeBroadcastHandler } from '../handlers/broadcast-handler';

export const handler = makeBroadcastHandler(async () => {
  const config = await cableConfig();
  return {
    config,
    subscriptions: subscriptionStore(),
    history: streamHistory(),
    connections: connectionStore(),
    transport: fanOutTransport(config.delivery.concurrency),
    shards: shardDispatcher(),
    clock: systemClock,
    logger: cableLogger(),
    // Told of connections a broadcast finds gone before their `$disconnect` (forget-connection.ts).
    rpc: await rpcClient(config),
    // What a gone connection joined expires after the presence TTL (forget-connection.ts).
    presence: presenceStore(),
  };
}, handlerOptions());
