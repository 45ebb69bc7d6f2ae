import { isDeepStrictEqual } from 'node:util';
import { CONNECTION_ID, expectValidFrames, makeWorld, SECRET, START_MS, World } from './support';
import { CableSettings, DEFAULT_TTL_SECONDS } from '../../lambda/core/config';
import { handleMessage, MessageDeps, MessageResult } from '../../lambda/core/message';
import { ChannelRecord, ConnectionRecord, Subscription } from '../../lambda/core/ports';
import { RpcClient } from '../../lambda/core/rpc-client';
import { RpcCallError, RpcFailureReason, RpcMethod, RpcTransport } from '../../lambda/core/rpc-protocol';

/** One call the app received: the parsed body, and the session id sent as `x-anycable-meta-sid`. */
export interface RpcCall {
  readonly method: RpcMethod;
  readonly body: unknown;
  readonly sid: string;
}

/** A body the app answers with: an object is sent as its JSON, a string verbatim (for malformed answers). */
export type RpcBody = string | Readonly<Record<string, unknown>>;

/**
 * What the app does with one call: answer a body, fail with an `RpcCallError` (what a transport
 * throws for a timeout, a 5xx and the like), or decide when called (to look at the stores then,
 * or to let another invocation run while the app "handles" the call).
 */
export type RpcAnswer = RpcBody | RpcCallError | ((call: RpcCall) => RpcBody | RpcCallError | Promise<RpcBody | RpcCallError>);

/**
 * The app's side of RPC, scripted: answers are test input, like frames in. Every call is recorded;
 * a call with no answer left throws a plain `Error`, which the core does not catch, so an
 * unexpected call fails the test loudly.
 */
export class ScriptedRpcTransport implements RpcTransport {
  readonly calls: RpcCall[] = [];
  private readonly script: RpcAnswer[] = [];

  /** Queues answers, used in order. */
  answer(...answers: RpcAnswer[]): this {
    this.script.push(...answers);
    return this;
  }

  async call(method: RpcMethod, body: string, sid: string): Promise<string> {
    const call: RpcCall = { method, body: JSON.parse(body), sid };
    this.calls.push(call);
    const next = this.script.shift();
    if (next === undefined) throw new Error(`unscripted RPC ${method} call: ${body}`);
    const answer = typeof next === 'function' ? await next(call) : next;
    if (answer instanceof RpcCallError) throw answer;
    return typeof answer === 'string' ? answer : JSON.stringify(answer);
  }

  /** Answers not used yet. */
  get pending(): number {
    return this.script.length;
  }
}

/** Every port on memory adapters, plus the app behind a scripted RPC transport. */
export interface RpcWorld extends World {
  readonly peer: ScriptedRpcTransport;
  readonly rpc: RpcClient;
}

export function makeRpcWorld(settings: CableSettings = { secret: SECRET }): RpcWorld {
  const peer = new ScriptedRpcTransport();
  return { ...makeWorld(settings), peer, rpc: new RpcClient(peer) };
}

/** `handleMessage`'s deps for app channels: `{ config, subscriptions, connections, rpc, clock, logger }`. */
export function appDeps(world: RpcWorld, { withRpc = true } = {}): MessageDeps {
  const { config, subscriptions, connections, clock, logger, rpc } = world;
  return { config, subscriptions, connections, clock, logger, ...(withRpc ? { rpc } : {}) };
}

/** Every way a call can fail without an answer (rpc-protocol.ts `RpcFailureReason`). */
/** A client frame through the message handler with the app's RPC (or without, `withRpc: false`); its frames checked valid. */
export async function sendWithRpc(world: RpcWorld, body: string, options: { withRpc?: boolean; connectionId?: string } = {}): Promise<MessageResult> {
  const result = await handleMessage(appDeps(world, options), { connectionId: options.connectionId ?? CONNECTION_ID, body, binary: false });
  expectValidFrames([...result.frames, ...(result.transmissions ?? [])]);
  return result;
}

export const RPC_FAILURE_REASONS: readonly RpcFailureReason[] = [
  'timeout', 'unavailable', 'unauthorized', 'bad_request', 'http_error', 'function_error', 'malformed_response',
];

export function rpcError(reason: RpcFailureReason): RpcCallError {
  return new RpcCallError(reason, `scripted ${reason}`, reason === 'http_error' ? 503 : undefined);
}

/** A connection row as `$connect` would have left it for an identified client. */
export function connectionRow(overrides: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    connectionId: CONNECTION_ID,
    connectedAt: START_MS,
    expiresAt: Math.floor(START_MS / 1000) + DEFAULT_TTL_SECONDS,
    subprotocol: 'actioncable-v1-json',
    headers: { 'sec-websocket-protocol': 'actioncable-v1-json' },
    query: {},
    cstate: {},
    channels: {},
    ...overrides,
  };
}

/** The handshake headers of the identified connection the app-channel and disconnect cases start from. */
export const IDENTIFIED_HEADERS = { 'sec-websocket-protocol': 'actioncable-v1-json', 'cookie': 'user_id=42', 'origin': 'https://app.example.com' };

/** Puts the row, and a subscription row for every stream of its channels (as app-channel.ts keeps them). */
export async function putConnection(world: World, row: ConnectionRecord): Promise<void> {
  await world.connections.put(row);
  const expiresAt = Math.floor(START_MS / 1000) + world.config.ttlSeconds;
  for (const [identifier, channel] of Object.entries(row.channels ?? {})) {
    for (const stream of channel.streams) await world.subscriptions.add({ stream, connectionId: row.connectionId, identifier, expiresAt });
  }
}

/** The subscription rows the channel records say should exist, in `rows()`' shape and order. */
export function rowsOf(connectionId: string, channels: Readonly<Record<string, ChannelRecord>>): Omit<Subscription, 'expiresAt'>[] {
  return Object.entries(channels)
    .flatMap(([identifier, channel]) => channel.streams.map((stream) => ({ stream, connectionId, identifier })))
    .sort((a, b) => `${a.stream}|${a.connectionId}|${a.identifier}`.localeCompare(`${b.stream}|${b.connectionId}|${b.identifier}`));
}

/**
 * Channel records with their streams sorted: the order a channel's streams are kept in is not
 * behaviour (streams are a set; anycable-go keeps them in a map).
 */
export function sortedStreams(channels: Readonly<Record<string, ChannelRecord>> | undefined): Record<string, ChannelRecord> {
  return Object.fromEntries(
    Object.entries(channels ?? {}).map(([identifier, channel]) => [identifier, { ...channel, streams: [...channel.streams].sort() }]),
  );
}

/**
 * Matches a frame cdk-cable builds itself (a string) by its JSON value, key order aside. Frames
 * the app sent are compared as strings: they must pass through verbatim.
 */
export function jsonFrame(expected: Readonly<Record<string, unknown>>): unknown {
  return {
    asymmetricMatch: (actual: unknown) => typeof actual === 'string' && isDeepStrictEqual(safeParse(actual), expected),
    toString: () => 'jsonFrame',
    toAsymmetricMatcher: () => `jsonFrame(${JSON.stringify(expected)})`,
  };
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
