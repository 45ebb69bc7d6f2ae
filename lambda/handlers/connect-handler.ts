import { WebSocketEvent, WebSocketResult, toConnectRequest } from './events';
import { guarded, HandlerOptions } from './guard';
import { withLogContext } from './log-context';
import { connect, ConnectDeps } from '../core/connect';

/** `$connect`: accept with the negotiated subprotocol echoed, or refuse with a status. */
export function makeConnectHandler(deps: () => Promise<ConnectDeps>, options: HandlerOptions = {}) {
  return async (event: WebSocketEvent): Promise<WebSocketResult> => {
    let resolved: ConnectDeps | undefined;
    return guarded('connect', event.requestContext.connectionId, () => resolved?.logger, options, async () => {
      resolved = withLogContext(await deps(), { requestId: event.requestContext.requestId, connectionId: event.requestContext.connectionId });
      const result = await connect(resolved, toConnectRequest(event));
      if (result.kind === 'refuse') return { statusCode: result.status, body: result.reason };
      return { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': result.subprotocol } };
    });
  };
}
