/** Configuration that cannot work, found at start-up (a malformed variable, a missing table name). */
export class CableConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CableConfigError';
  }
}
