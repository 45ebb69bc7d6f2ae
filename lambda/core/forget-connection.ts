import { RpcConfig } from './config';
import { Clock, ConnectionStore, Logger, SubscriptionStore } from './ports';
import { presenceSessionKey, PresenceStore } from './presence';
import type { RpcClient } from './rpc-client';
import { disconnectEnv } from './rpc-env';
import { RpcCallError, RpcStatus } from './rpc-protocol';
import { saveSession, SessionKeeping } from './session-restore';

export interface ForgetConnectionDeps {
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
  readonly logger: Logger;
  /** The app's RPC endpoints, told that the connection is gone; with them, the RPC settings. */
  readonly rpc?: RpcClient;
  readonly config?: { readonly rpc?: RpcConfig; readonly presenceTtlSeconds?: number };
  /** With it (and a clock), what the connection joined expires `config.presenceTtlSeconds` later (presence.ts). */
  readonly presence?: PresenceStore;
  readonly clock?: Clock;
  /**
   * With them, a forgotten ext connection's session is kept for restore (session-restore.ts):
   * `$disconnect` passes them; a fan-out or ping that finds a connection gone does not, and its
   * client then reconnects afresh (resubscribing with history, which loses nothing).
   */
  readonly sessions?: SessionKeeping;
}

/**
 * Removes a connection's subscriptions, then its row; whoever removes the row (`$disconnect`, or
 * a fan-out, ping or remote disconnect that found it gone first) tells the app, so its RPC
 * `disconnect` runs once, whichever comes first. The call is best effort, as in anycable-go
 * (node/node.go `DisconnectNow` logs a failure): made after the clean-up, logged when it fails,
 * never retried. Returns how many subscription rows went.
 */
export async function forgetConnection(deps: ForgetConnectionDeps, connectionId: string): Promise<number> {
  const removed = await deps.subscriptions.removeAll(connectionId);
  const removedSubscriptions = removed.length;
  const record = await deps.connections.delete(connectionId);
  if (record && deps.sessions) await saveSession(deps.sessions, deps.logger, record, removed);
  // Only a connection that joined (its row marked at the first join, presence.ts) has presence to read.
  if (record?.presenceJoined) await finishPresence(deps, record.connectionId, record.sid);
  const rpcConfig = deps.config?.rpc;
  // No row: refused at `$connect`, or already forgotten by someone who told the app.
  if (!deps.rpc || !rpcConfig || !record) return removedSubscriptions;
  try {
    const response = await deps.rpc.disconnect(record.sid ?? connectionId, record.identifiers ?? '', Object.keys(record.channels ?? {}), disconnectEnv(rpcConfig, record));
    if (response.status === RpcStatus.ERROR) deps.logger.warn('disconnect.rpc_error', { connectionId, errorMsg: response.errorMsg });
  } catch (error) {
    if (!(error instanceof RpcCallError)) throw error;
    deps.logger.warn('disconnect.rpc_failed', { connectionId, reason: error.reason, status: error.status, message: error.message });
  }
  return removedSubscriptions;
}

/**
 * anycable-go's node.go `Disconnect` -> broker `FinishPresence`: a gone session's presence is not
 * removed but left to expire after the presence TTL, so a client that reconnects (or restores its
 * session and re-joins) within it never leaves. Only what this connection joined: a restored
 * session's new connection may have joined again before the old one's `$disconnect` arrives.
 */
async function finishPresence(deps: ForgetConnectionDeps, connectionId: string, sid: string | undefined): Promise<void> {
  if (!deps.presence || !deps.clock) return;
  const ttl = deps.config?.presenceTtlSeconds ?? 0;
  await deps.presence.finish(presenceSessionKey({ connectionId, sid }), connectionId, Math.floor(deps.clock.now() / 1000) + ttl);
}
