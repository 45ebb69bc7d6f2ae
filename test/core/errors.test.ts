import { ConsoleLogger } from '../../lambda/adapters/console-logger';
import { ConnectionGoneError, TransientSendError } from '../../lambda/core/errors';

const CONNECTION_ID = 'Ab12Cd34Ef5=';

/** An error as a log line shows it: the console logger keeps an error's name and message only. */
function logged(error: Error): { name: string; message: string } {
  const lines: string[] = [];
  new ConsoleLogger('info', (line) => lines.push(line)).warn('send.failed', { error });
  return (JSON.parse(lines[0]) as { error: { name: string; message: string } }).error;
}

// Each error is made inside its test (a factory in the table), not while the table is built: Stryker's
// per-test coverage only credits a test with the code that runs during it (docs/contributing.md).
describe('faults as the logs show them', () => {
  test.each<{ name: string; error: () => Error; expected: { name: string; message: RegExp } }>([
    {
      name: 'ConnectionGoneError: named, and says which connection is gone',
      error: () => new ConnectionGoneError(CONNECTION_ID),
      expected: { name: 'ConnectionGoneError', message: /Ab12Cd34Ef5=.*gone/ },
    },
    {
      name: 'TransientSendError: named, and says which connection and why (the SDK error\'s message)',
      error: () => new TransientSendError(CONNECTION_ID, Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })),
      expected: { name: 'TransientSendError', message: /Ab12Cd34Ef5=.*: Rate exceeded$/ },
    },
    {
      name: 'TransientSendError: a cause that is not an Error adds nothing after the connection',
      error: () => new TransientSendError(CONNECTION_ID, 'socket hang up'),
      expected: { name: 'TransientSendError', message: /transient.*Ab12Cd34Ef5=$/ },
    },
    {
      name: 'TransientSendError: without a cause, the connection',
      error: () => new TransientSendError(CONNECTION_ID),
      expected: { name: 'TransientSendError', message: /transient.*Ab12Cd34Ef5=$/ },
    },
  ])('$name', ({ error: make, expected }) => {
    const error = make();
    expect(error).toBeInstanceOf(Error);
    const shown = logged(error);
    expect(shown.name).toBe(expected.name);
    expect(shown.message).toMatch(expected.message);
  });
});
