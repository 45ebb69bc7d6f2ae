/** The AWS Lambda entry point of the `message` function, bundled into assets/lambda/aws/message-function/. */
import { apiGatewayTransport, cableConfig, cableLogger, connectionStore, handlerOptions, presenceStore, rpcClient, shardDispatcher, streamHistory, subscriptionStore } from './aws-runtime';
import { systemClock } from '../core/ports';
import { makeMessageHandler } from '../handlers/message-handler';

export const handler = makeMessageHandler(async () => {
  const config = await cableConfig();
  return {
    config,
    subscriptions: subscriptionStore(),
    history: streamHistory(),
    connections: connectionStore(),
    transport: apiGatewayTransport(),
    // A whisper's fan-out runs in the fan-out function (lambda/core/whisper.ts).
    shards: shardDispatcher(),
    // Presence (lambda/core/presence.ts): its events go through the fan-out function too.
    presence: presenceStore(),
    clock: systemClock,
    logger: cableLogger(),
    rpc: await rpcClient(config),
  };
}, handlerOptions());
