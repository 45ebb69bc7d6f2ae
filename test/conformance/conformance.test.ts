import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONSUMER_SCENARIOS, ConsumerScenarioName, ConsumerSummary, receiveBroadcast } from './consumer-scenarios';
import { ALLOWED_ORIGIN, CASES, confirm, ConformanceCase, Expected, FORGED, MESSAGES, reject, SECRET, UNKNOWN_CHANNEL, VALID, WELCOME } from './scenarios';
import { SubscriptionEvent } from './support/consumer';
import { CableTarget, isAbout, isWelcome, observe, Recording } from './support/observe';
import { RailsApp, startRailsApp } from './support/rails-app';
import { isPing, RawCableClient, ReceivedFrame } from './support/raw-client';
import { describeWithRuby, rubyAvailability } from './support/ruby';
import { LocalCableServer, startLocalCableServer } from '../../lambda/local/local-cable-server';

/**
 * The same client scenarios against Rails 6.1's ActionCable (test/conformance/rails, on puma)
 * and against cdk-cable's local server, which runs the Lambda handlers. Frame-level scenarios
 * are in scenarios.ts, @rails/actioncable ones in consumer-scenarios.ts; every deliberate
 * difference is listed in docs/protocol.md.
 */

/**
 * Rails' ActionCable::Server::Connections::BEAT_INTERVAL is 3 s. Each server is watched until
 * BEATS_OBSERVED beats have arrived; the median interval between consecutive beats must fall in
 * a wide band around 3 s: a 1 s or a 6 s beat fails, a timer a second late on a loaded machine
 * does not.
 */
const BEATS_OBSERVED = 5;
const BEAT_BAND_MS = { min: 2_000, max: 5_000 } as const;
/**
 * Pings closer than this belong to one beat. Rails 6.1 starts its heartbeat timer with
 * `@heartbeat_timer ||= ...` on every new connection, which races when connections open at
 * once (this suite opens dozens): each extra timer sends its own ping, so one beat can bring
 * several pings within milliseconds (seen in CI: three at once, then two at once 3 s later).
 */
const SAME_BEAT_MS = 1_000;
/** Most pings read before giving up on BEATS_OBSERVED beats. */
const MAX_PINGS = 60;
/** Longest wait for the next ping: the 5 s band's upper edge and a margin. */
const PING_WAIT_MS = 8_000;

interface PingObservation {
  readonly pings: ReceivedFrame[];
  /** When each beat's first ping arrived (epoch ms), BEATS_OBSERVED of them. */
  readonly beats: number[];
}

interface Recorded {
  readonly frames: Map<string, Recording | Error>;
  readonly consumers: Map<ConsumerScenarioName, ConsumerSummary | Error>;
  readonly pings: PingObservation | Error;
}

const ruby = rubyAvailability();
let rails: RailsApp | undefined;
let local: LocalCableServer | undefined;
let localRestricted: LocalCableServer | undefined;
const recorded = new Map<'rails' | 'cdk-cable', Recorded>();

/** A scenario that failed to run is reported by the test that needs it, not by beforeAll. */
function settle<T>(promise: Promise<T>): Promise<T | Error> {
  return promise.catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
}

function unwrap<T>(value: T | Error | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} was not recorded`);
  if (value instanceof Error) throw value;
  return value;
}

/** The shape Rails sends (`ActionCable::Server::Connections#setup_heartbeat_timer`): integer seconds, near now. */
function expectRailsPings(pings: ReceivedFrame[]): void {
  expect(pings.length).toBeGreaterThanOrEqual(1);
  const now = Math.floor(Date.now() / 1000);
  for (const ping of pings) {
    expect(ping).toEqual({ type: 'ping', message: expect.any(Number) });
    expect(Number.isInteger((ping as { message: number }).message)).toBe(true);
    expect(Math.abs(now - (ping as { message: number }).message)).toBeLessThan(60);
  }
}

/** Connects, waits for the welcome, then records pings until BEATS_OBSERVED beats have come. */
async function observePings(target: CableTarget): Promise<PingObservation> {
  const client = await RawCableClient.open(target.url);
  try {
    await client.waitForFrame(isWelcome, 'welcome');
    const beats: number[] = [];
    for (let count = 1; beats.length < BEATS_OBSERVED && count <= MAX_PINGS; count++) {
      await client.waitForFrames(isPing, count, `ping ${count}`, PING_WAIT_MS);
      const arrival = Date.now();
      if (beats.length === 0 || arrival - beats[beats.length - 1] >= SAME_BEAT_MS) beats.push(arrival);
    }
    return { pings: client.frames.filter(isPing), beats };
  } finally {
    await client.close();
  }
}

/**
 * The median interval between consecutive beats lies within BEAT_BAND_MS. Not each interval:
 * Rails posts each beat onto its event loop, so on a loaded machine one beat can come up to a
 * whole beat late and the next one right after it. A late beat makes one long and one short
 * interval, so the median of four stays near 3 s, while a 1 s or a 6 s beat moves it out of the band.
 */
function expectRailsBeat({ beats }: PingObservation): void {
  expect(beats).toHaveLength(BEATS_OBSERVED);
  const intervals = beats.slice(1).map((beat, index) => beat - beats[index]).sort((a, b) => a - b);
  const median = (intervals[Math.floor((intervals.length - 1) / 2)] + intervals[Math.floor(intervals.length / 2)]) / 2;
  expect(median).toBeGreaterThanOrEqual(BEAT_BAND_MS.min);
  expect(median).toBeLessThanOrEqual(BEAT_BAND_MS.max);
}

async function record(target: CableTarget): Promise<Recorded> {
  const names = Object.keys(CONSUMER_SCENARIOS) as ConsumerScenarioName[];
  const [frames, consumers, pings] = await Promise.all([
    Promise.all(CASES.map((entry) => settle(observe(target, entry.scenario, SECRET)))),
    Promise.all(names.map((name) => settle(CONSUMER_SCENARIOS[name](target)))),
    settle(observePings(target)),
  ]);
  return {
    frames: new Map(CASES.map((entry, index) => [entry.name, frames[index]])),
    consumers: new Map(names.map((name, index) => [name, consumers[index]])),
    pings,
  };
}

function frameRecording(server: 'rails' | 'cdk-cable', name: string): Recording {
  return unwrap(recorded.get(server)?.frames.get(name), `${server}: ${name}`);
}

function consumerSummary(server: 'rails' | 'cdk-cable', name: ConsumerScenarioName): ConsumerSummary {
  return unwrap(recorded.get(server)?.consumers.get(name), `${server}: consumer ${name}`);
}

function expectedForCdkCable(entry: ConformanceCase): Expected {
  return entry.cdkCable === 'same' ? entry.rails : entry.cdkCable;
}

/** Written for people reading a failure: every frame each server sent, per scenario. */
function writeReport(): void {
  const report: Record<string, unknown> = {};
  for (const [server, data] of recorded) {
    report[server] = {
      frames: Object.fromEntries([...data.frames].map(([name, value]) => [name, value instanceof Error ? { error: value.message } : value])),
      consumers: Object.fromEntries([...data.consumers].map(([name, value]) => [name, value instanceof Error ? { error: value.message } : value])),
      pings: data.pings instanceof Error ? { error: data.pings.message } : data.pings,
    };
  }
  const dir = join(__dirname, '..', '..', 'test-reports');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'conformance-frames.json'), `${JSON.stringify(report, null, 2)}\n`);
}

beforeAll(async () => {
  const settings = { turboStreamsSecret: SECRET };
  [local, localRestricted, rails] = await Promise.all([
    startLocalCableServer({ port: 0, settings, logLevel: 'silent' }),
    startLocalCableServer({ port: 0, settings: { ...settings, allowedOrigins: [ALLOWED_ORIGIN] }, logLevel: 'silent' }),
    ruby.available ? startRailsApp({ turboStreamsSecret: SECRET, allowedOrigin: ALLOWED_ORIGIN }) : Promise.resolve(undefined),
  ]);
  const targets: Promise<void>[] = [
    record({ name: 'cdk-cable', url: local.url, restrictedUrl: localRestricted.url }).then((data) => { recorded.set('cdk-cable', data); }),
  ];
  if (rails) {
    targets.push(record({ name: 'rails', url: rails.url, restrictedUrl: rails.restrictedUrl }).then((data) => { recorded.set('rails', data); }));
  }
  await Promise.all(targets);
  writeReport();
}, 60_000);

afterAll(async () => {
  await Promise.all([local?.close(), localRestricted?.close(), rails?.close()]);
  if (rails) writeFileSync(join(__dirname, '..', '..', 'test-reports', 'conformance-rails.log'), rails.log());
});

const SAME = CASES.filter((entry) => entry.cdkCable === 'same');
const DIFFERENT = CASES.filter((entry) => entry.cdkCable !== 'same');

describe('conformance: cdk-cable local server', () => {
  test.each(CASES.map((entry) => [entry.name, entry] as const))('frames: %s', (name, entry) => {
    expect(frameRecording('cdk-cable', name).observation).toEqual(expectedForCdkCable(entry));
  });

  test('ping: {"type":"ping","message":<unix seconds>} every 3 s, as Rails sends it', () => {
    const observed = unwrap(recorded.get('cdk-cable')?.pings, 'cdk-cable pings');
    expectRailsPings(observed.pings);
    expectRailsBeat(observed);
  });
});

describeWithRuby('conformance: Rails 6.1 ActionCable', () => {
  test.each(CASES.map((entry) => [entry.name, entry] as const))('frames: %s', (name, entry) => {
    expect(frameRecording('rails', name).observation).toEqual(entry.rails);
  });

  test('ping: {"type":"ping","message":<unix seconds>} every 3 s', () => {
    const observed = unwrap(recorded.get('rails')?.pings, 'rails pings');
    expectRailsPings(observed.pings);
    expectRailsBeat(observed);
  });

  test('broadcast: ActionCable.server.broadcast reaches a raw subscriber as {identifier, message}', async () => {
    const client = await RawCableClient.open(rails!.url);
    try {
      await client.waitForFrame(isWelcome, 'welcome');
      client.send({ command: 'subscribe', identifier: VALID });
      await client.waitForFrame(isAbout(VALID), 'confirmation');
      const message = '<turbo-stream action="append" target="messages"><template>café & 🎉</template></turbo-stream>';
      await rails!.broadcast(MESSAGES.name, message);
      await client.waitForFrames(isAbout(VALID), 2, 'the broadcast');
      expect(client.frames.filter((frame) => !isPing(frame))).toEqual([WELCOME, confirm(VALID), { identifier: VALID, message }]);
      // ActiveSupport::JSON escapes <, > and & as \u003c, \u003e, \u0026: same value once parsed.
      expect(client.texts.find((text) => text.includes('"message"'))).toContain('\\u003cturbo-stream');
    } finally {
      await client.close();
    }
  });

  test('broadcast: the @rails/actioncable received callback gets the message', async () => {
    const message = { html: '<p>日本語</p>', n: 1 };
    const events = await receiveBroadcast({ name: 'rails', url: rails!.url, restrictedUrl: rails!.restrictedUrl }, rails!.broadcast, message);
    expect(events).toEqual<SubscriptionEvent[]>([
      { event: 'initialized' },
      { event: 'connected', reconnected: false },
      { event: 'received', data: message },
    ]);
  });
});

describeWithRuby('conformance: cdk-cable sends what Rails sends', () => {
  test.each(SAME.map((entry) => [entry.name] as const))('same frames: %s', (name) => {
    expect(frameRecording('cdk-cable', name).observation).toEqual(frameRecording('rails', name).observation);
  });

  test.each(DIFFERENT.map((entry) => [entry.name, entry] as const))('deliberate difference: %s', (name, entry) => {
    expect(entry.why).toBeTruthy();
    expect(frameRecording('rails', name).observation).toEqual(entry.rails);
    expect(frameRecording('cdk-cable', name).observation).toEqual(entry.cdkCable);
    expect(frameRecording('cdk-cable', name).observation).not.toEqual(frameRecording('rails', name).observation);
  });

  test('frame text: Rails writes "identifier" before "type", cdk-cable "type" first; the parsed frames are equal', () => {
    const name = CASES[1].name;
    const confirmation = (texts: string[]) => texts.find((text) => text.includes('confirm_subscription') && text.includes(JSON.stringify(VALID)));
    expect(confirmation(frameRecording('rails', name).texts)).toBe(`{"identifier":${JSON.stringify(VALID)},"type":"confirm_subscription"}`);
    expect(confirmation(frameRecording('cdk-cable', name).texts)).toBe(`{"type":"confirm_subscription","identifier":${JSON.stringify(VALID)}}`);
    expect(frameRecording('rails', name).texts[0]).toBe('{"type":"welcome"}');
    expect(frameRecording('cdk-cable', name).texts[0]).toBe('{"type":"welcome"}');
  });

  test('ping: both send {"type":"ping","message":<integer unix seconds>} and nothing else within a beat', () => {
    const fromRails = unwrap(recorded.get('rails')?.pings, 'rails pings').pings;
    const cdkCable = unwrap(recorded.get('cdk-cable')?.pings, 'cdk-cable pings').pings;
    for (const pings of [fromRails, cdkCable]) expect(pings.length).toBeGreaterThanOrEqual(BEATS_OBSERVED);
    expect(new Set([...fromRails, ...cdkCable].map((ping) => Object.keys(ping).sort().join()))).toEqual(new Set(['message,type']));
  });
});

/** What the @rails/actioncable consumer's callbacks see, per server. */
const CONSUMER_EXPECTED: Record<ConsumerScenarioName, { rails: ConsumerSummary; cdkCable: ConsumerSummary | 'same'; why?: string }> = {
  connect: {
    rails: { events: [], subscribeCommands: 0, frames: [WELCOME], protocol: 'actioncable-v1-json' },
    cdkCable: 'same',
  },
  subscribe: {
    rails: {
      events: [[{ event: 'initialized' }, { event: 'connected', reconnected: false }]],
      subscribeCommands: 1,
      frames: [WELCOME, confirm(VALID)],
      protocol: 'actioncable-v1-json',
    },
    cdkCable: 'same',
  },
  forged: {
    rails: {
      events: [[{ event: 'initialized' }, { event: 'rejected' }]],
      subscribeCommands: 1,
      frames: [WELCOME, reject(JSON.stringify(JSON.parse(FORGED)))],
      protocol: 'actioncable-v1-json',
    },
    cdkCable: 'same',
  },
  unknownChannel: {
    rails: { events: [[{ event: 'initialized' }]], subscribeCommands: 3, frames: [WELCOME], protocol: 'actioncable-v1-json' },
    cdkCable: {
      events: [[{ event: 'initialized' }, { event: 'rejected' }]],
      subscribeCommands: 1,
      frames: [WELCOME, reject(UNKNOWN_CHANNEL)],
      protocol: 'actioncable-v1-json',
    },
    why: 'Rails never answers, so the client retries every 500 ms; cdk-cable rejects once',
  },
  sameIdentifierTwice: {
    rails: {
      events: [
        [{ event: 'initialized' }, { event: 'connected', reconnected: false }],
        [{ event: 'initialized' }, { event: 'connected', reconnected: false }],
      ],
      subscribeCommands: 2,
      frames: [WELCOME, confirm(VALID)],
      protocol: 'actioncable-v1-json',
    },
    cdkCable: {
      events: [
        [{ event: 'initialized' }, { event: 'connected', reconnected: false }, { event: 'connected', reconnected: false }],
        [{ event: 'initialized' }, { event: 'connected', reconnected: false }, { event: 'connected', reconnected: false }],
      ],
      subscribeCommands: 2,
      frames: [WELCOME, confirm(VALID), confirm(VALID)],
      protocol: 'actioncable-v1-json',
    },
    why: 'every subscribe is confirmed, and the client notifies every subscription with that identifier of each confirmation: connected() runs twice on each',
  },
  unsubscribe: {
    rails: {
      events: [[{ event: 'initialized' }, { event: 'connected', reconnected: false }]],
      subscribeCommands: 1,
      frames: [WELCOME, confirm(VALID)],
      protocol: 'actioncable-v1-json',
    },
    cdkCable: 'same',
  },
};

describe('conformance: @rails/actioncable consumer against cdk-cable', () => {
  test.each(Object.keys(CONSUMER_EXPECTED).map((name) => [name as ConsumerScenarioName] as const))('consumer: %s', (name) => {
    const expected = CONSUMER_EXPECTED[name];
    expect(consumerSummary('cdk-cable', name)).toEqual(expected.cdkCable === 'same' ? expected.rails : expected.cdkCable);
  });
});

describeWithRuby('conformance: @rails/actioncable consumer against Rails', () => {
  test.each(Object.keys(CONSUMER_EXPECTED).map((name) => [name as ConsumerScenarioName] as const))('consumer: %s', (name) => {
    expect(consumerSummary('rails', name)).toEqual(CONSUMER_EXPECTED[name].rails);
  });

  test.each(Object.entries(CONSUMER_EXPECTED).filter(([, entry]) => entry.cdkCable === 'same').map(([name]) => [name as ConsumerScenarioName] as const))(
    'consumer, same callbacks and frames: %s', (name) => {
      expect(consumerSummary('cdk-cable', name)).toEqual(consumerSummary('rails', name));
    });
});
