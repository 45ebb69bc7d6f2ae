import { FakeClock } from './support';
import { CableSettings, resolveConfig } from '../../lambda/core/config';
import { ConnectionGoneError, TransientSendError } from '../../lambda/core/errors';
import { Transport } from '../../lambda/core/ports';
import { RetryingSender, SendOutcome } from '../../lambda/core/retrying-sender';

const CONNECTION_ID = 'Ab12Cd34Ef5=';
const FRAME = '{"type":"ping","message":1700000000}';

/** What API Gateway answers one attempt with. */
type Answer = 'ok' | 'gone' | 'permanent' | 'transient';

/**
 * Answers attempt n with `answers[n - 1]`, and every attempt past the list with its last answer,
 * so a loop that tries too often is seen. Writes each send (and each sleep and limiter take, below)
 * to one timeline.
 */
class AnsweringTransport implements Pick<Transport, 'send'> {
  constructor(private readonly answers: readonly Answer[], private readonly timeline: string[]) {}

  async send(connectionId: string, data: string): Promise<void> {
    expect([connectionId, data]).toEqual([CONNECTION_ID, FRAME]);
    this.timeline.push('send');
    const answer = this.answers[Math.min(this.timeline.filter((e) => e === 'send').length, this.answers.length) - 1];
    if (answer === 'gone') throw new ConnectionGoneError(connectionId);
    if (answer === 'permanent') throw Object.assign(new Error('Invalid connection id'), { name: 'BadRequestException' });
    if (answer === 'transient') throw new TransientSendError(connectionId, Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
  }
}

/** maxAttempts 4, delays 100 doubled up to 300, jitter fixed at 0.5: retries sleep 50, 100, 150. */
const DELIVERY: CableSettings['delivery'] = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 300 };

function run(answers: readonly Answer[], options: { delivery?: CableSettings['delivery']; random?: () => number; limited?: boolean } = {}) {
  const timeline: string[] = [];
  const clock = new FakeClock();
  clock.onSleep = (count) => timeline.push(`sleep ${clock.sleeps[count - 1]}`);
  const sender = new RetryingSender({
    transport: new AnsweringTransport(answers, timeline),
    clock,
    config: resolveConfig({ secret: 'x', delivery: { ...DELIVERY, ...options.delivery } }),
    random: options.random ?? (() => 0.5),
    ...(options.limited ? { limiter: { take: async () => void timeline.push('take') } } : {}),
  });
  return { timeline, clock, outcome: sender.send(CONNECTION_ID, FRAME) };
}

/** The outcome without its error, which the table names instead. */
function plain(outcome: SendOutcome): { kind: string; attempts: number } {
  return { kind: outcome.kind, attempts: outcome.attempts };
}

describe('RetryingSender', () => {
  test.each<{
    name: string;
    answers: Answer[];
    delivery?: CableSettings['delivery'];
    outcome: { kind: SendOutcome['kind']; attempts: number };
    /** Name of the error a failed outcome carries. */
    error?: string;
    sleeps: number[];
  }>([
    { name: 'success on the first try: no sleep', answers: ['ok'], outcome: { kind: 'sent', attempts: 1 }, sleeps: [] },
    { name: 'transient, then success: one backoff', answers: ['transient', 'ok'], outcome: { kind: 'sent', attempts: 2 }, sleeps: [50] },
    {
      name: 'transient until the last allowed attempt, then success',
      answers: ['transient', 'transient', 'transient', 'ok'],
      outcome: { kind: 'sent', attempts: 4 },
      sleeps: [50, 100, 150],
    },
    {
      name: 'transient until maxAttempts is exhausted: failed with the last error, no sleep after it',
      answers: ['transient'],
      outcome: { kind: 'failed', attempts: 4 },
      error: 'TransientSendError',
      sleeps: [50, 100, 150],
    },
    {
      name: 'maxAttempts 1: a transient error is not retried',
      answers: ['transient'],
      delivery: { maxAttempts: 1 },
      outcome: { kind: 'failed', attempts: 1 },
      error: 'TransientSendError',
      sleeps: [],
    },
    {
      name: 'maxAttempts 2: one retry',
      answers: ['transient'],
      delivery: { maxAttempts: 2 },
      outcome: { kind: 'failed', attempts: 2 },
      error: 'TransientSendError',
      sleeps: [50],
    },
    {
      name: 'backoff doubles until maxDelayMs caps it',
      answers: ['transient'],
      delivery: { maxAttempts: 6, baseDelayMs: 10, maxDelayMs: 60 },
      outcome: { kind: 'failed', attempts: 6 },
      error: 'TransientSendError',
      sleeps: [5, 10, 20, 30, 30],
    },
    { name: 'permanent error: failed at once, not retried', answers: ['permanent'], outcome: { kind: 'failed', attempts: 1 }, error: 'BadRequestException', sleeps: [] },
    {
      name: 'permanent error after a transient one: not retried further',
      answers: ['transient', 'permanent'],
      outcome: { kind: 'failed', attempts: 2 },
      error: 'BadRequestException',
      sleeps: [50],
    },
    { name: 'gone connection (410): gone at once, not retried', answers: ['gone'], outcome: { kind: 'gone', attempts: 1 }, sleeps: [] },
    { name: 'gone after a transient error: gone, no further attempt', answers: ['transient', 'gone'], outcome: { kind: 'gone', attempts: 2 }, sleeps: [50] },
  ])('send: $name', async ({ answers, delivery, outcome, error, sleeps }) => {
    const world = run(answers, { delivery });
    const result = await world.outcome;

    expect(plain(result)).toEqual(outcome);
    expect(result.kind === 'failed' ? (result.error as Error).name : undefined).toBe(error);
    expect(world.clock.sleeps).toEqual(sleeps);
    expect(world.timeline.filter((e) => e === 'send')).toHaveLength(outcome.attempts);
  });

  test.each<{ random: number; sleeps: number[] }>([
    { random: 0, sleeps: [0, 0, 0] },
    { random: 0.999, sleeps: [99, 199, 299] },
  ])('send: full jitter, a random of $random sleeps $sleeps', async ({ random, sleeps }) => {
    const world = run(['transient'], { random: () => random });
    await world.outcome;
    expect(world.clock.sleeps).toEqual(sleeps);
  });

  test('limiter: taken before every attempt, retries included', async () => {
    const world = run(['transient', 'transient', 'ok'], { limited: true });
    expect(plain(await world.outcome)).toEqual({ kind: 'sent', attempts: 3 });
    expect(world.timeline).toEqual(['take', 'send', 'sleep 50', 'take', 'send', 'sleep 100', 'take', 'send']);
  });

  test('limiter: without one, attempts and sleeps alternate', async () => {
    const world = run(['transient', 'ok']);
    await world.outcome;
    expect(world.timeline).toEqual(['send', 'sleep 50', 'send']);
  });
});
