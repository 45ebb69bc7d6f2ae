import { makeWorld, SECRET, World } from './support';
import { MemoryPresenceStore } from '../../lambda/adapters/memory/memory-presence-store';
import { ShardRequest } from '../../lambda/core/ports';
import { makeBroadcastHandler, FunctionUrlEvent } from '../../lambda/handlers/broadcast-handler';
import { makeFanOutHandler } from '../../lambda/handlers/fanout-handler';

// hex(HMAC-SHA256("test-secret-key-base", "broadcast-cable")) by openssl, as anycable-go derives it.
const KEY = '04e100845a5dc2f633bd0516fcbd8438f2155915ff8ae066659b3f6ff541ce97';

class RecordingShards {
  readonly dispatched: ShardRequest[] = [];
  async dispatch(shard: ShardRequest): Promise<void> {
    this.dispatched.push(shard);
  }
}

function worldWithSubscribers(count: number, settings = {}): World & { shards: RecordingShards } {
  const world = Object.assign(makeWorld({ secret: SECRET, ...settings }), { shards: new RecordingShards() });
  for (let i = 0; i < count; i++) {
    const connectionId = `conn-${String(i).padStart(4, '0')}=`;
    world.transport.open(connectionId);
    void world.subscriptions.add({ stream: 'chat', connectionId, identifier: `{"channel":"$pubsub","stream_name":"chat","n":${i % 2}}`, expiresAt: 1 });
  }
  return world;
}

function urlEvent(body: string, headers: Record<string, string> = { authorization: `Bearer ${KEY}` }, extra: Partial<FunctionUrlEvent> = {}): FunctionUrlEvent {
  return { version: '2.0', rawPath: '/_broadcast', headers, body, isBase64Encoded: false, requestContext: { http: { method: 'POST' } }, ...extra };
}

const BODY = JSON.stringify({ stream: 'chat', data: JSON.stringify('<turbo-stream></turbo-stream>') });

describe('broadcast handler', () => {
  test('Function URL: an authorized AnyCable broadcast answers 201 and every subscriber gets the frame once', async () => {
    const world = worldWithSubscribers(3);
    const result = await makeBroadcastHandler(async () => world)(urlEvent(BODY));
    expect(result).toMatchObject({ statusCode: 201, headers: expect.objectContaining({ 'Content-Type': expect.stringContaining('json') }) });
    for (const id of ['conn-0000=', 'conn-0001=', 'conn-0002=']) {
      expect(world.transport.framesOf(id)).toEqual([{ identifier: expect.stringContaining('$pubsub'), message: '<turbo-stream></turbo-stream>' }]);
    }
  });

  test('Function URL: a base64-encoded body is decoded first', async () => {
    const world = worldWithSubscribers(1);
    const result = await makeBroadcastHandler(async () => world)(urlEvent(Buffer.from(BODY).toString('base64'), undefined, { isBase64Encoded: true }));
    expect(result).toMatchObject({ statusCode: 201 });
    expect(world.transport.framesOf('conn-0000=')).toHaveLength(1);
  });

  test('Function URL: a wrong key answers 401 and sends nothing', async () => {
    const world = worldWithSubscribers(2);
    const result = await makeBroadcastHandler(async () => world)(urlEvent(BODY, { authorization: 'Bearer nope' }));
    expect(result).toMatchObject({ statusCode: 401 });
    expect(world.transport.sent.size).toBe(0);
  });

  test('direct invocation: cable.broadcast events are delivered in order without a key', async () => {
    const world = worldWithSubscribers(2);
    const result = await makeBroadcastHandler(async () => world)({
      kind: 'cable.broadcast',
      broadcasts: [{ stream: 'chat', data: '"first"' }, { stream: 'chat', data: '"second"' }],
    });
    expect(result).toEqual({ delivered: 4, gone: 0, failed: 0, shards: 0 });
    expect(world.transport.framesOf('conn-0001=').map((f) => (f as { message: string }).message)).toEqual(['first', 'second']);
  });

  test('direct invocation: a stream larger than a shard is dispatched to fan-out workers', async () => {
    const world = worldWithSubscribers(5, { delivery: { shardSize: 2 } });
    const result = await makeBroadcastHandler(async () => world)({ kind: 'cable.broadcast', broadcasts: [{ stream: 'chat', data: '1' }] });
    expect(result).toEqual({ delivered: 0, gone: 0, failed: 0, shards: 3 });
    expect(world.shards.dispatched.map((s) => s.limit)).toEqual([2, 2, 1]);
    expect(world.transport.sent.size).toBe(0);
  });

  test('direct invocation: cable.disconnect closes the identified connections with reason remote', async () => {
    const world = worldWithSubscribers(2);
    const identifiers = '{"current_user":"gid://app/User/1"}';
    await world.connections.put({
      connectionId: 'conn-0000=', connectedAt: 1, expiresAt: 2, subprotocol: 'actioncable-v1-json', headers: {}, query: {}, identifiers,
    });
    const result = await makeBroadcastHandler(async () => world)({ kind: 'cable.disconnect', identifier: identifiers, reconnect: true });
    expect(result).toMatchObject({ connections: 1, disconnected: 1 });
    expect(world.transport.framesOf('conn-0000=')).toEqual([{ type: 'disconnect', reason: 'remote', reconnect: true }]);
    expect(world.transport.closed.has('conn-0000=')).toBe(true);
    expect(world.transport.closed.has('conn-0001=')).toBe(false);
    await expect(makeBroadcastHandler(async () => world)({ kind: 'cable.disconnect', identifier: '', reconnect: false })).rejects.toThrow(/needs an identifier/);
  });

  test('unknown events fail the invocation and are logged as a handler failure', async () => {
    const world = worldWithSubscribers(0);
    await expect(makeBroadcastHandler(async () => world)({ hello: 'world' } as never)).rejects.toThrow(/unknown event/);
    expect(world.logger.at('error').map((e) => e.event)).toEqual(['handler.failed']);
  });

  test('metrics: an accepted HTTP broadcast is counted in CloudWatch Embedded Metric Format, per API', async () => {
    const world = worldWithSubscribers(3);
    await makeBroadcastHandler(async () => world, { apiId: 'abc123' })(urlEvent(BODY));
    const metrics = world.logger.entries.filter((e) => e.event === 'metrics');
    expect(metrics).toHaveLength(1);
    expect(metrics[0].fields).toMatchObject({
      ApiId: 'abc123',
      Broadcasts: 1,
      Delivered: 3,
      GoneConnections: 0,
      FanOutFailures: 0,
      Shards: 0,
      _aws: { CloudWatchMetrics: [{ Namespace: 'cdk-cable', Dimensions: [['ApiId']], Metrics: expect.arrayContaining([{ Name: 'Delivered', Unit: 'Count' }]) }] },
    });
  });
});

describe('broadcast handler: the presence API', () => {
  const presenceEvent = (stream: string) => urlEvent('', { authorization: `Bearer ${KEY}` }, {
    rawPath: `/api/presence/${encodeURIComponent(stream)}/users`, requestContext: { http: { method: 'GET' } },
  });

  test('Function URL: GET /api/presence/:stream/users answers the set, and counts no broadcast', async () => {
    const presence = new MemoryPresenceStore();
    const world = Object.assign(worldWithSubscribers(0), { presence });
    const identifier = '{"channel":"$pubsub","stream_name":"room/1"}';
    await presence.join({ stream: 'room/1', sessionKey: 's', identifier, connectionId: 'c', id: 'ann', info: '{"n":1}' }, world.clock.now(), 9e9);
    const result = await makeBroadcastHandler(async () => world, { apiId: 'abc123' })(presenceEvent('room/1'));
    expect(result).toEqual({ statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: '{"type":"info","total":1,"records":[{"info":{"n":1},"id":"ann"}]}' });
    expect(world.logger.entries.filter((e) => e.event === 'metrics')).toEqual([]);
  });

  test('a failed read (500) is not counted as a broadcast either', async () => {
    const presence = new MemoryPresenceStore();
    jest.spyOn(presence, 'info').mockRejectedValue(new Error('throttled'));
    const world = Object.assign(worldWithSubscribers(0), { presence });
    const result = await makeBroadcastHandler(async () => world, { apiId: 'abc123' })(presenceEvent('room/1'));
    expect(result).toMatchObject({ statusCode: 500 });
    expect(world.logger.entries.filter((e) => e.event === 'metrics')).toEqual([]);
  });
});

describe('fan-out handler', () => {
  test('fan-out: a shard event delivers exactly its slice of the stream', async () => {
    const world = worldWithSubscribers(5, { delivery: { shardSize: 2 } });
    await makeBroadcastHandler(async () => world)({ kind: 'cable.broadcast', broadcasts: [{ stream: 'chat', data: '"hi"' }] });
    const fanOut = makeFanOutHandler(async () => world);
    for (const shard of world.shards.dispatched) await fanOut({ kind: 'cable.shard', shard });
    const received = [...world.transport.sent.entries()].map(([id, frames]) => [id, frames.length]);
    expect(received).toHaveLength(5);
    expect(received.every(([, count]) => count === 1)).toBe(true);
  });

  test('fan-out: any other event fails the invocation', async () => {
    const world = worldWithSubscribers(0);
    await expect(makeFanOutHandler(async () => world)({ kind: 'nope' } as never)).rejects.toThrow(/unknown event/);
  });
});
