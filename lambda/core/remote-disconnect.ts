import { RemoteCommand } from './broadcast-request';
import { RpcConfig } from './config';
import { ConnectionGoneError } from './errors';
import { forgetConnection } from './forget-connection';
import { ConnectionStore, Logger, SubscriptionStore, Transport } from './ports';
import { disconnect, encodeFrame } from './protocol';
import type { RpcClient } from './rpc-client';

export interface RemoteDisconnectDeps {
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
  readonly transport: Transport;
  readonly logger: Logger;
  /** The app's RPC, told of connections found gone (forget-connection.ts). */
  readonly rpc?: RpcClient;
  readonly config?: { readonly rpc?: RpcConfig };
}

export interface RemoteDisconnectResult {
  /** Connections whose identifiers matched. */
  readonly connections: number;
  /** Sent the frame and closed. */
  readonly disconnected: number;
  /** Already gone (410): their rows were removed. */
  readonly gone: number;
  readonly failed: number;
}

/**
 * AnyCable's remote disconnect (`ActionCable.server.remote_connections.where(...).disconnect`
 * through anycable-rails): every connection whose stored identifiers JSON equals the command's
 * gets `{"type":"disconnect","reason":"remote","reconnect":<reconnect>}` and is closed. anycable-go
 * stops after the first matching session (hub/hub.go `disconnectSessions`); a user signed in on
 * two tabs has two connections here, and both are closed. Only identified connections (JWT or the
 * app's RPC `connect`, identify.ts) carry identifiers; anonymous ones never match.
 * A failed lookup is thrown; a connection that could not be reached is counted.
 */
export async function remoteDisconnect(deps: RemoteDisconnectDeps, command: RemoteCommand): Promise<RemoteDisconnectResult> {
  const ids = await deps.connections.findByIdentifiers(command.identifier);
  const frame = encodeFrame(disconnect('remote', command.reconnect));
  const result = { connections: ids.length, disconnected: 0, gone: 0, failed: 0 };
  for (const connectionId of ids) {
    try {
      await deps.transport.send(connectionId, frame);
      // Before the close, whose `$disconnect` would keep its session for a client that ignores the frame.
      await deps.connections.forbidRestore(connectionId);
      await deps.transport.close(connectionId);
      result.disconnected++;
    } catch (error) {
      if (!(error instanceof ConnectionGoneError)) {
        result.failed++;
        deps.logger.warn('remote_disconnect.failed', { connectionId, error });
        continue;
      }
      result.gone++;
      try {
        await forgetConnection(deps, connectionId);
      } catch (cleanupError) {
        deps.logger.warn('remote_disconnect.cleanup_failed', { connectionId, error: cleanupError });
      }
    }
  }
  deps.logger[result.failed > 0 ? 'warn' : 'info']('remote_disconnect', { ...result, reconnect: command.reconnect, identifierBytes: Buffer.byteLength(command.identifier) });
  return result;
}
