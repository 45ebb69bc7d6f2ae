import { RpcConfig } from './config';
import { ConnectionStore, Logger, SubscriptionStore } from './ports';
import { disconnectEnv, RpcClient } from './rpc-client';
import { RpcCallError, RpcStatus } from './rpc-protocol';

export interface DisconnectDeps {
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
  readonly logger: Logger;
  /** The app's RPC endpoints, told of the disconnect; with them, the RPC settings. */
  readonly rpc?: RpcClient;
  readonly config?: { readonly rpc: RpcConfig };
}

/**
 * `$disconnect`: remove every subscription of the connection, then the connection itself; then,
 * with RPC, tell the app (RPC `disconnect` with the identifiers, the subscribed channels and
 * their state), best effort as in anycable-go (node/node.go `DisconnectNow` logs a failure):
 * the clean-up never waits on the app, and a failed call is logged, not retried. A connection
 * refused at `$connect` has no record and the app is not called.
 */
export async function handleDisconnect(deps: DisconnectDeps, connectionId: string): Promise<{ removedSubscriptions: number }> {
  const record = deps.rpc ? await deps.connections.get(connectionId) : undefined;
  const removedSubscriptions = await deps.subscriptions.removeAll(connectionId);
  await deps.connections.delete(connectionId);
  deps.logger.info('disconnect', { connectionId, removedSubscriptions });
  if (deps.rpc && deps.config && record) {
    try {
      const response = await deps.rpc.disconnect(connectionId, record.identifiers ?? '', Object.keys(record.channels ?? {}), disconnectEnv(deps.config.rpc, record));
      if (response.status === RpcStatus.ERROR) deps.logger.warn('disconnect.rpc_error', { connectionId, errorMsg: response.errorMsg });
    } catch (error) {
      if (!(error instanceof RpcCallError)) throw error;
      deps.logger.warn('disconnect.rpc_failed', { connectionId, reason: error.reason, status: error.status, message: error.message });
    }
  }
  return { removedSubscriptions };
}
