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
      // The close code and reason API Gateway reports (1001 idle or 2-hour cut, 1005/1006 a lost client, ...):
      // the access log has no variable for them, so every line of this invocation carries them.
      const { requestId, disconnectStatusCode, disconnectReason } = event.requestContext;
      resolved = withLogContext(await deps(), { requestId, connectionId, disconnectStatusCode, disconnectReason });
      await handleDisconnect(resolved, connectionId);
      return { statusCode: 200 };
    });
  };
}
