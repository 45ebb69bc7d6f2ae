import { forgetConnection, ForgetConnectionDeps } from './forget-connection';

export type DisconnectDeps = ForgetConnectionDeps;

/**
 * `$disconnect`: remove every subscription of the connection, then the connection itself, then,
 * with RPC, tell the app (forget-connection.ts). A connection refused at `$connect` has no row,
 * and the app is not called.
 */
export async function handleDisconnect(deps: DisconnectDeps, connectionId: string): Promise<{ removedSubscriptions: number }> {
  const removedSubscriptions = await forgetConnection(deps, connectionId);
  deps.logger.info('disconnect', { connectionId, removedSubscriptions });
  return { removedSubscriptions };
}
