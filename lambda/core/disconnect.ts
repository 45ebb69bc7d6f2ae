import { ConnectionStore, Logger, SubscriptionStore } from './ports';

export interface DisconnectDeps {
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
  readonly logger: Logger;
}

/** `$disconnect`: remove every subscription of the connection, then the connection itself. */
export async function handleDisconnect(deps: DisconnectDeps, connectionId: string): Promise<{ removedSubscriptions: number }> {
  const removedSubscriptions = await deps.subscriptions.removeAll(connectionId);
  await deps.connections.delete(connectionId);
  deps.logger.info('disconnect', { connectionId, removedSubscriptions });
  return { removedSubscriptions };
}
