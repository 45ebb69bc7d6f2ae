import { makeConnectHandler } from './connect-handler';
import { lambdaRuntime } from './lambda-runtime';

export const handler = makeConnectHandler(lambdaRuntime);
