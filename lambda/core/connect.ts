import { CableConfig } from './config';
import { newSessionId } from './ext-protocol';
import { identify } from './identify';
import { carriesOriginSecret, forwardedUrl, withoutOriginSecret } from './origin-verification';
import { clientPingInterval } from './ping-interval';
import { ensurePinger, PingKeepalive } from './ping-lease';
import { Clock, ConnectionRecord, ConnectionStore, DeferredDelivery, Logger, SubscriptionStore } from './ports';
import { ACTIONCABLE_EXT_SUBPROTOCOL, chooseSubprotocol } from './protocol';
import { ConnectRequest, offeredSubprotocols, storedHeaders } from './request';
import type { RpcClient } from './rpc-client';
import { proxiedHeaders } from './rpc-env';
import { RESTORE_SID_PARAM, restoredIdentifiers, restoredWelcome, restoreSubscriptions, SessionSnapshot, SessionStore, takeSession } from './session-restore';

export interface ConnectDeps {
  readonly config: CableConfig;
  readonly connections: ConnectionStore;
  readonly delivery: DeferredDelivery;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The app's RPC endpoints (AnyCable RPC); absent: no RPC `connect`. */
  readonly rpc?: RpcClient;
  /** Starts a pinger when none holds the lease (ping-lease.ts); absent: the schedule alone pings. */
  readonly keepalive?: PingKeepalive;
  /** Gone ext connections' sessions, and where a restored one's subscriptions go (session-restore.ts); absent: no restore. */
  readonly restore?: { readonly sessions: SessionStore; readonly subscriptions: SubscriptionStore };
}

export type ConnectResult =
  | { readonly kind: 'accept'; readonly subprotocol: string }
  | { readonly kind: 'refuse'; readonly status: 400 | 403; readonly reason: 'unsupported_subprotocol' | 'forbidden_origin' | 'not_from_distribution' }
  /** Identification failed (the app's RPC or a JWT without identifiers): refused, the client retries. */
  | { readonly kind: 'refuse'; readonly status: 500; readonly reason: string };

/**
 * `$connect`: with origin verification, refuse a request that did not come through the
 * distribution (origin-verification.ts); negotiate `actioncable-v1-json` or AnyCable's
 * `actioncable-v1-ext-json` (the first the client offers; ext clients get a session id, see
 * ext-protocol.ts), check `Origin`, identify the client (JWT, the
 * app's RPC `connect`, or anonymous: identify.ts), record the connection (with the ping interval
 * it asks for with AnyCable's `?pi=<seconds>`, see ping-interval.ts), and schedule the welcome:
 * API Gateway refuses posts to a connection until `$connect` has returned. A rejected client is
 * let in to be told why (Rails' `reject_unauthorized_connection` does the same: a refused
 * handshake would make the client retry forever) and closed; nothing is recorded for it. An ext
 * client that names its last session's sid gets that session back instead of being identified
 * again (session-restore.ts).
 */
export async function connect(deps: ConnectDeps, received: ConnectRequest): Promise<ConnectResult> {
  const { config, clock } = deps;
  const verification = config.originVerification;
  if (verification && !carriesOriginSecret(verification, received.headers)) {
    deps.logger.info('connect.refused', { connectionId: received.connectionId, reason: 'not_from_distribution' });
    return { kind: 'refuse', status: 403, reason: 'not_from_distribution' };
  }
  // Only the distribution's requests may name the host viewers used; none keeps the secret.
  const request: ConnectRequest = verification
    ? { ...received, headers: withoutOriginSecret(verification, received.headers), url: forwardedUrl(received.url, received.headers) }
    : received;
  const subprotocol = chooseSubprotocol(offeredSubprotocols(request.headers));
  if (subprotocol === undefined) {
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
  const ext = subprotocol === ACTIONCABLE_EXT_SUBPROTOCOL;
  const sid = ext ? newSessionId() : undefined;
  const restored = sid !== undefined && deps.restore ? await takeSession({ ...deps, sessions: deps.restore.sessions }, request, now) : undefined;
  const identity = restored && sid !== undefined
    ? restoredIdentity(restored, sid)
    : await identify(deps, request, now, sid ?? request.connectionId, ext);
  if (identity.kind === 'error') return { kind: 'refuse', status: 500, reason: identity.reason };
  if (identity.kind === 'rejected') {
    const deadline = now + config.deliveryDeadlineMs;
    await deps.delivery.deliverLater({ connectionId: request.connectionId, frames: identity.transmissions, deadline, close: true });
    return { kind: 'accept', subprotocol };
  }
  await deps.connections.put({
    connectionId: request.connectionId,
    connectedAt: now,
    expiresAt: Math.floor(now / 1000) + config.ttlSeconds,
    subprotocol,
    ...(sid !== undefined ? { sid } : {}),
    ...storedRequest(deps, request),
    ...(pingInterval.kind === 'requested' ? { pingIntervalSeconds: pingInterval.seconds } : {}),
    ...(identity.identifiers !== undefined ? { identifiers: identity.identifiers } : {}),
    cstate: identity.cstate,
    channels: restored?.channels ?? {},
  });
  if (restored && sid !== undefined && deps.restore) {
    try {
      await restoreSubscriptions({ ...deps, subscriptions: deps.restore.subscriptions }, request.connectionId, sid, restored);
    } catch (error) {
      // The connection will be refused, and API Gateway sends no `$disconnect` for it.
      await deps.restore.subscriptions.removeAll(request.connectionId);
      await deps.connections.delete(request.connectionId);
      throw error;
    }
    deps.logger.info('session.restored', { connectionId: request.connectionId, subscriptions: restored.subscriptions.length });
  }
  // Alongside the welcome's hand-over; never throws.
  const pinger = deps.keepalive ? ensurePinger(deps.keepalive, clock, deps.logger) : undefined;
  if (identity.transmissions.length === 0) {
    await pinger;
    return { kind: 'accept', subprotocol };
  }
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
  } finally {
    await pinger;
  }
  return { kind: 'accept', subprotocol };
}

/** A restored session's identification: no RPC `connect`, as in anycable-go (session-restore.ts). */
function restoredIdentity(snapshot: SessionSnapshot, sid: string) {
  return {
    kind: 'identified' as const,
    ...(snapshot.identifiers !== undefined ? { identifiers: snapshot.identifiers } : {}),
    cstate: snapshot.cstate,
    transmissions: [restoredWelcome(sid, restoredIdentifiers(snapshot))],
  };
}

/**
 * What a connection row keeps of the upgrade request: only what a later call needs. Without RPC
 * nothing (no cookie, `Authorization` or token sits in DynamoDB for hours); with RPC, what each
 * command and the disconnect pass to the app: the headers it proxies (cookies filtered as
 * configured), the client's address and the URL, without the JWT parameter, which has done its job.
 */
function storedRequest(deps: ConnectDeps, request: ConnectRequest): Pick<ConnectionRecord, 'headers' | 'query' | 'url' | 'remoteAddress'> {
  if (!deps.rpc) return { headers: {}, query: {} };
  const { config } = deps;
  return {
    headers: storedHeaders(proxiedHeaders(config.rpc, request.headers, undefined)),
    query: {},
    // Neither the JWT nor a restored session's old sid (a credential, spent) is kept.
    ...(request.url !== undefined ? { url: withoutParam(withoutParam(request.url, config.jwt?.param), RESTORE_SID_PARAM) } : {}),
    ...(request.remoteAddress !== undefined ? { remoteAddress: request.remoteAddress } : {}),
  };
}

function withoutParam(url: string, param: string | undefined): string {
  if (param === undefined) return url;
  const query = url.indexOf('?');
  if (query < 0) return url;
  const kept = url.slice(query + 1).split('&').filter((pair) => decodeURIComponent(pair.split('=')[0]) !== param);
  return kept.length > 0 ? `${url.slice(0, query)}?${kept.join('&')}` : url.slice(0, query);
}
