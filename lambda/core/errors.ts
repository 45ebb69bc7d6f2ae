/** Faults (not expected outcomes, which are results): adapters translate SDK errors into these. */

/** The connection is gone (API Gateway answers 410), or not yet open during `$connect`. */
export class ConnectionGoneError extends Error {
  constructor(readonly connectionId: string) {
    super(`connection ${connectionId} is gone`);
    this.name = 'ConnectionGoneError';
  }
}

export { CableConfigError } from '../../src/contract/config-error';

/**
 * A send that may succeed if tried again (throttled, 5xx, network): fan-out retries it with
 * backoff; any other error from a send is permanent for that connection.
 */
export class TransientSendError extends Error {
  constructor(readonly connectionId: string, readonly cause?: unknown) {
    super(`transient failure sending to ${connectionId}${cause instanceof Error ? `: ${cause.message}` : ''}`);
    this.name = 'TransientSendError';
  }
}
