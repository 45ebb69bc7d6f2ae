import { lambdaRuntime } from './lambda-runtime';
import { makeMessageHandler } from './message-handler';

export const handler = makeMessageHandler(lambdaRuntime);
