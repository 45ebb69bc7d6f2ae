import { WebSocketEvent, WebSocketResult, toInboundFrame } from './events';
import { guarded, HandlerOptions } from './guard';
import { withLogContext } from './log-context';
import { ConnectionGoneError } from '../core/errors';
import { handleMessage, MessageDeps } from '../core/message';
import { Transport } from '../core/ports';
import { byteLength, encodeFrame, MAX_MESSAGE_BYTES } from '../core/protocol';

export type MessageHandlerDeps = MessageDeps & { readonly transport: Transport };

/** `$default`: run the command, post its frames (and the app's transmissions) back, close when the core says so. */
export function makeMessageHandler(deps: () => Promise<MessageHandlerDeps>, options: HandlerOptions = {}) {
  return async (event: WebSocketEvent): Promise<WebSocketResult> => {
    const frame = toInboundFrame(event);
    let resolved: MessageHandlerDeps | undefined;
    return guarded('message', frame.connectionId, () => resolved?.logger, options, async () => {
      resolved = withLogContext(await deps(), { requestId: event.requestContext.requestId, connectionId: frame.connectionId });
      const result = await handleMessage(resolved, frame);
      try {
        for (const out of result.frames) await resolved.transport.send(frame.connectionId, encodeFrame(out));
        for (const text of result.transmissions ?? []) {
          // API Gateway refuses it and the rest would not be sent.
          if (byteLength(text) > MAX_MESSAGE_BYTES) resolved.logger.warn('message.transmission_too_large', { connectionId: frame.connectionId, bytes: byteLength(text) });
          else await resolved.transport.send(frame.connectionId, text);
        }
        if (result.close) await resolved.transport.close(frame.connectionId);
      } catch (error) {
        if (!(error instanceof ConnectionGoneError)) throw error;
        // The client left between its message and the reply; `$disconnect` cleans up.
        resolved.logger.info('message.reply_gone', { connectionId: frame.connectionId });
      } finally {
        // After the replay's frames: live broadcasts held for it may go now.
        await result.afterSent?.();
      }
      return { statusCode: 200 };
    });
  };
}
