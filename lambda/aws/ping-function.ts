/** The AWS Lambda entry point of the `ping` function, bundled into assets/lambda/aws/ping-function/. */
import {
  cableConfigForRpc, cableLogger, connectionStore, fanOutTransport, handlerOptions, presenceStore, pingCoordination, pingPeriodMs, rpcClient,
  shardDispatcher, subscriptionStore,
} from './aws-runtime';
import { systemClock } from '../core/ports';
import { makePingHandler } from '../handlers/ping-handler';

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
    rpc: await rpcClient(config),
    // What a gone connection joined expires after the presence TTL (forget-connection.ts).
    presence: presenceStore(),
    // The coordinator announces the leave of gone sessions' expired presence, through the fan-out function (presence-expiry.ts).
    presenceExpiry: presenceStore(),
    shards: shardDispatcher(),
    // Workers when one invocation cannot keep up, and the idle exit (ping-invocation.ts).
    coordination: pingCoordination(),
  };
}, handlerOptions());
