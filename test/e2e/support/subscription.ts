import * as ActionCable from '@rails/actioncable';

export type Outcome = 'connected' | 'rejected';

/** A subscription whose callbacks record what reaches it. */
export function subscribe(consumer: ActionCable.Consumer, params: ActionCable.ChannelNameWithParams, received: unknown[] = []) {
  const disconnected: unknown[] = [];
  let subscription!: ActionCable.Subscription;
  const outcome = new Promise<Outcome>((resolve) => {
    subscription = consumer.subscriptions.create(params, {
      connected: () => resolve('connected'),
      rejected: () => resolve('rejected'),
      received: (data: unknown) => received.push(data),
      disconnected: (details: unknown) => disconnected.push(details),
    });
  });
  return { subscription, outcome, received, disconnected };
}
