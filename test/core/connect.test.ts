import { makeRpcWorld } from './rpc-support';
import { CONNECTION_ID, expectValidFrames, makeWorld, SECRET, START_MS, World } from './support';
import { MemoryPingerState } from '../../lambda/adapters/memory/memory-pinger-state';
import { CableSettings } from '../../lambda/core/config';
import { connect, ConnectResult } from '../../lambda/core/connect';
import { ConnectRequest } from '../../lambda/core/request';

const ORIGIN = 'https://app.example.com';

function request(headers: Record<string, string>, query: Record<string, string> = {}): ConnectRequest {
  return { connectionId: CONNECTION_ID, headers, query, url: 'wss://cable.example.com/prod' };
}

async function connectWith(settings: CableSettings, req: ConnectRequest): Promise<{ world: World; result: ConnectResult }> {
  const world = makeWorld(settings);
  const result = await connect(world, req);
  return { world, result };
}

function expectNothingRecorded(world: World): void {
  expect(world.connections.records.size).toBe(0);
  expect(world.delivery.requests).toEqual([]);
}

describe('connect', () => {
  const ACCEPT: ConnectResult = { kind: 'accept', subprotocol: 'actioncable-v1-json' };
  const BAD_SUBPROTOCOL: ConnectResult = { kind: 'refuse', status: 400, reason: 'unsupported_subprotocol' };
  const BAD_ORIGIN: ConnectResult = { kind: 'refuse', status: 403, reason: 'forbidden_origin' };

  test.each<{ name: string; settings?: CableSettings; headers: Record<string, string>; expected: ConnectResult }>([
    {
      name: 'connect: accepts actioncable-v1-json offered alone',
      headers: { 'sec-websocket-protocol': 'actioncable-v1-json' },
      expected: ACCEPT,
    },
    {
      name: 'connect: accepts actioncable-v1-json offered among others and returns that subprotocol',
      headers: { 'sec-websocket-protocol': 'actioncable-v1-json, actioncable-unsupported' },
      expected: ACCEPT,
    },
    {
      name: 'connect: accepts actioncable-v1-json offered after another',
      headers: { 'sec-websocket-protocol': 'actioncable-unsupported,actioncable-v1-json' },
      expected: ACCEPT,
    },
    {
      name: 'connect: refuses 400 when no subprotocol is offered',
      headers: { origin: ORIGIN },
      expected: BAD_SUBPROTOCOL,
    },
    {
      name: 'connect: refuses 400 when only other subprotocols are offered',
      headers: { 'sec-websocket-protocol': 'actioncable-unsupported, graphql-ws' },
      expected: BAD_SUBPROTOCOL,
    },
    {
      name: 'connect: refuses 400 when the header is empty',
      headers: { 'sec-websocket-protocol': '' },
      expected: BAD_SUBPROTOCOL,
    },
    {
      name: 'allowedOrigins: accepts a listed origin',
      settings: { secret: SECRET, allowedOrigins: ['https://other.example.com', ORIGIN] },
      headers: { 'sec-websocket-protocol': 'actioncable-v1-json', 'origin': ORIGIN },
      expected: ACCEPT,
    },
    {
      name: 'allowedOrigins: refuses 403 an origin not listed',
      settings: { secret: SECRET, allowedOrigins: [ORIGIN] },
      headers: { 'sec-websocket-protocol': 'actioncable-v1-json', 'origin': 'https://evil.example.com' },
      expected: BAD_ORIGIN,
    },
    {
      name: 'allowedOrigins: refuses 403 a missing Origin when a list is configured',
      settings: { secret: SECRET, allowedOrigins: [ORIGIN] },
      headers: { 'sec-websocket-protocol': 'actioncable-v1-json' },
      expected: BAD_ORIGIN,
    },
    {
      name: 'allowedOrigins: accepts any origin when none is configured',
      headers: { 'sec-websocket-protocol': 'actioncable-v1-json', 'origin': 'https://anything.example.net' },
      expected: ACCEPT,
    },
    {
      name: 'allowedOrigins: accepts a missing Origin when none is configured',
      headers: { 'sec-websocket-protocol': 'actioncable-v1-json' },
      expected: ACCEPT,
    },
    {
      name: 'allowedOrigins: an unsupported subprotocol is refused 400 before the origin is checked',
      settings: { secret: SECRET, allowedOrigins: [ORIGIN] },
      headers: { 'sec-websocket-protocol': 'graphql-ws', 'origin': 'https://evil.example.com' },
      expected: BAD_SUBPROTOCOL,
    },
  ])('$name', async ({ settings, headers, expected }) => {
    const { world, result } = await connectWith(settings ?? { secret: SECRET }, request(headers));
    expect(result).toEqual(expected);
    if (expected.kind === 'refuse') {
      expectNothingRecorded(world);
      expect(world.logger.entries).toEqual([
        { level: 'info', event: 'connect.refused', fields: expect.objectContaining({ connectionId: CONNECTION_ID, reason: expected.reason }) },
      ]);
    } else {
      expect(world.connections.records.has(CONNECTION_ID)).toBe(true);
      expect(world.delivery.requests).toHaveLength(1);
    }
  });

  test('connect: without RPC the row keeps nothing of the request (no cookie, Authorization, query or URL)', async () => {
    const headers = {
      'sec-websocket-protocol': 'actioncable-v1-json, actioncable-unsupported',
      'cookie': '_session=secret',
      'authorization': 'Bearer abc',
      'origin': ORIGIN,
    };
    const query = { token: 'abc', room: 'lobby' };
    const { world } = await connectWith({ secret: SECRET, ttlSeconds: 600, maxConnectionAgeSeconds: 300 }, { ...request(headers, query), remoteAddress: '198.51.100.7' });

    expect(world.connections.records.get(CONNECTION_ID)).toEqual({
      connectionId: CONNECTION_ID,
      connectedAt: START_MS,
      expiresAt: Math.floor(START_MS / 1000) + 600,
      subprotocol: 'actioncable-v1-json',
      headers: {},
      query: {},
      cstate: {},
      channels: {},
    });
  });

  test('connect: with RPC the row keeps what later calls pass to the app: the proxied headers (cookies filtered), the address, the URL without the JWT', async () => {
    const world = makeRpcWorld({ secret: SECRET, rpcHeaders: ['cookie', 'origin'], rpcCookies: ['_session'] });
    world.peer.answer({ status: 1, identifiers: '{"u":1}', transmissions: ['{"type":"welcome"}'] });
    const headers = {
      'sec-websocket-protocol': 'actioncable-v1-json',
      'cookie': '_session=abc;theme=dark',
      'authorization': 'Bearer abc',
      'origin': ORIGIN,
      'user-agent': 'Mozilla/5.0',
    };
    const req = { ...request(headers, {}), url: 'wss://cable.example.com/prod?room=lobby&jid=query.jwt.token', remoteAddress: '198.51.100.7' };
    expect(await connect(world, req)).toEqual({ kind: 'accept', subprotocol: 'actioncable-v1-json' });
    expect(world.connections.records.get(CONNECTION_ID)).toMatchObject({
      headers: { cookie: '_session=abc;', origin: ORIGIN },
      query: {},
      url: 'wss://cable.example.com/prod?room=lobby',
      remoteAddress: '198.51.100.7',
    });
  });

  test.each<{ name: string; url: string; stored: string }>([
    { name: 'a URL without a query is kept as it is', url: 'wss://cable.example.com/prod', stored: 'wss://cable.example.com/prod' },
    { name: 'a URL whose only parameter is the JWT loses its "?" too', url: 'wss://cable.example.com/prod?jid=query.jwt.token', stored: 'wss://cable.example.com/prod' },
    { name: 'the JWT between other parameters goes, the others stay joined by "&"', url: 'wss://cable.example.com/prod?room=lobby&jid=query.jwt.token&pi=30', stored: 'wss://cable.example.com/prod?room=lobby&pi=30' },
    { name: 'a restore sid goes too (a spent credential)', url: 'wss://cable.example.com/prod?sid=old-session&room=lobby', stored: 'wss://cable.example.com/prod?room=lobby' },
  ])('connect: with RPC the stored URL (what later calls pass the app) has no credentials: $name', async ({ url, stored }) => {
    const world = makeRpcWorld({ secret: SECRET });
    world.peer.answer({ status: 1, identifiers: '{"u":1}', transmissions: ['{"type":"welcome"}'] });
    await connect(world, { ...request({ 'sec-websocket-protocol': 'actioncable-v1-json' }), url });
    expect(world.connections.records.get(CONNECTION_ID)?.url).toBe(stored);
  });

  test('connect: with RPC, an app that identifies without sending any frame gets the row and no delivery (nothing to send)', async () => {
    const world = makeRpcWorld({ secret: SECRET });
    world.peer.answer({ status: 1, identifiers: '{"u":1}', transmissions: [] });
    expect(await connect(world, request({ 'sec-websocket-protocol': 'actioncable-v1-json' }))).toEqual({ kind: 'accept', subprotocol: 'actioncable-v1-json' });
    expect(world.connections.records.get(CONNECTION_ID)?.identifiers).toBe('{"u":1}');
    expect(world.delivery.requests).toEqual([]);
  });

  test('connect: with RPC, when the proxied headers overflow the budget, the largest goes and the small ones after it stay', async () => {
    const world = makeRpcWorld({ secret: SECRET, rpcHeaders: ['x-big', 'cookie', 'origin'] });
    world.peer.answer({ status: 1, transmissions: ['{"type":"welcome"}'] });
    const headers = {
      'sec-websocket-protocol': 'actioncable-v1-json',
      'x-big': 'y'.repeat(6 * 1024),
      'cookie': `_session=${'x'.repeat(3 * 1024)}`,
      'origin': ORIGIN,
    };
    await connect(world, request(headers));
    expect(Object.keys(world.connections.records.get(CONNECTION_ID)!.headers)).toEqual(['cookie', 'origin']);
  });

  test('connect: when the welcome cannot be scheduled, the row is removed and the failure propagates', async () => {
    const world = makeWorld({ secret: SECRET });
    world.delivery.deliverLater = async () => {
      throw new Error('Lambda throttled');
    };
    await expect(connect(world, request({ 'sec-websocket-protocol': 'actioncable-v1-json' }))).rejects.toThrow('Lambda throttled');
    expect(world.connections.records.size).toBe(0);
  });

  test('connect: with RPC, a cookie that fits the header budget is kept', async () => {
    const cookie = `_session=${'x'.repeat(4 * 1024)}`;
    const world = makeRpcWorld({ secret: SECRET });
    world.peer.answer({ status: 1, transmissions: ['{"type":"welcome"}'] });
    await connect(world, request({ 'sec-websocket-protocol': 'actioncable-v1-json', cookie }));
    expect(world.connections.records.get(CONNECTION_ID)?.headers.cookie).toBe(cookie);
  });

  test('connect: schedules exactly one deferred delivery of the welcome, due by now + deliveryDeadlineMs', async () => {
    const { world } = await connectWith({ secret: SECRET, deliveryDeadlineMs: 7_000 }, request({ 'sec-websocket-protocol': 'actioncable-v1-json' }));

    expect(world.delivery.requests).toHaveLength(1);
    const [delivery] = world.delivery.requests;
    expect(delivery.connectionId).toBe(CONNECTION_ID);
    expect(delivery.deadline).toBe(START_MS + 7_000);
    expect(delivery.frames.map((f) => JSON.parse(f))).toEqual([{ type: 'welcome' }]);
    expectValidFrames(delivery.frames);
  });

  test.each<{ name: string; rpc: boolean }>([
    { name: 'with a welcome to schedule', rpc: false },
    { name: 'with nothing to schedule (the app sent no frame)', rpc: true },
  ])('connect: returns only once the pinger is started (Lambda freezes whatever is left running): $name', async ({ rpc }) => {
    const world = makeRpcWorld({ secret: SECRET });
    world.peer.answer({ status: 1, identifiers: '{"u":1}', transmissions: [] });
    const launched: unknown[] = [];
    // The invoke answers on a later turn of the event loop, as a real one does.
    const launch = (event: unknown) => new Promise<void>((resolve) => setImmediate(() => {
      launched.push(event);
      resolve();
    }));
    const launcher = { launch };
    const keepalive = { state: new MemoryPingerState(), launcher, periodMs: 60_000, token: () => 'lease-1' };
    const { rpc: client, ...deps } = world;
    await connect({ ...deps, ...(rpc ? { rpc: client } : {}), keepalive }, request({ 'sec-websocket-protocol': 'actioncable-v1-json' }));
    expect(launched).toHaveLength(1);
    expect(world.logger.events()).toContain('connect.pinger_started');
  });

  test('connect: sends nothing itself (the connection is not open until $connect returns)', async () => {
    const { world } = await connectWith({ secret: SECRET }, request({ 'sec-websocket-protocol': 'actioncable-v1-json' }));
    expect(world.transport.sent.size).toBe(0);
  });
});
