import { handleMessage, MessageDeps } from '../core/message';
import { Transport } from '../core/ports';
import { encodeFrame } from '../core/protocol';
import { WebSocketEvent, WebSocketResult, toInboundFrame } from './events';

export type MessageHandlerDeps = MessageDeps & { readonly transport: Transport };

/** `$default`: run the command, post its frames back, close when the core says so. */
export function makeMessageHandler(deps: () => Promise<MessageHandlerDeps>) {
  return async (event: WebSocketEvent): Promise<WebSocketResult> => {
    const resolved = await deps();
    const frame = toInboundFrame(event);
    const result = await handleMessage(resolved, frame);
    for (const out of result.frames) await resolved.transport.send(frame.connectionId, encodeFrame(out));
    if (result.close) await resolved.transport.close(frame.connectionId);
    return { statusCode: 200 };
  };
}
