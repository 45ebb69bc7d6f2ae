import { afterSentInOrder } from '../../lambda/core/after-sent';

describe('afterSentInOrder', () => {
  test('no step given (or only undefined): no afterSent at all, so the result carries none', () => {
    expect(afterSentInOrder()).toEqual({});
    expect(afterSentInOrder(undefined, undefined)).toEqual({});
  });

  test('each step runs after the one before has finished, in the order given, skipping undefined', async () => {
    const ran: string[] = [];
    let finishRelease: () => void = () => undefined;
    const release = async () => {
      ran.push('release started');
      await new Promise<void>((resolve) => { finishRelease = resolve; });
      ran.push('release done');
    };
    const join = async () => { ran.push('join'); };

    const { afterSent } = afterSentInOrder(release, undefined, join);
    const running = afterSent!();
    await Promise.resolve();
    expect(ran).toEqual(['release started']);

    finishRelease();
    await running;
    expect(ran).toEqual(['release started', 'release done', 'join']);
  });
});
