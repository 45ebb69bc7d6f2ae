import { makeDeliverHandler } from './deliver-handler';
import { lambdaRuntime } from './lambda-runtime';

export const handler = makeDeliverHandler(lambdaRuntime);
