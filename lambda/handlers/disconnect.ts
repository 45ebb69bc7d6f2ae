import { makeDisconnectHandler } from './disconnect-handler';
import { lambdaRuntime } from './lambda-runtime';

export const handler = makeDisconnectHandler(lambdaRuntime);
