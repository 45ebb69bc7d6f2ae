import { FailureLog, MAX_FAILURE_LOGS } from '../../lambda/core/failure-log';
import { FanOutTally } from '../../lambda/core/fan-out-tally';
import { PingTally } from '../../lambda/core/ping-tally';
import { RecordingLogger } from '../support/recording-logger';

const named = (name: string) => Object.assign(new Error(name), { name });
const WINDOW = { previousTick: 1_000, now: 4_000 };

describe('FailureLog: the summary fields', () => {
  test('summary: nothing failed, nothing to say (no field at all, not even a zero)', () => {
    expect(Object.keys(new FailureLog(new RecordingLogger(), 'ping').summary())).toEqual([]);
  });

  test('summary: exactly MAX_FAILURE_LOGS failures were all logged, so no unloggedFailures', () => {
    const failures = new FailureLog(new RecordingLogger(), 'broadcast');
    for (let i = 0; i < MAX_FAILURE_LOGS; i++) failures.sendFailed(named('GoneException'), { connectionId: `c${i}` });
    expect(failures.summary()).toStrictEqual({ errors: { GoneException: MAX_FAILURE_LOGS } });
    failures.sendFailed(named('GoneException'), { connectionId: 'one-more' });
    expect(failures.summary()).toMatchObject({ unloggedFailures: 1 });
  });

  test('summary: a clean-up failure is counted; a read error is shown, last', () => {
    const failures = new FailureLog(new RecordingLogger(), 'ping');
    failures.cleanupFailed(named('ThrottlingException'), { connectionId: 'a' });
    const readError = new Error('ProvisionedThroughputExceeded');
    const summary = failures.summary(readError);
    expect(summary).toStrictEqual({ cleanupFailures: 1, errors: { ThrottlingException: 1 }, readError });
    expect(Object.keys(summary).at(-1)).toBe('readError');
    expect(new FailureLog(new RecordingLogger(), 'ping').summary('timeout')).toStrictEqual({ readError: 'timeout' });
  });

  test('errors: ten distinct error names are counted by name, any further name as other, a known name stays its own', () => {
    const failures = new FailureLog(new RecordingLogger(), 'broadcast');
    const names = Array.from({ length: 10 }, (_, i) => `Error${i}`);
    for (const name of names) failures.sendFailed(named(name), {});
    failures.sendFailed(named('Error0'), {});
    failures.sendFailed(named('Eleventh'), {});
    failures.sendFailed(named('Twelfth'), {});
    expect(failures.summary().errors).toStrictEqual({ ...Object.fromEntries(names.map((n) => [n, 1])), Error0: 2, other: 2 });
  });
});

describe('tallies: per-connection warnings say which connection', () => {
  test('broadcast.send_failed: the stream, the connection and the attempts', () => {
    const logger = new RecordingLogger();
    const error = named('BadRequestException');
    new FanOutTally(logger, 'room', 0).fail('conn-1', error, 3);
    expect(logger.entries).toEqual([{ level: 'warn', event: 'broadcast.send_failed', fields: { stream: 'room', connectionId: 'conn-1', attempts: 3, error } }]);
  });

  test('ping.send_failed: the connection, what was sent and the attempts', () => {
    const logger = new RecordingLogger();
    const error = named('BadRequestException');
    new PingTally(logger, WINDOW, 0).fail('conn-1', 'disconnect', error, 2);
    expect(logger.entries).toEqual([{ level: 'warn', event: 'ping.send_failed', fields: { connectionId: 'conn-1', what: 'disconnect', attempts: 2, error } }]);
  });
});

describe('PingTally: the ping.round line', () => {
  test.each<{ name: string; count: 'expired' | 'gone' | 'notOpen' }>([
    { name: 'a round that ended a connection', count: 'expired' },
    { name: 'a round that removed a gone connection', count: 'gone' },
    { name: 'a round that met a connection still in its handshake', count: 'notOpen' },
  ])('noteworthy: $name logs ping.round at info, with its window and duration', ({ count }) => {
    const logger = new RecordingLogger();
    const tally = new PingTally(logger, WINDOW, 10_000);
    tally.connections = 5;
    tally.pinged = 4;
    tally[count] = 1;
    tally.finish(10_250);
    expect(logger.entries).toEqual([{
      level: 'info',
      event: 'ping.round',
      fields: expect.objectContaining({ connections: 5, pinged: 4, [count]: 1, from: 1_000, to: 4_000, ms: 250 }),
    }]);
  });

  test('quiet: a round that only pinged logs nothing', () => {
    const logger = new RecordingLogger();
    const tally = new PingTally(logger, WINDOW, 10_000);
    tally.connections = 5;
    tally.pinged = 5;
    expect(tally.finish(10_250)).toMatchObject({ connections: 5, pinged: 5, failed: 0 });
    expect(logger.entries).toEqual([]);
  });
});
