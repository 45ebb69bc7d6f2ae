/** Faults (not expected outcomes, which are results): adapters translate SDK errors into these. */

/** The connection is gone (API Gateway answers 410), or not yet open during `$connect`. */
export class ConnectionGoneError extends Error {
  constructor(readonly connectionId: string) {
    super(`connection ${connectionId} is gone`);
    this.name = 'ConnectionGoneError';
  }
}

/** Configuration that cannot work, found at start-up. */
export class CableConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CableConfigError';
  }
}
