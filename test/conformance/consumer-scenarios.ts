import { FORGED, MESSAGES, SECRET, UNKNOWN_CHANNEL, VALID } from './scenarios';
import { RecordingConsumer, SubscriptionEvent, waitFor } from './support/consumer';
import { CableTarget, turboIdentifier } from './support/observe';
import { signStream } from '../../lambda/core/signed-stream';

/**
 * Scenarios driven by the stock @rails/actioncable consumer: what an application's callbacks see.
 * Each returns a summary that the test compares with the expected one for each server.
 */

const TURBO_PARAMS = { channel: 'Turbo::StreamsChannel', signed_stream_name: MESSAGES.signed };

export interface ConsumerSummary {
  /** Callbacks of each subscription, in order. */
  readonly events: SubscriptionEvent[][];
  /** How many `subscribe` commands the client sent for the identifier under test. */
  readonly subscribeCommands: number;
  /** Frames the client received (pings left out; a probe's frames too). */
  readonly frames: Record<string, unknown>[];
  /** The negotiated subprotocol. */
  readonly protocol: string;
}

/** Resolves once the consumer has been welcomed. */
async function welcomed(recorder: RecordingConsumer): Promise<void> {
  recorder.consumer.connect();
  await recorder.waitForFrame((frame) => frame.type === 'welcome', 'welcome');
}

/**
 * A subscription that must be confirmed, created after the scenario's: once it is connected the
 * server has answered what came before (see observe.ts on ordering).
 */
async function probe(recorder: RecordingConsumer): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 100));
  const signed = signStream(`consumer-probe-${Math.random()}`, SECRET);
  const { events } = recorder.subscribe({ channel: 'Turbo::StreamsChannel', signed_stream_name: signed });
  await waitFor(() => events.some((event) => event.event === 'connected'), 'the probe to connect');
  return turboIdentifier(signed);
}

function summarize(recorder: RecordingConsumer, events: SubscriptionEvent[][], identifier: string, probeIdentifier?: string): ConsumerSummary {
  const socket = (recorder.consumer as unknown as { connection: { webSocket?: { protocol: string } } }).connection.webSocket;
  return {
    // Copied: disconnecting at the end of the scenario adds `disconnected` to the live lists.
    events: events.map((list) => [...list]),
    subscribeCommands: recorder.sentCommands('subscribe').filter((command) => command.identifier === identifier).length,
    frames: recorder.frames().filter((frame) => probeIdentifier === undefined || frame.identifier !== probeIdentifier),
    protocol: socket?.protocol ?? '',
  };
}

async function withConsumer(target: CableTarget, body: (recorder: RecordingConsumer) => Promise<ConsumerSummary>): Promise<ConsumerSummary> {
  const recorder = new RecordingConsumer(target.url);
  try {
    return await body(recorder);
  } finally {
    recorder.disconnect();
  }
}

export const CONSUMER_SCENARIOS = {
  /** `createConsumer(url).connect()`. */
  connect: (target: CableTarget) => withConsumer(target, async (recorder) => {
    await welcomed(recorder);
    return summarize(recorder, [], VALID, await probe(recorder));
  }),

  /** `subscriptions.create(Turbo::StreamsChannel)` with a valid signed name. */
  subscribe: (target: CableTarget) => withConsumer(target, async (recorder) => {
    await welcomed(recorder);
    const { events } = recorder.subscribe(TURBO_PARAMS);
    await waitFor(() => events.some((event) => event.event === 'connected'), 'connected');
    return summarize(recorder, [events], VALID, await probe(recorder));
  }),

  /** A forged signed name: the `rejected` callback. */
  forged: (target: CableTarget) => withConsumer(target, async (recorder) => {
    await welcomed(recorder);
    const { events } = recorder.subscribe(JSON.parse(FORGED));
    await waitFor(() => events.some((event) => event.event === 'rejected'), 'rejected');
    return summarize(recorder, [events], FORGED, await probe(recorder));
  }),

  /**
   * An unknown channel: with no reply the client's SubscriptionGuarantor re-sends `subscribe`
   * every 500 ms; the scenario ends at the third copy or at a rejection, whichever comes first.
   */
  unknownChannel: (target: CableTarget) => withConsumer(target, async (recorder) => {
    await welcomed(recorder);
    const { events } = recorder.subscribe({ channel: 'NoSuchChannel' });
    const copies = () => recorder.sentCommands('subscribe').filter((command) => command.identifier === UNKNOWN_CHANNEL).length;
    await waitFor(() => events.some((event) => event.event === 'rejected') || copies() >= 3, 'a rejection or a third subscribe');
    const summary = summarize(recorder, [events], UNKNOWN_CHANNEL);
    return { ...summary, subscribeCommands: Math.min(summary.subscribeCommands, 3) };
  }),

  /** Two subscriptions with the same identifier (e.g. two turbo_stream_from tags for one stream). */
  sameIdentifierTwice: (target: CableTarget) => withConsumer(target, async (recorder) => {
    await welcomed(recorder);
    const first = recorder.subscribe(TURBO_PARAMS);
    const second = recorder.subscribe(TURBO_PARAMS);
    await waitFor(() => [first, second].every(({ events }) => events.some((event) => event.event === 'connected')), 'both connected');
    return summarize(recorder, [first.events, second.events], VALID, await probe(recorder));
  }),

  /** `subscription.unsubscribe()`: the client sends `unsubscribe`; the server says nothing. */
  unsubscribe: (target: CableTarget) => withConsumer(target, async (recorder) => {
    await welcomed(recorder);
    const { subscription, events } = recorder.subscribe(TURBO_PARAMS);
    await waitFor(() => events.some((event) => event.event === 'connected'), 'connected');
    subscription.unsubscribe();
    const probeIdentifier = await probe(recorder);
    if (recorder.sentCommands('unsubscribe').length !== 1) throw new Error('the client did not send unsubscribe');
    return summarize(recorder, [events], VALID, probeIdentifier);
  }),
};

export type ConsumerScenarioName = keyof typeof CONSUMER_SCENARIOS;

/** Rails only: a broadcast through ActionCable.server.broadcast reaches the `received` callback. */
export async function receiveBroadcast(
  target: CableTarget,
  broadcast: (stream: string, message: unknown) => Promise<void>,
  message: unknown,
): Promise<SubscriptionEvent[]> {
  const recorder = new RecordingConsumer(target.url);
  try {
    await welcomed(recorder);
    const { events } = recorder.subscribe(TURBO_PARAMS);
    await waitFor(() => events.some((event) => event.event === 'connected'), 'connected');
    await broadcast(MESSAGES.name, message);
    await waitFor(() => events.some((event) => event.event === 'received'), 'the broadcast');
    return events;
  } finally {
    recorder.disconnect();
  }
}
