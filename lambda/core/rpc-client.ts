import {
  decodeCommandResponse,
  decodeConnectResponse,
  decodeDisconnectResponse,
  encodeCommandRequest,
  encodeConnectRequest,
  encodeDisconnectRequest,
  RpcCommandRequest,
  RpcCommandResponse,
  RpcConnectResponse,
  RpcDisconnectResponse,
  RpcCallError,
  RpcEnv,
  RpcFailureReason,
  RpcMethod,
  RpcStatus,
  RpcTransport,
} from './rpc-protocol';

/*
 * Only the RPC runtime (lambda/aws/rpc-runtime.ts, the local server) constructs the client; the core
 * names it as a type only, so a bundled function without RPC leaves this file out (the env
 * builders the flows need are in rpc-env.ts).
 */

/** Told of every call that gave no usable answer, or an ERROR (status 0): for metrics. */
export type RpcFailureObserver = (method: RpcMethod, reason: RpcFailureReason | 'app_error') => void;

/**
 * The app's RPC endpoints, typed: encodes a request, lets the transport carry it, decodes the
 * answer. Every failure (transport or a body that is not a response) is an `RpcCallError`.
 */
export class RpcClient {
  constructor(private readonly transport: RpcTransport, private readonly onFailure: RpcFailureObserver = () => undefined) {}

  async connect(sid: string, env: RpcEnv): Promise<RpcConnectResponse> {
    return this.call('connect', encodeConnectRequest({ env }), sid, decodeConnectResponse);
  }

  async command(sid: string, request: RpcCommandRequest): Promise<RpcCommandResponse> {
    return this.call('command', encodeCommandRequest(request), sid, decodeCommandResponse);
  }

  async disconnect(sid: string, identifiers: string, subscriptions: readonly string[], env: RpcEnv): Promise<RpcDisconnectResponse> {
    return this.call('disconnect', encodeDisconnectRequest({ identifiers, subscriptions, env }), sid, decodeDisconnectResponse);
  }

  private async call<T extends { readonly status: number }>(method: RpcMethod, body: string, sid: string, decode: (text: string) => T): Promise<T> {
    let response: T;
    try {
      response = decode(await this.transport.call(method, body, sid));
    } catch (error) {
      if (error instanceof RpcCallError) this.onFailure(method, error.reason);
      throw error;
    }
    if (response.status === RpcStatus.ERROR) this.onFailure(method, 'app_error');
    return response;
  }
}
