import {
  CONNECTION_ID, expectValidFrames, makeWorld, openConnections, OTHER_CONNECTION_ID, rows, SECRET, START_MS, subscribeCommand, turboIdentifier, World,
} from './support';
import { MemoryStreamHistory } from '../../lambda/adapters/memory/memory-stream-history';
import { CableSettings } from '../../lambda/core/config';
import { connect } from '../../lambda/core/connect';
import { signStream } from '../../lambda/core/signed-stream';
import { makeConnectHandler } from '../../lambda/handlers/connect-handler';
import { makeDeliverHandler } from '../../lambda/handlers/deliver-handler';
import { makeDisconnectHandler } from '../../lambda/handlers/disconnect-handler';
import { toConnectRequest, toInboundFrame, WebSocketEvent, WebSocketResult } from '../../lambda/handlers/events';
import { makeMessageHandler } from '../../lambda/handlers/message-handler';

const ORIGIN = 'https://app.example.com';

function event(
  eventType: WebSocketEvent['requestContext']['eventType'],
  fields: Omit<WebSocketEvent, 'requestContext'> = {},
  connectionId = CONNECTION_ID,
): WebSocketEvent {
  const routeKey = { CONNECT: '$connect', MESSAGE: '$default', DISCONNECT: '$disconnect' }[eventType];
  return {
    requestContext: { connectionId, routeKey, eventType, stage: 'prod', domainName: 'abc123.execute-api.us-east-1.amazonaws.com' },
    ...fields,
  };
}

function worldWith(settings: CableSettings = { secret: SECRET }): { world: World; deps: () => Promise<World> } {
  const world = makeWorld(settings);
  return { world, deps: async () => world };
}

describe('$connect handler', () => {
  test.each<{ name: string; settings?: CableSettings; headers: Record<string, string>; expected: WebSocketResult }>([
    {
      name: '$connect: accept answers 200 with the negotiated Sec-WebSocket-Protocol',
      headers: { 'Sec-WebSocket-Protocol': 'actioncable-v1-json, actioncable-unsupported', 'Origin': ORIGIN },
      expected: { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'actioncable-v1-json' } },
    },
    {
      name: '$connect: an unsupported subprotocol answers 400',
      headers: { 'Sec-WebSocket-Protocol': 'graphql-ws' },
      expected: { statusCode: 400, body: 'unsupported_subprotocol' },
    },
    {
      name: '$connect: a forbidden origin answers 403',
      settings: { secret: SECRET, allowedOrigins: [ORIGIN] },
      headers: { 'Sec-WebSocket-Protocol': 'actioncable-v1-json', 'Origin': 'https://evil.example.com' },
      expected: { statusCode: 403, body: 'forbidden_origin' },
    },
    {
      name: '$connect: a listed origin sent with a capitalised header name is accepted',
      settings: { secret: SECRET, allowedOrigins: [ORIGIN] },
      headers: { 'Sec-WebSocket-Protocol': 'actioncable-v1-json', 'Origin': ORIGIN },
      expected: { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'actioncable-v1-json' } },
    },
  ])('$name', async ({ settings, headers, expected }) => {
    const { world, deps } = worldWith(settings);
    const result = await makeConnectHandler(deps)(event('CONNECT', { headers }));
    expect(result).toEqual(expected);
    expect(world.connections.records.has(CONNECTION_ID)).toBe(expected.statusCode === 200);
    expect(world.delivery.requests).toHaveLength(expected.statusCode === 200 ? 1 : 0);
  });
});

describe('toConnectRequest', () => {
  test('toConnectRequest: merges multiValueHeaders and headers with lower-cased names, multi-values joined and preferred', () => {
    const request = toConnectRequest(event('CONNECT', {
      headers: { 'Host': 'cable.example.com', 'Origin': ORIGIN, 'Sec-WebSocket-Protocol': 'actioncable-v1-json', 'X-Skipped': undefined },
      multiValueHeaders: {
        'Sec-WebSocket-Protocol': ['actioncable-v1-json', 'actioncable-unsupported'],
        'Cookie': ['a=1', 'b=2'],
        'X-Empty': [],
        'X-Undefined': [undefined],
      },
    }));
    expect(request.headers).toEqual({
      'host': 'cable.example.com',
      'origin': ORIGIN,
      'sec-websocket-protocol': 'actioncable-v1-json, actioncable-unsupported',
      'cookie': 'a=1, b=2',
    });
  });

  test.each<{ name: string; fields: Omit<WebSocketEvent, 'requestContext'>; url: string; query: Record<string, string> }>([
    {
      name: 'toConnectRequest: url ignores x-forwarded-host (the core honours it only with origin verification)',
      fields: { headers: { 'Host': 'abc123.execute-api.us-east-1.amazonaws.com', 'X-Forwarded-Host': 'cable.example.com' } },
      url: 'wss://abc123.execute-api.us-east-1.amazonaws.com/prod',
      query: {},
    },
    {
      name: 'toConnectRequest: url uses host',
      fields: { headers: { Host: 'cable.example.com' } },
      url: 'wss://cable.example.com/prod',
      query: {},
    },
    {
      name: 'toConnectRequest: url falls back to the domain name without headers',
      fields: { headers: null, multiValueHeaders: null },
      url: 'wss://abc123.execute-api.us-east-1.amazonaws.com/prod',
      query: {},
    },
    {
      name: 'toConnectRequest: url carries the query string, and undefined parameters are dropped',
      fields: { headers: { Host: 'cable.example.com' }, queryStringParameters: { token: 'a b&c', room: 'lobby', gone: undefined } },
      url: 'wss://cable.example.com/prod?token=a+b%26c&room=lobby',
      query: { token: 'a b&c', room: 'lobby' },
    },
  ])('$name', ({ fields, url, query }) => {
    const request = toConnectRequest(event('CONNECT', fields));
    expect(request.connectionId).toBe(CONNECTION_ID);
    expect(request.url).toBe(url);
    expect(request.query).toEqual(query);
  });

  test('toInboundFrame: a missing body is empty text and isBase64Encoded marks a binary frame', () => {
    expect(toInboundFrame(event('MESSAGE', { body: null }))).toEqual({ connectionId: CONNECTION_ID, body: '', binary: false });
    expect(toInboundFrame(event('MESSAGE', { body: 'AAEC', isBase64Encoded: true }))).toEqual({ connectionId: CONNECTION_ID, body: 'AAEC', binary: true });
  });
});

describe('$default handler', () => {
  const ROOM = turboIdentifier(signStream('room:1', SECRET));

  test('$default: posts the command\'s frames through the transport', async () => {
    const { world, deps } = worldWith();
    await openConnections(world, CONNECTION_ID);
    world.transport.open(CONNECTION_ID);

    const result = await makeMessageHandler(deps)(event('MESSAGE', { body: subscribeCommand(ROOM) }));

    expect(result).toEqual({ statusCode: 200 });
    expect(world.transport.framesOf(CONNECTION_ID)).toEqual([{ type: 'confirm_subscription', identifier: ROOM }]);
    expectValidFrames(world.transport.sent.get(CONNECTION_ID) ?? []);
    expect(world.transport.closed.size).toBe(0);
    expect(rows(world)).toEqual([{ stream: 'room:1', connectionId: CONNECTION_ID, identifier: ROOM }]);
  });

  test('$default: ignored input posts nothing and keeps the connection open', async () => {
    const { world, deps } = worldWith();
    await openConnections(world, CONNECTION_ID);
    world.transport.open(CONNECTION_ID);

    expect(await makeMessageHandler(deps)(event('MESSAGE', { body: 'not json' }))).toEqual({ statusCode: 200 });
    expect(world.transport.sent.size).toBe(0);
    expect(world.transport.closed.size).toBe(0);
  });

  test('$default: invalid_request posts the disconnect frame, then closes', async () => {
    const { world, deps } = worldWith();
    world.transport.open(CONNECTION_ID);

    const result = await makeMessageHandler(deps)(event('MESSAGE', { body: 'AAEC', isBase64Encoded: true }));

    expect(result).toEqual({ statusCode: 200 });
    expect(world.transport.framesOf(CONNECTION_ID)).toEqual([{ type: 'disconnect', reason: 'invalid_request', reconnect: false }]);
    expectValidFrames(world.transport.sent.get(CONNECTION_ID) ?? []);
    expect([...world.transport.closed]).toEqual([CONNECTION_ID]);
  });

  test('$default: a client gone before its reply is posted is logged, not a failed invocation', async () => {
    const { world, deps } = worldWith();

    expect(await makeMessageHandler(deps)(event('MESSAGE', { body: subscribeCommand(ROOM) }))).toEqual({ statusCode: 200 });
    expect(world.transport.sent.size).toBe(0);
    expect(world.logger.entries.map((e) => e.event)).toContain('message.reply_gone');
  });

  test.each([true, false])('$default: a history replay\'s hold is released after its frames are posted (client still there: %s)', async (open) => {
    const world = makeWorld({ secret: SECRET, publicStreams: true });
    const deps = async () => ({ ...world, history: new MemoryStreamHistory() });
    await connect(world, { connectionId: CONNECTION_ID, headers: { 'sec-websocket-protocol': 'actioncable-v1-ext-json' }, query: {} });
    if (open) world.transport.open(CONNECTION_ID);
    const identifier = JSON.stringify({ channel: '$pubsub', stream_name: 'room:1' });
    const body = JSON.stringify({ command: 'subscribe', identifier, history: { since: 1 } });

    expect(await makeMessageHandler(deps)(event('MESSAGE', { body }))).toEqual({ statusCode: 200 });

    expect(world.subscriptions.all()).toEqual([expect.objectContaining({ liveFrom: 1 })]);
    expect(world.subscriptions.all()[0].holdUntil).toBeUndefined();
    expect(world.transport.framesOf(CONNECTION_ID).map((f) => (f as { type: string }).type)).toEqual(open ? ['confirm_subscription', 'confirm_history'] : []);
  });

  test('$default: any other failure is logged once with the handler-error metric and rethrown', async () => {
    const { world, deps } = worldWith();
    world.transport.open(CONNECTION_ID);
    world.transport.send = async () => {
      throw new Error('throttled');
    };

    await expect(makeMessageHandler(deps)(event('MESSAGE', { body: subscribeCommand(ROOM) }))).rejects.toThrow('throttled');
    const failures = world.logger.at('error').filter((e) => e.event === 'handler.failed');
    expect(failures).toHaveLength(1);
    expect(failures[0].fields).toMatchObject({ handler: 'message', connectionId: CONNECTION_ID });
    const counted = world.logger.entries.filter((e) => e.event === 'metrics');
    expect(counted.map((e) => e.fields)).toEqual([expect.objectContaining({
      HandlerErrors: 1,
      Handler: 'message',
      _aws: expect.objectContaining({ CloudWatchMetrics: [expect.objectContaining({ Namespace: 'cdk-cable', Dimensions: [['Handler']] })] }),
    })]);
  });
});

describe('$disconnect handler', () => {
  test('$disconnect: removes the connection\'s rows and answers 200', async () => {
    const { world, deps } = worldWith({ secret: SECRET, publicStreams: true });
    const connectHandler = makeConnectHandler(deps);
    const messageHandler = makeMessageHandler(deps);
    for (const id of [CONNECTION_ID, OTHER_CONNECTION_ID]) {
      await connectHandler(event('CONNECT', { headers: { 'Sec-WebSocket-Protocol': 'actioncable-v1-json' } }, id));
      world.transport.open(id);
      await messageHandler(event('MESSAGE', { body: subscribeCommand('{"channel":"$pubsub","stream_name":"chat"}') }, id));
    }

    expect(await makeDisconnectHandler(deps)(event('DISCONNECT', {}))).toEqual({ statusCode: 200 });
    expect([...world.connections.records.keys()]).toEqual([OTHER_CONNECTION_ID]);
    expect(rows(world).map((r) => r.connectionId)).toEqual([OTHER_CONNECTION_ID]);
  });

  test('$disconnect: its log lines carry the close code and reason API Gateway reports (the access log cannot)', async () => {
    const { world, deps } = worldWith();
    const closed = event('DISCONNECT', {});
    await makeDisconnectHandler(deps)({ ...closed, requestContext: { ...closed.requestContext, disconnectStatusCode: 1001, disconnectReason: 'Going away' } });
    expect(world.logger.entries.find((e) => e.event === 'disconnect')?.fields).toMatchObject({ disconnectStatusCode: 1001, disconnectReason: 'Going away' });
  });
});

describe('deliver handler', () => {
  test('deliver: the handler delivers the request it is invoked with', async () => {
    const { world, deps } = worldWith();
    world.transport.open(CONNECTION_ID);
    const frames = ['{"type":"welcome"}'];

    expect(await makeDeliverHandler(deps)({ connectionId: CONNECTION_ID, frames, deadline: START_MS + 1_000 })).toEqual({ kind: 'delivered', attempts: 1 });
    expect(world.transport.sent.get(CONNECTION_ID)).toEqual(frames);
  });

  test('deliver: $connect\'s deferred welcome reaches the client through the deliver handler', async () => {
    const { world, deps } = worldWith();
    await makeConnectHandler(deps)(event('CONNECT', { headers: { 'Sec-WebSocket-Protocol': 'actioncable-v1-json' } }));
    world.clock.onSleep = () => world.transport.open(CONNECTION_ID);

    const [request] = world.delivery.requests;
    expect(await makeDeliverHandler(deps)(request)).toEqual({ kind: 'delivered', attempts: 2 });
    expect(world.transport.framesOf(CONNECTION_ID)).toEqual([{ type: 'welcome' }]);
  });
});

describe('log context', () => {
  test('log context: every line of an event carries its request id and connection id', async () => {
    const { world, deps } = worldWith({ secret: SECRET });
    const connectEvent = event('CONNECT', { headers: { 'Sec-WebSocket-Protocol': 'other' } });
    await makeConnectHandler(deps)({ ...connectEvent, requestContext: { ...connectEvent.requestContext, requestId: 'req-42' } });
    const refused = world.logger.entries.find((e) => e.event === 'connect.refused');
    expect(refused?.fields).toMatchObject({ requestId: 'req-42', connectionId: CONNECTION_ID, reason: 'unsupported_subprotocol' });
  });
});
