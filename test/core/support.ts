import { MemoryConnectionStore } from '../../lambda/adapters/memory/memory-connection-store';
import { MemorySubscriptionStore } from '../../lambda/adapters/memory/memory-subscription-store';
import { MemoryTransport } from '../../lambda/adapters/memory/memory-transport';
import { FanOutDeps } from '../../lambda/core/broadcast';
import { CableConfig, CableSettings, resolveConfig } from '../../lambda/core/config';
import { ConnectionGoneError, TransientSendError } from '../../lambda/core/errors';
import { handleMessage, MessageResult } from '../../lambda/core/message';
import { Clock, DeferredDelivery, DeliveryRequest, ShardRequest, Subscription } from '../../lambda/core/ports';
import { byteLength, MAX_MESSAGE_BYTES, ServerFrame } from '../../lambda/core/protocol';
import { LocalShardDispatcher } from '../../lambda/local/local-shard-dispatcher';
import { LogEntry, RecordingLogger } from '../support/recording-logger';

/** 2023-11-14T22:13:20.500Z: not a whole second, so `expiresAt` rounding shows. */
export const START_MS = 1_700_000_000_500;
export const SECRET = 'test-secret-key-base';
export const CONNECTION_ID = 'Ab12Cd34Ef5=';
export const OTHER_CONNECTION_ID = 'Zz98Yy76Xx5=';

/** A clock that only moves when told to, or when something sleeps on it. */
export class FakeClock implements Clock {
  /** Every `sleep` duration, in order. */
  readonly sleeps: number[] = [];
  /** Called after each sleep has advanced the time, with the number of sleeps so far. */
  onSleep?: (count: number) => void;
  private current: number;

  constructor(start = START_MS) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.current += ms;
    this.onSleep?.(this.sleeps.length);
  }

  advance(ms: number): void {
    this.current += ms;
  }
}


export class RecordingDelivery implements DeferredDelivery {
  readonly requests: DeliveryRequest[] = [];

  async deliverLater(request: DeliveryRequest): Promise<void> {
    this.requests.push(request);
  }
}

/** Every port on memory adapters; satisfies the deps of each core command and handler. */
export interface World {
  readonly config: CableConfig;
  readonly connections: MemoryConnectionStore;
  readonly subscriptions: MemorySubscriptionStore;
  readonly transport: MemoryTransport;
  readonly delivery: RecordingDelivery;
  readonly clock: FakeClock;
  readonly logger: RecordingLogger;
}

export function makeWorld(settings: CableSettings = { secret: SECRET }): World {
  return {
    config: resolveConfig(settings),
    connections: new MemoryConnectionStore(),
    subscriptions: new MemorySubscriptionStore(),
    transport: new MemoryTransport(),
    delivery: new RecordingDelivery(),
    clock: new FakeClock(),
    logger: new RecordingLogger(),
  };
}

/**
 * Rows for these connections, as `$connect` stores an anonymous client's: a connection's
 * subscriptions and invalid frames are counted on its row, and one without a row is refused.
 */
export async function openConnections(world: Pick<World, 'connections'>, ...ids: string[]): Promise<void> {
  for (const connectionId of ids) {
    await world.connections.put({ connectionId, connectedAt: START_MS, expiresAt: Math.floor(START_MS / 1000) + 10_800, subprotocol: 'actioncable-v1-json', headers: {}, query: {} });
  }
}

/**
 * The invariants of every server frame: a `disconnect` says whether to reconnect (the client
 * reads a missing `reconnect` as false), and nothing exceeds what API Gateway will post.
 */
export function expectValidFrames(frames: readonly (ServerFrame | string)[]): void {
  for (const frame of frames) {
    const text = typeof frame === 'string' ? frame : JSON.stringify(frame);
    expect(byteLength(text)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    const decoded = JSON.parse(text) as Record<string, unknown>;
    if (decoded.type === 'disconnect') expect(typeof decoded.reconnect).toBe('boolean');
  }
}

/** Runs one text frame through `handleMessage` and checks the frame invariants on the way out. */
export async function send(world: World, body: string, connectionId = CONNECTION_ID): Promise<MessageResult> {
  const result = await handleMessage(world, { connectionId, body, binary: false });
  expectValidFrames(result.frames);
  return result;
}

export function subscribeCommand(identifier: string): string {
  return JSON.stringify({ command: 'subscribe', identifier });
}

export function unsubscribeCommand(identifier: string): string {
  return JSON.stringify({ command: 'unsubscribe', identifier });
}

export function messageCommand(identifier: string, data: string): string {
  return JSON.stringify({ command: 'message', identifier, data });
}

export function turboIdentifier(signedStreamName: string): string {
  return JSON.stringify({ channel: 'Turbo::StreamsChannel', signed_stream_name: signedStreamName });
}

export function pubsubIdentifier(params: { signed_stream_name?: string; stream_name?: string }): string {
  return JSON.stringify({ channel: '$pubsub', ...params });
}

/** Subscription rows without `expiresAt`, sorted, for comparing whole tables. */
export function rows(world: World): Omit<Subscription, 'expiresAt'>[] {
  return world.subscriptions.all()
    .map(({ stream, connectionId, identifier }) => ({ stream, connectionId, identifier }))
    .sort((a, b) => `${a.stream}|${a.connectionId}|${a.identifier}`.localeCompare(`${b.stream}|${b.connectionId}|${b.identifier}`));
}

/** Everything the stores hold, for "state unchanged" assertions. */
export function snapshot(world: World): unknown {
  return {
    connections: [...world.connections.records.entries()],
    subscriptions: world.subscriptions.all(),
    sent: [...world.transport.sent.entries()],
    closed: [...world.transport.closed],
    deliveries: [...world.delivery.requests],
  };
}

export { RecordingLogger };
export type { LogEntry };

/** What a connection's posts do: succeed, 410, fail for good, or fail transiently `transient` times first. */
export type Behaviour = 'ok' | 'gone' | 'permanent' | { readonly transient: number };

/**
 * One scripted post to `connectionId`: counts the attempt in `attempts`, then throws what API
 * Gateway's answer would become (`ConnectionGoneError`, a permanent error, `TransientSendError`)
 * or returns for a delivered post.
 */
export function playBehaviour(script: Readonly<Record<string, Behaviour>>, attempts: Map<string, number>, connectionId: string): void {
  const attempt = (attempts.get(connectionId) ?? 0) + 1;
  attempts.set(connectionId, attempt);
  const behaviour = script[connectionId] ?? 'ok';
  if (behaviour === 'gone') throw new ConnectionGoneError(connectionId);
  if (behaviour === 'permanent') throw Object.assign(new Error('Invalid connection id'), { name: 'BadRequestException' });
  if (typeof behaviour === 'object' && attempt <= behaviour.transient) {
    throw new TransientSendError(connectionId, Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
  }
}

/** Fans shards out in-process, as the local server does, and records each shard it is given. */
export function recordingLocalShards(deps: FanOutDeps): { readonly shards: LocalShardDispatcher; readonly dispatched: ShardRequest[] } {
  const dispatched: ShardRequest[] = [];
  const local = new LocalShardDispatcher(deps);
  const shards = Object.assign(local, {
    dispatch: (shard: ShardRequest) => (dispatched.push(shard), LocalShardDispatcher.prototype.dispatch.call(local, shard)),
  });
  return { shards, dispatched };
}
