import { Handshake, isPing, RawCableClient, ReceivedFrame, ServerClose } from './raw-client';
import { signStream } from '../../../lambda/core/signed-stream';

/** One ActionCable server under test, as the clients see it. */
export interface CableTarget {
  readonly name: string;
  /** Accepts any origin. */
  readonly url: string;
  /** Accepts only `ALLOWED_ORIGIN`. */
  readonly restrictedUrl: string;
}

/** What a client saw in one scenario. */
export interface Observation {
  readonly handshake: Handshake;
  /** Frames in order, pings and the probe's confirmation left out. */
  readonly frames: ReceivedFrame[];
  /** Set when the server closed the connection during the scenario. */
  readonly serverClose: ServerClose | null;
}

/** An observation with the frames' text as the server wrote it. */
export interface Recording {
  readonly observation: Observation;
  readonly texts: string[];
}

/** A frame-level scenario: how to connect, then what to send once welcomed. */
export interface RawScenario {
  readonly protocols?: string[];
  readonly origin?: string;
  /** Connect to the origin-restricted endpoint. */
  readonly restricted?: boolean;
  /** Start `run` as soon as the socket opens instead of after the welcome. @default false */
  readonly beforeWelcome?: boolean;
  run?(client: RawCableClient): Promise<void>;
}

/**
 * Rails hands each frame to a pool of 4 worker threads, so two frames sent back to back may be
 * processed out of order. The probe follows the frames under test after this pause, which keeps
 * their answers ahead of the probe's; it never decides what is asserted.
 */
const PROBE_PAUSE_MS = 100;
const TURBO = 'Turbo::StreamsChannel';
let probes = 0;

export function turboIdentifier(signedStreamName: unknown): string {
  return JSON.stringify({ channel: TURBO, signed_stream_name: signedStreamName });
}

export function isWelcome(frame: ReceivedFrame): boolean {
  return 'type' in frame && frame.type === 'welcome';
}

export function isAbout(identifier: string): (frame: ReceivedFrame) => boolean {
  return (frame) => 'identifier' in frame && frame.identifier === identifier;
}

/**
 * Runs a scenario on a fresh connection and records what the server sent. Silence is observed
 * with a probe: after the scenario's frames, a subscribe that must be confirmed; whatever the
 * server had to say about the earlier frames arrives before that confirmation.
 */
export async function observe(target: CableTarget, scenario: RawScenario, secret: string): Promise<Recording> {
  const client = await RawCableClient.open(scenario.restricted ? target.restrictedUrl : target.url, {
    protocols: scenario.protocols,
    origin: scenario.origin,
  });
  try {
    let probe: string | undefined;
    if (client.isOpen) {
      if (!scenario.beforeWelcome) await client.waitForFrame(isWelcome, 'welcome');
      await scenario.run?.(client);
      if (scenario.beforeWelcome) await client.waitForFrame(isWelcome, 'welcome');
      probe = await sendProbe(client, secret);
    }
    const observation: Observation = {
      handshake: client.handshake,
      frames: client.frames.filter((frame) => !isPing(frame) && !(probe && isAbout(probe)(frame))),
      serverClose: client.serverClose ?? null,
    };
    return { observation, texts: client.texts };
  } finally {
    await client.close();
  }
}

async function sendProbe(client: RawCableClient, secret: string): Promise<string | undefined> {
  await new Promise((resolve) => setTimeout(resolve, PROBE_PAUSE_MS));
  if (!client.isOpen) {
    await client.waitForClose();
    return undefined;
  }
  const identifier = turboIdentifier(signStream(`conformance-probe-${++probes}`, secret));
  client.send({ command: 'subscribe', identifier });
  const confirmed = (frame: ReceivedFrame) => isAbout(identifier)(frame) && 'type' in frame && frame.type === 'confirm_subscription';
  try {
    await client.waitForFrame(confirmed, 'the probe\'s confirm_subscription');
  } catch (error) {
    if (!client.isClosed) throw error;
  }
  return identifier;
}
