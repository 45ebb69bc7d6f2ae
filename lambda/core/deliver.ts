import { ConnectionGoneError } from './errors';
import { Clock, DeliveryRequest, Logger, Transport } from './ports';

export interface DeliverDeps {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly logger: Logger;
}

export type DeliverResult =
  | { readonly kind: 'delivered'; readonly attempts: number }
  | { readonly kind: 'gave_up'; readonly attempts: number; readonly sent: number };

const FIRST_RETRY_MS = 20;
const MAX_RETRY_MS = 250;

/**
 * Sends frames in order to a connection that may not be open yet: while the post answers
 * "gone" (API Gateway's 410 before `$connect` has returned) it retries with capped backoff
 * until the request's deadline, after which the client is taken to have left. A refused
 * identification closes the connection after its frames (the `disconnect` telling the client why).
 */
export async function deliver(deps: DeliverDeps, request: DeliveryRequest): Promise<DeliverResult> {
  let attempts = 0;
  let sent = 0;
  let wait = FIRST_RETRY_MS;
  while (sent < request.frames.length) {
    attempts++;
    try {
      await deps.transport.send(request.connectionId, request.frames[sent]);
      sent++;
    } catch (error) {
      if (!(error instanceof ConnectionGoneError)) throw error;
      if (deps.clock.now() + wait > request.deadline) {
        deps.logger.warn('deliver.gave_up', { connectionId: request.connectionId, attempts, sent });
        return { kind: 'gave_up', attempts, sent };
      }
      await deps.clock.sleep(wait);
      wait = Math.min(wait * 2, MAX_RETRY_MS);
    }
  }
  if (request.close) await deps.transport.close(request.connectionId);
  return { kind: 'delivered', attempts };
}
