import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAbout, Observation, RawScenario, turboIdentifier } from './support/observe';
import { RawCableClient, ReceivedFrame } from './support/raw-client';

/**
 * The frame-level conformance table: each scenario with the frames Rails 6.1 sends and the frames
 * cdk-cable sends. `cdkCable: 'same'` means the two must match frame for frame (as parsed JSON:
 * key order is not part of the protocol); every other entry is a deliberate difference listed in
 * docs/protocol.md, with its reason in `why`.
 */

interface SignedName {
  readonly label: string;
  readonly key: string;
  readonly name: string;
  readonly signed: string;
}

const fixture = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'signed-stream-names.json'), 'utf8')) as {
  keys: Record<string, string>;
  turbo: SignedName[];
  anycable: SignedName[];
};

/** The Turbo key both servers are configured with. */
export const SECRET = fixture.keys.ascii;
export const ALLOWED_ORIGIN = 'https://allowed.example';

/** Turbo signed names from the fixture (signed by ActiveSupport::MessageVerifier), by label. */
export function turboSigned(label: string): SignedName {
  const entry = fixture.turbo.find((candidate) => candidate.key === 'ascii' && candidate.label === label);
  if (!entry) throw new Error(`no turbo fixture labelled ${label}`);
  return entry;
}

function anycableSigned(label: string): SignedName {
  const entry = fixture.anycable.find((candidate) => candidate.key === 'ascii' && candidate.label === label);
  if (!entry) throw new Error(`no anycable fixture labelled ${label}`);
  return entry;
}

export const MESSAGES = turboSigned('ascii');
export const VALID = turboIdentifier(MESSAGES.signed);
/** A signature made with another key: what a forged or stale page would send. */
export const FORGED = turboIdentifier(`${MESSAGES.signed.split('--')[0]}--${'0'.repeat(64)}`);
export const UNKNOWN_CHANNEL = JSON.stringify({ channel: 'NoSuchChannel' });

/** What a server must send in a scenario: an observation, written out. */
export type Expected = Observation;

export interface ConformanceCase {
  readonly name: string;
  readonly scenario: RawScenario;
  readonly rails: Expected;
  /** `'same'`: cdk-cable must send what Rails sends. */
  readonly cdkCable: Expected | 'same';
  /** Why cdk-cable differs (docs/protocol.md, "Differences from Rails"). */
  readonly why?: string;
}

export const WELCOME = { type: 'welcome' };
export const confirm = (identifier: string) => ({ identifier, type: 'confirm_subscription' });
export const reject = (identifier: string) => ({ identifier, type: 'reject_subscription' });

/** Upgraded with `actioncable-v1-json`, welcomed, then these frames; the connection stays open. */
function opened(...frames: ReceivedFrame[]): Expected {
  return { handshake: { status: 101, protocol: 'actioncable-v1-json' }, frames: [WELCOME, ...frames], serverClose: null };
}

function refused(status: number): Expected {
  return { handshake: { status, protocol: null }, frames: [], serverClose: null };
}

function subscribe(identifier: string) {
  return { command: 'subscribe', identifier };
}

type Step = (client: RawCableClient) => Promise<void>;

/** Sends one subscribe and waits for the server's answer about it. */
function subscribeAndWait(identifier: string): Step {
  return async (client) => {
    client.send(subscribe(identifier));
    await client.waitForFrame(isAbout(identifier), `an answer about ${identifier}`);
  };
}

/** Sends frames and expects nothing in particular: the probe shows what came back. */
function send(...frames: unknown[]): Step {
  return async (client) => frames.forEach((frame) => client.send(frame));
}

const fixtureCases: ConformanceCase[] = fixture.turbo
  .filter((entry) => entry.key === 'ascii' && entry.name !== '' && entry.name.length < 500)
  .map((entry) => ({
    name: `subscribe Turbo::StreamsChannel, turbo-rails signed name: ${entry.label}`,
    scenario: { run: subscribeAndWait(turboIdentifier(entry.signed)) },
    rails: opened(confirm(turboIdentifier(entry.signed))),
    cdkCable: 'same',
  }));

const EMPTY = turboIdentifier(turboSigned('empty').signed);
const LONG = turboIdentifier(turboSigned('long (1,848 characters)').signed);
const URL_SAFE = turboIdentifier(anycableSigned('base64 contains \'+\' and \'/\'').signed);
const NOT_JSON_IDENTIFIER = 'not json';
const NO_CHANNEL = JSON.stringify({ signed_stream_name: MESSAGES.signed });
const OVERSIZED = JSON.stringify({ command: 'noop', padding: 'x'.repeat(130 * 1024) });

export const CASES: ConformanceCase[] = [
  {
    name: 'connect: welcome, with actioncable-v1-json negotiated',
    scenario: {},
    rails: opened(),
    cdkCable: 'same',
  },
  {
    name: 'subscribe Turbo::StreamsChannel, valid signed name: confirm_subscription',
    scenario: { run: subscribeAndWait(VALID) },
    rails: opened(confirm(VALID)),
    cdkCable: 'same',
  },
  ...fixtureCases,
  {
    name: 'subscribe Turbo::StreamsChannel, forged signature: reject_subscription',
    scenario: { run: subscribeAndWait(FORGED) },
    rails: opened(reject(FORGED)),
    cdkCable: 'same',
  },
  {
    name: 'subscribe Turbo::StreamsChannel, signed_stream_name missing: reject_subscription',
    scenario: { run: subscribeAndWait(JSON.stringify({ channel: 'Turbo::StreamsChannel' })) },
    rails: opened(reject(JSON.stringify({ channel: 'Turbo::StreamsChannel' }))),
    cdkCable: 'same',
  },
  {
    name: 'subscribe Turbo::StreamsChannel, signed_stream_name not a string',
    scenario: { run: send(subscribe(turboIdentifier(42))) },
    rails: opened(),
    cdkCable: opened(reject(turboIdentifier(42))),
    why: 'turbo-rails raises (MessageVerifier calls valid_encoding? on 42) and Rails logs it without a reply, leaving the client retrying; cdk-cable rejects it (missing_signed_stream_name)',
  },
  {
    name: 'subscribe, unknown channel',
    scenario: { run: send(subscribe(UNKNOWN_CHANNEL)) },
    rails: opened(),
    cdkCable: opened(reject(UNKNOWN_CHANNEL)),
    why: 'Rails only logs "Subscription class not found", so the client re-sends subscribe every 500 ms for as long as the page is open; on Lambda every retry is a paid invocation',
  },
  {
    name: 'subscribe, the same identifier again after its confirmation',
    scenario: {
      run: async (client) => {
        await subscribeAndWait(VALID)(client);
        client.send(subscribe(VALID));
      },
    },
    rails: opened(confirm(VALID)),
    cdkCable: opened(confirm(VALID), confirm(VALID)),
    why: 'subscribe is idempotent and every copy is confirmed: a client whose confirmation was lost (or raced a retry) is otherwise left retrying forever',
  },
  {
    name: 'subscribe, identifier is not JSON',
    scenario: { run: send(subscribe(NOT_JSON_IDENTIFIER)) },
    rails: opened(),
    cdkCable: opened(reject(NOT_JSON_IDENTIFIER)),
    why: 'Rails raises while decoding the identifier and logs it; cdk-cable rejects it (invalid_identifier) like an unknown channel, which stops the client\'s retries',
  },
  {
    name: 'subscribe, identifier without a channel',
    scenario: { run: send(subscribe(NO_CHANNEL)) },
    rails: opened(),
    cdkCable: opened(reject(NO_CHANNEL)),
    why: 'Rails raises (nil.safe_constantize) and logs it; cdk-cable rejects it (invalid_identifier)',
  },
  {
    name: 'subscribe, empty stream name signed by Turbo',
    scenario: { run: subscribeAndWait(EMPTY) },
    rails: opened(confirm(EMPTY)),
    cdkCable: opened(reject(EMPTY)),
    why: 'an empty stream name is no stream (and no DynamoDB key); Turbo only signs one for a streamable whose to_param is ""',
  },
  {
    name: 'subscribe, 1,848-character stream name (identifier over 900 bytes)',
    scenario: { run: subscribeAndWait(LONG) },
    rails: opened(confirm(LONG)),
    cdkCable: opened(reject(LONG)),
    why: 'the identifier is part of a DynamoDB sort key (1,024-byte limit): identifiers over 900 bytes are rejected (identifier_too_long)',
  },
  {
    name: 'subscribe, AnyCable URL-safe signed name whose base64 has + and /',
    scenario: { run: subscribeAndWait(URL_SAFE) },
    rails: opened(reject(URL_SAFE)),
    cdkCable: opened(confirm(URL_SAFE)),
    why: 'cdk-cable also verifies AnyCable\'s URL-safe signer, as anycable-go does; Rails\' strict base64 decoding refuses it',
  },
  {
    name: 'subscribe, identifier missing: ignored',
    scenario: { run: send({ command: 'subscribe' }) },
    rails: opened(),
    cdkCable: 'same',
  },
  {
    name: 'malformed JSON frame: ignored, connection stays open',
    scenario: { run: send('{"command":"subscribe",') },
    rails: opened(),
    cdkCable: 'same',
  },
  {
    name: 'JSON frame that is not an object: ignored',
    scenario: { run: send('[1,2]', '"subscribe"', 'null', '42') },
    rails: opened(),
    cdkCable: 'same',
  },
  {
    name: 'unknown command: ignored',
    scenario: { run: send({ command: 'perform', identifier: VALID }) },
    rails: opened(),
    cdkCable: 'same',
  },
  {
    name: 'message to a subscribed Turbo stream: ignored (the channel has no actions)',
    scenario: {
      run: async (client) => {
        await subscribeAndWait(VALID)(client);
        client.send({ command: 'message', identifier: VALID, data: JSON.stringify({ action: 'speak', text: 'hi' }) });
      },
    },
    rails: opened(confirm(VALID)),
    cdkCable: 'same',
  },
  {
    name: 'message to an identifier not subscribed: ignored',
    scenario: { run: send({ command: 'message', identifier: VALID, data: '{"action":"speak"}' }) },
    rails: opened(),
    cdkCable: 'same',
  },
  {
    name: 'unsubscribe: no reply; subscribing again is confirmed again',
    scenario: {
      run: async (client) => {
        await subscribeAndWait(VALID)(client);
        client.send({ command: 'unsubscribe', identifier: VALID });
        await new Promise((resolve) => setTimeout(resolve, 100));
        client.send(subscribe(VALID));
        await client.waitForFrames(isAbout(VALID), 2, 'the second confirmation');
      },
    },
    rails: opened(confirm(VALID), confirm(VALID)),
    cdkCable: 'same',
  },
  {
    name: 'unsubscribe from an identifier not subscribed: ignored',
    scenario: { run: send({ command: 'unsubscribe', identifier: VALID }) },
    rails: opened(),
    cdkCable: 'same',
  },
  {
    name: 'subprotocol: the client offers none',
    scenario: { protocols: [] },
    rails: { handshake: { status: 101, protocol: null }, frames: [WELCOME], serverClose: null },
    cdkCable: refused(400),
    why: 'API Gateway passes the offered subprotocols to $connect, which accepts only actioncable-v1-json: every ActionCable client offers it, and a client that does not cannot be told which frames it will get',
  },
  {
    name: 'subprotocol: the client offers only actioncable-unsupported',
    scenario: { protocols: ['actioncable-unsupported'] },
    rails: { handshake: { status: 101, protocol: 'actioncable-unsupported' }, frames: [WELCOME], serverClose: null },
    cdkCable: refused(400),
    why: 'as above; Rails negotiates actioncable-unsupported (which the client then closes) and still sends the welcome',
  },
  {
    name: 'origin: an allowed origin connects',
    scenario: { restricted: true, origin: ALLOWED_ORIGIN },
    rails: opened(),
    cdkCable: 'same',
  },
  {
    name: 'origin: a forbidden origin is refused',
    scenario: { restricted: true, origin: 'https://evil.example' },
    rails: refused(404),
    cdkCable: refused(403),
    why: 'Rails answers a refused origin with 404 "Page not found"; cdk-cable\'s $connect answers 403, which is what happened',
  },
  {
    name: 'binary frame',
    scenario: { run: async (client) => client.sendBinary(Buffer.from(JSON.stringify(subscribe(VALID)))) },
    rails: opened(),
    cdkCable: {
      ...opened({ type: 'disconnect', reason: 'invalid_request', reconnect: false }),
      serverClose: { code: 1000 },
    },
    why: 'ActionCable clients never send binary frames; one means a broken client, and reconnecting would repeat it',
  },
  {
    name: 'frame over 128 KB',
    scenario: { run: send(OVERSIZED) },
    rails: opened(),
    cdkCable: { ...opened(), serverClose: { code: 1009 } },
    why: 'API Gateway\'s message limit: it closes the connection with 1009 (the local server does the same); Rails has no such limit below websocket-driver\'s 64 MB',
  },
  {
    name: 'subscribe sent before the welcome arrives',
    scenario: { beforeWelcome: true, run: subscribeAndWait(VALID) },
    rails: opened(confirm(VALID)),
    cdkCable: 'same',
  },
];
