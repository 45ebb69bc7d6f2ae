import { LambdaClient } from '@aws-sdk/client-lambda';
import { RpcTarget } from '../../src/contract/environment';
import { HttpRpcTransport } from '../adapters/rpc/http-rpc-transport';
import { LambdaRpcTransport } from '../adapters/rpc/lambda-rpc-transport';
import { RpcClient, RpcFailureObserver } from '../core/rpc-client';

/*
 * The RPC client and its transports, loaded by aws-runtime.ts with a dynamic `import()` only when
 * the function is configured with `rpc`: esbuild splits this module (and the Lambda client a
 * Lambda RPC needs) into a chunk of its own, which a function without RPC never loads.
 */

export function createRpcClient(
  target: RpcTarget, secret: string | undefined, lambdaEndpoint: { endpoint?: string }, onFailure: RpcFailureObserver,
): RpcClient {
  const { timeoutMs, maxAttempts } = target;
  const carrier = target.kind === 'http'
    ? new HttpRpcTransport({ url: target.url, secret, timeoutMs, maxAttempts })
    : new LambdaRpcTransport({
      // Its own client without the SDK's retries: the transport retries within the RPC timeout.
      client: new LambdaClient({ ...lambdaEndpoint, maxAttempts: 1 }),
      functionName: target.functionName,
      path: target.path,
      host: target.host,
      secret,
      timeoutMs,
      maxAttempts,
    });
  return new RpcClient(carrier, onFailure);
}
