import { systemClock } from '../core/ports';
import { makeDeliverHandler } from './deliver-handler';
import { apiGatewayTransport, cableLogger } from './lambda-runtime';

export const handler = makeDeliverHandler(async () => ({
  transport: apiGatewayTransport(),
  clock: systemClock,
  logger: cableLogger(),
}));
