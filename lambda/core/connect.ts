import { CableConfig } from './config';
import { identify } from './identify';
import { clientPingInterval } from './ping-interval';
import { Clock, ConnectionStore, DeferredDelivery, Logger } from './ports';
import { ACTIONCABLE_SUBPROTOCOL } from './protocol';
import { ConnectRequest, offeredSubprotocols, storedHeaders, storedQuery } from './request';
import { RpcClient } from './rpc-client';

export interface ConnectDeps {
  readonly config: CableConfig;
  readonly connections: ConnectionStore;
  readonly delivery: DeferredDelivery;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The app's RPC endpoints (AnyCable RPC); absent: no RPC `connect`. */
  readonly rpc?: RpcClient;
}

export type ConnectResult =
  | { readonly kind: 'accept'; readonly subprotocol: string }
  | { readonly kind: 'refuse'; readonly status: 400 | 403; readonly reason: 'unsupported_subprotocol' | 'forbidden_origin' }
  /** Identification failed (the app's RPC or a JWT without identifiers): refused, the client retries. */
  | { readonly kind: 'refuse'; readonly status: 500; readonly reason: string };

/**
 * `$connect`: negotiate `actioncable-v1-json`, check `Origin`, identify the client (JWT, the
 * app's RPC `connect`, or anonymous: identify.ts), record the connection (with the ping interval
 * it asks for with AnyCable's `?pi=<seconds>`, see ping-interval.ts), and schedule the welcome:
 * API Gateway refuses posts to a connection until `$connect` has returned. A rejected client is
 * let in to be told why (Rails' `reject_unauthorized_connection` does the same: a refused
 * handshake would make the client retry forever) and closed; nothing is recorded for it.
 */
export async function connect(deps: ConnectDeps, request: ConnectRequest): Promise<ConnectResult> {
  const { config, clock } = deps;
  if (!offeredSubprotocols(request.headers).includes(ACTIONCABLE_SUBPROTOCOL)) {
    deps.logger.info('connect.refused', { connectionId: request.connectionId, reason: 'unsupported_subprotocol' });
    return { kind: 'refuse', status: 400, reason: 'unsupported_subprotocol' };
  }
  if (config.allowedOrigins && !config.allowedOrigins.includes(request.headers.origin ?? '')) {
    deps.logger.info('connect.refused', { connectionId: request.connectionId, reason: 'forbidden_origin', origin: request.headers.origin });
    return { kind: 'refuse', status: 403, reason: 'forbidden_origin' };
  }

  const pingInterval = clientPingInterval(request.query, config.ping);
  if (pingInterval.kind === 'invalid') {
    deps.logger.info('connect.invalid_ping_interval', { connectionId: request.connectionId, pi: pingInterval.value });
  } else if (pingInterval.kind === 'requested' && pingInterval.seconds !== pingInterval.requested) {
    deps.logger.info('connect.ping_interval_clamped', { connectionId: request.connectionId, requested: pingInterval.requested, seconds: pingInterval.seconds });
  }

  const now = clock.now();
  const identity = await identify(deps, request, now);
  if (identity.kind === 'error') return { kind: 'refuse', status: 500, reason: identity.reason };
  if (identity.kind === 'rejected') {
    const deadline = now + config.deliveryDeadlineMs;
    await deps.delivery.deliverLater({ connectionId: request.connectionId, frames: identity.transmissions, deadline, close: true });
    return { kind: 'accept', subprotocol: ACTIONCABLE_SUBPROTOCOL };
  }
  await deps.connections.put({
    connectionId: request.connectionId,
    connectedAt: now,
    expiresAt: Math.floor(now / 1000) + config.ttlSeconds,
    subprotocol: ACTIONCABLE_SUBPROTOCOL,
    headers: storedHeaders(request.headers),
    query: storedQuery(request.query),
    url: request.url,
    ...(pingInterval.kind === 'requested' ? { pingIntervalSeconds: pingInterval.seconds } : {}),
    ...(request.remoteAddress !== undefined ? { remoteAddress: request.remoteAddress } : {}),
    ...(identity.identifiers !== undefined ? { identifiers: identity.identifiers } : {}),
    cstate: identity.cstate,
    channels: {},
  });
  if (identity.transmissions.length === 0) return { kind: 'accept', subprotocol: ACTIONCABLE_SUBPROTOCOL };
  try {
    await deps.delivery.deliverLater({
      connectionId: request.connectionId,
      frames: identity.transmissions,
      deadline: now + config.deliveryDeadlineMs,
    });
  } catch (error) {
    // The connection will be refused, and API Gateway sends no `$disconnect` for it.
    await deps.connections.delete(request.connectionId);
    throw error;
  }
  return { kind: 'accept', subprotocol: ACTIONCABLE_SUBPROTOCOL };
}
