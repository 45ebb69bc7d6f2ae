import { CableConfig } from './config';
import { identifyByJwt } from './jwt-identification';
import { Logger, mergeState } from './ports';
import { disconnect, encodeFrame, frameHead, UNAUTHORIZED, welcome } from './protocol';
import { ConnectRequest } from './request';
import type { RpcClient } from './rpc-client';
import { proxiedHeaders, requestUrl } from './rpc-env';
import { RpcCallError, RpcStatus } from './rpc-protocol';

export interface IdentifyDeps {
  readonly config: CableConfig;
  /** The app's RPC endpoints; absent: no app-defined identification. */
  readonly rpc?: RpcClient;
  readonly logger: Logger;
}

export type Identification =
  /** `identifiers` absent: an anonymous connection (no JWT, no RPC), as before identification existed. */
  | { readonly kind: 'identified'; readonly identifiers?: string; readonly cstate: Readonly<Record<string, string>>; readonly transmissions: string[] }
  /** The socket opens, gets these frames (ending with a `disconnect`) and is closed. */
  | { readonly kind: 'rejected'; readonly transmissions: string[]; readonly reason: string }
  /** Nothing could decide (the app failed): the handshake is refused, the client retries later. */
  | { readonly kind: 'error'; readonly reason: string };


/**
 * Who is connecting, in anycable-go's order (node/node.go `Authenticate` behind identity's
 * pipeline): a JWT when one is present (no RPC call; https://docs.anycable.io/anycable-go/jwt_identification),
 * else the app's RPC `connect` (https://docs.anycable.io/anycable-go/rpc), else anonymous.
 * `sid` is what the welcome carries (anycable-rails puts the one RPC passes it there) and what
 * `broadcast ... to_others` (`exclude_socket`) refers to: the connection id for plain clients, as
 * before, and a random session id for ext clients (ext-protocol.ts), which is never logged.
 */
export async function identify(
  deps: IdentifyDeps,
  request: ConnectRequest,
  nowMs: number,
  sid: string = request.connectionId,
  ext = false,
): Promise<Identification> {
  const { config, logger } = deps;
  const connectionId = request.connectionId;
  if (config.jwt) {
    const jwt = identifyByJwt(config.jwt, request, nowMs);
    switch (jwt.kind) {
      case 'identified':
        // identity/identity.go `actionCableWelcomeMessage`
        return { kind: 'identified', identifiers: jwt.identifiers, cstate: {}, transmissions: [JSON.stringify({ type: 'welcome', sid })] };
      case 'rejected':
        logger.info('connect.jwt_rejected', { connectionId, reason: jwt.reason, detail: jwt.detail });
        return { kind: 'rejected', reason: jwt.reason, transmissions: [encodeFrame(disconnect(jwt.reason, false))] };
      case 'error':
        logger.error('connect.jwt_error', { connectionId, message: jwt.message });
        return { kind: 'error', reason: 'jwt_error' };
      case 'none':
        break;
    }
  }
  if (!deps.rpc) return { kind: 'identified', cstate: {}, transmissions: [encodeFrame(welcome(ext ? sid : undefined))] };

  const env = { url: requestUrl(request.url), headers: proxiedHeaders(config.rpc, request.headers, request.remoteAddress) };
  let response;
  try {
    response = await deps.rpc.connect(sid, env);
  } catch (error) {
    if (!(error instanceof RpcCallError)) throw error;
    logger.error('connect.rpc_failed', { connectionId, reason: error.reason, status: error.status, message: error.message });
    return { kind: 'error', reason: `rpc_${error.reason}` };
  }
  switch (response.status) {
    case RpcStatus.SUCCESS:
      return { kind: 'identified', identifiers: response.identifiers, cstate: mergeState({}, response.env.cstate), transmissions: response.transmissions };
    case RpcStatus.FAILURE: {
      logger.info('connect.rpc_rejected', { connectionId, errorMsg: response.errorMsg || undefined });
      // The Rails client reconnects unless told otherwise; every Rails rejection says `unauthorized`.
      const told = response.transmissions.some((text) => frameHead(text)?.type === 'disconnect');
      return { kind: 'rejected', reason: 'unauthorized', transmissions: told ? response.transmissions : [...response.transmissions, encodeFrame(UNAUTHORIZED)] };
    }
    default:
      logger.error('connect.rpc_error', { connectionId, errorMsg: response.errorMsg });
      return { kind: 'error', reason: 'rpc_error' };
  }
}
