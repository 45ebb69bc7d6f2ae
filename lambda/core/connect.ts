import { CableConfig } from './config';
import { clientPingInterval } from './ping-interval';
import { Clock, ConnectionStore, DeferredDelivery, Logger } from './ports';
import { ACTIONCABLE_SUBPROTOCOL, encodeFrame, welcome } from './protocol';
import { ConnectRequest, offeredSubprotocols, storedHeaders, storedQuery } from './request';

export interface ConnectDeps {
  readonly config: CableConfig;
  readonly connections: ConnectionStore;
  readonly delivery: DeferredDelivery;
  readonly clock: Clock;
  readonly logger: Logger;
}

export type ConnectResult =
  | { readonly kind: 'accept'; readonly subprotocol: string }
  | { readonly kind: 'refuse'; readonly status: 400 | 403; readonly reason: 'unsupported_subprotocol' | 'forbidden_origin' };

/**
 * `$connect`: negotiate `actioncable-v1-json`, check `Origin`, record the connection (with the
 * ping interval it asks for with AnyCable's `?pi=<seconds>`, see ping-interval.ts), and
 * schedule the welcome: API Gateway refuses posts to a connection until `$connect` has returned.
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
  await deps.connections.put({
    connectionId: request.connectionId,
    connectedAt: now,
    expiresAt: Math.floor(now / 1000) + config.ttlSeconds,
    subprotocol: ACTIONCABLE_SUBPROTOCOL,
    headers: storedHeaders(request.headers),
    query: storedQuery(request.query),
    url: request.url,
    ...(pingInterval.kind === 'requested' ? { pingIntervalSeconds: pingInterval.seconds } : {}),
  });
  try {
    await deps.delivery.deliverLater({
      connectionId: request.connectionId,
      frames: [encodeFrame(welcome())],
      deadline: now + config.deliveryDeadlineMs,
    });
  } catch (error) {
    // The connection will be refused, and API Gateway sends no `$disconnect` for it.
    await deps.connections.delete(request.connectionId);
    throw error;
  }
  return { kind: 'accept', subprotocol: ACTIONCABLE_SUBPROTOCOL };
}
