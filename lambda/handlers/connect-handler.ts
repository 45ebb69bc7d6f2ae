import { connect, ConnectDeps } from '../core/connect';
import { WebSocketEvent, WebSocketResult, toConnectRequest } from './events';

/** `$connect`: accept with the negotiated subprotocol echoed, or refuse with a status. */
export function makeConnectHandler(deps: () => Promise<ConnectDeps>) {
  return async (event: WebSocketEvent): Promise<WebSocketResult> => {
    const result = await connect(await deps(), toConnectRequest(event));
    if (result.kind === 'refuse') return { statusCode: result.status, body: result.reason };
    return { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': result.subprotocol } };
  };
}
