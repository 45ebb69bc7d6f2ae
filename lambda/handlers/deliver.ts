import { makeDeliverHandler } from './deliver-handler';
import { apiGatewayTransport, cableLogger } from './lambda-runtime';
import { systemClock } from '../core/ports';

export const handler = makeDeliverHandler(async () => ({
  transport: apiGatewayTransport(),
  clock: systemClock,
  logger: cableLogger(),
}));
