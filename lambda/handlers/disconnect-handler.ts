import { WebSocketEvent, WebSocketResult } from './events';
import { guarded, HandlerOptions } from './guard';
import { withLogContext } from './log-context';
import { DisconnectDeps, handleDisconnect } from '../core/disconnect';

/** `$disconnect`: best effort by API Gateway's design; TTL removes what a lost one leaves. */
export function makeDisconnectHandler(deps: () => Promise<DisconnectDeps>, options: HandlerOptions = {}) {
  return async (event: WebSocketEvent): Promise<WebSocketResult> => {
    const { connectionId } = event.requestContext;
    let resolved: DisconnectDeps | undefined;
    return guarded('disconnect', connectionId, () => resolved?.logger, options, async () => {
      resolved = withLogContext(await deps(), { requestId: event.requestContext.requestId, connectionId });
      await handleDisconnect(resolved, connectionId);
      return { statusCode: 200 };
    });
  };
}
