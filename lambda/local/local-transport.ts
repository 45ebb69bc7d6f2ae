import { ConnectionGoneError } from '../core/errors';
import { Transport } from '../core/ports';

/** What posting to a connection came to, as API Gateway's `@connections` answers it. */
export type PostOutcome =
  /** 200: the frame was handed to the socket. */
  | 'sent'
  /** 410: unknown, closed, not yet open (its `$connect` has not returned), or cut off for not reading. */
  | 'gone'
  /** 413: over the 128 KB message quota. */
  | 'too_large';

/**
 * The live sockets of the local server, with API Gateway's `@connections` semantics; declared
 * here, beside the adapter that uses it, and implemented by the server (lambda/local).
 */
export interface LocalConnections {
  post(connectionId: string, data: string): PostOutcome;
  /** Closes the socket; false when it was already gone. */
  disconnect(connectionId: string): boolean;
}

/**
 * Posts frames straight to the local server's sockets, answering exactly as `ApiGatewayTransport`
 * does against API Gateway: `ConnectionGoneError` for a 410 (including while `$connect` runs), a
 * `PayloadTooLargeException` for a 413.
 */
export class LocalTransport implements Transport {
  constructor(private readonly connections: LocalConnections) {}

  async send(connectionId: string, data: string): Promise<void> {
    const outcome = this.connections.post(connectionId, data);
    switch (outcome) {
      case 'sent':
        return;
      case 'gone':
        throw new ConnectionGoneError(connectionId);
      case 'too_large':
        throw payloadTooLarge(connectionId, data);
    }
  }

  async close(connectionId: string): Promise<void> {
    // A gone connection is not an error: the goal (no open socket) is reached.
    this.connections.disconnect(connectionId);
  }
}

/** Named like the SDK's exception, which is what `ApiGatewayTransport` lets through. */
function payloadTooLarge(connectionId: string, data: string): Error {
  const error = new Error(`frame of ${Buffer.byteLength(data)} bytes to ${connectionId} is over the 128 KB message quota`);
  error.name = 'PayloadTooLargeException';
  return error;
}
