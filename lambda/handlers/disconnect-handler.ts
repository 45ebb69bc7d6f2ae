import { DisconnectDeps, handleDisconnect } from '../core/disconnect';
import { WebSocketEvent, WebSocketResult } from './events';

/** `$disconnect`: best effort by API Gateway's design; TTL removes what a lost one leaves. */
export function makeDisconnectHandler(deps: () => Promise<DisconnectDeps>) {
  return async (event: WebSocketEvent): Promise<WebSocketResult> => {
    await handleDisconnect(await deps(), event.requestContext.connectionId);
    return { statusCode: 200 };
  };
}
