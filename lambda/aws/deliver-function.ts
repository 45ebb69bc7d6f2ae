/** The AWS Lambda entry point of the `deliver` function, bundled into assets/lambda/aws/deliver-function/. */
import { apiGatewayTransport, cableLogger, handlerOptions } from './aws-runtime';
import { systemClock } from '../core/ports';
import { makeDeliverHandler } from '../handlers/deliver-handler';

export const handler = makeDeliverHandler(async () => ({
  transport: apiGatewayTransport(),
  clock: systemClock,
  logger: cableLogger(),
}), handlerOptions());
