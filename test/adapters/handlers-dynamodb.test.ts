import { DynamoConnectionStore } from '../../lambda/adapters/dynamodb/dynamo-connection-store';
import { DynamoSubscriptionStore } from '../../lambda/adapters/dynamodb/dynamo-subscription-store';
import { MemoryTransport } from '../../lambda/adapters/memory/memory-transport';
import { CableConfig, resolveConfig } from '../../lambda/core/config';
import { Clock, DeferredDelivery, DeliveryRequest, Logger } from '../../lambda/core/ports';
import { RpcClient } from '../../lambda/core/rpc-client';
import { signStream } from '../../lambda/core/signed-stream';
import { makeConnectHandler } from '../../lambda/handlers/connect-handler';
import { makeDeliverHandler } from '../../lambda/handlers/deliver-handler';
import { makeDisconnectHandler } from '../../lambda/handlers/disconnect-handler';
import { WebSocketEvent } from '../../lambda/handlers/events';
import { makeMessageHandler } from '../../lambda/handlers/message-handler';
import { ScriptedRpcTransport } from '../core/rpc-support';
import { useDynalite } from '../support/dynalite';

const SECRET = 'turbo-test-secret';
const NOW = 1_700_000_000_000;
const ORIGIN = 'https://app.example';
const DOMAIN = 'abc123.execute-api.us-east-1.amazonaws.com';
const config: CableConfig = resolveConfig({ secret: SECRET, allowedOrigins: [ORIGIN] });
const EXPIRES_AT = Math.floor(NOW / 1000) + config.ttlSeconds;

class RecordingDelivery implements DeferredDelivery {
  readonly requests: DeliveryRequest[] = [];
  async deliverLater(request: DeliveryRequest): Promise<void> {
    this.requests.push(request);
  }
}

const clock: Clock = { now: () => NOW, sleep: async () => undefined };
const logger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

const dynamo = useDynalite();
let tables: { connectionsTable: string; subscriptionsTable: string };
let transport: MemoryTransport;
let delivery: RecordingDelivery;
let handlers: ReturnType<typeof makeHandlers>;

function makeHandlers() {
  const deps = {
    config,
    connections: new DynamoConnectionStore(dynamo.doc, tables.connectionsTable),
    subscriptions: new DynamoSubscriptionStore(dynamo.doc, tables.subscriptionsTable),
    transport,
    delivery,
    clock,
    logger,
  };
  const resolve = async () => deps;
  return {
    connect: makeConnectHandler(resolve),
    message: makeMessageHandler(resolve),
    disconnect: makeDisconnectHandler(resolve),
    deliver: makeDeliverHandler(resolve),
  };
}

beforeEach(async () => {
  tables = await dynamo.createTables('handlers');
  transport = new MemoryTransport();
  delivery = new RecordingDelivery();
  handlers = makeHandlers();
});

/** What API Gateway sends to `$connect`, as a browser's upgrade request produces it. */
function connectEvent(connectionId: string, overrides: { protocol?: string; origin?: string } = {}): WebSocketEvent {
  const headers: Record<string, string> = {
    'Host': DOMAIN,
    'Origin': overrides.origin ?? ORIGIN,
    'Sec-WebSocket-Protocol': overrides.protocol ?? 'actioncable-v1-json, actioncable-unsupported',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    'Cookie': 'session=abc',
  };
  return {
    requestContext: { connectionId, routeKey: '$connect', eventType: 'CONNECT', stage: 'prod', domainName: DOMAIN, apiId: 'abc123', requestId: `req-${connectionId}` },
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: { token: 'user-1' },
    isBase64Encoded: false,
  };
}

function messageEvent(connectionId: string, body: unknown, isBase64Encoded = false): WebSocketEvent {
  return {
    requestContext: { connectionId, routeKey: '$default', eventType: 'MESSAGE', stage: 'prod', domainName: DOMAIN },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded,
  };
}

function disconnectEvent(connectionId: string): WebSocketEvent {
  return {
    requestContext: {
      connectionId,
      routeKey: '$disconnect',
      eventType: 'DISCONNECT',
      stage: 'prod',
      domainName: DOMAIN,
      disconnectStatusCode: 1001,
      disconnectReason: 'Going away',
    },
  };
}

function turboIdentifier(stream: string, key = SECRET): string {
  return JSON.stringify({ channel: 'Turbo::StreamsChannel', signed_stream_name: signStream(stream, key) });
}

async function scan(table: string): Promise<Record<string, unknown>[]> {
  return dynamo.scanAll(table);
}

async function connectionRows() {
  return scan(tables.connectionsTable);
}

/** Subscription rows, sorted for stable comparison. */
async function subscriptionRows() {
  return (await scan(tables.subscriptionsTable)).sort((a, b) => String(a.subscriber).localeCompare(String(b.subscriber)));
}

function subscriptionRow(stream: string, connectionId: string, identifier = turboIdentifier(stream)) {
  return { stream, subscriber: `${connectionId}#${identifier}`, connectionId, identifier, expiresAt: EXPIRES_AT };
}

/** `$connect` followed by API Gateway opening the socket. */
async function open(connectionId: string): Promise<void> {
  expect(await handlers.connect(connectEvent(connectionId))).toMatchObject({ statusCode: 200 });
  transport.open(connectionId);
}

async function subscribe(connectionId: string, identifier: string): Promise<void> {
  expect(await handlers.message(messageEvent(connectionId, { command: 'subscribe', identifier }))).toEqual({ statusCode: 200 });
}

describe('connect', () => {
  test('connect: accepts actioncable-v1-json, writes one connection row and schedules the welcome', async () => {
    const result = await handlers.connect(connectEvent('conn-a'));
    expect(result).toEqual({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'actioncable-v1-json' } });
    expect(await connectionRows()).toEqual([{
      connectionId: 'conn-a',
      connectedAt: NOW,
      expiresAt: EXPIRES_AT,
      subprotocol: 'actioncable-v1-json',
      // Without RPC nothing of the request is kept (docs/stored-data.md).
      headers: {},
      query: {},
      cstate: {},
      channels: {},
    }]);
    expect(await subscriptionRows()).toEqual([]);
    expect(delivery.requests).toEqual([{ connectionId: 'conn-a', frames: ['{"type":"welcome"}'], deadline: NOW + config.deliveryDeadlineMs }]);
    expect(transport.sent.size).toBe(0);
  });

  test('connect: the scheduled delivery sends the welcome once the socket is open', async () => {
    await open('conn-a');
    expect(await handlers.deliver(delivery.requests[0])).toEqual({ kind: 'delivered', attempts: 1 });
    expect(transport.framesOf('conn-a')).toEqual([{ type: 'welcome' }]);
  });

  test('connect: a client that does not offer actioncable-v1-json is refused with 400 and leaves no row', async () => {
    expect(await handlers.connect(connectEvent('conn-a', { protocol: 'graphql-ws' }))).toMatchObject({ statusCode: 400 });
    expect(await connectionRows()).toEqual([]);
    expect(delivery.requests).toEqual([]);
  });

  test('connect: a foreign Origin is refused with 403 and leaves no row', async () => {
    expect(await handlers.connect(connectEvent('conn-a', { origin: 'https://evil.example' }))).toMatchObject({ statusCode: 403 });
    expect(await connectionRows()).toEqual([]);
    expect(delivery.requests).toEqual([]);
  });
});

describe('subscribe', () => {
  test('subscribe: a Turbo stream signed with the secret writes one row and confirms', async () => {
    await open('conn-a');
    const identifier = turboIdentifier('rooms:1');
    await subscribe('conn-a', identifier);
    expect(transport.framesOf('conn-a')).toEqual([{ type: 'confirm_subscription', identifier }]);
    expect(await subscriptionRows()).toEqual([subscriptionRow('rooms:1', 'conn-a')]);
    const page = await new DynamoSubscriptionStore(dynamo.doc, tables.subscriptionsTable).listByStream('rooms:1');
    expect(page.items).toEqual([{ stream: 'rooms:1', connectionId: 'conn-a', identifier, expiresAt: EXPIRES_AT }]);
  });

  test('subscribe: repeated and concurrent subscribes confirm every copy and keep one row', async () => {
    await open('conn-a');
    const identifier = turboIdentifier('rooms:1');
    await subscribe('conn-a', identifier);
    await subscribe('conn-a', identifier);
    await Promise.all([subscribe('conn-a', identifier), subscribe('conn-a', identifier), subscribe('conn-a', identifier)]);
    expect(transport.framesOf('conn-a')).toEqual(Array(5).fill({ type: 'confirm_subscription', identifier }));
    expect(await subscriptionRows()).toEqual([subscriptionRow('rooms:1', 'conn-a')]);
  });

  test('subscribe: a stream signed with another key is rejected and writes no row', async () => {
    await open('conn-a');
    const identifier = turboIdentifier('rooms:1', 'wrong-secret');
    await subscribe('conn-a', identifier);
    expect(transport.framesOf('conn-a')).toEqual([{ type: 'reject_subscription', identifier }]);
    expect(await subscriptionRows()).toEqual([]);
  });

  test('subscribe: a binary frame disconnects with invalid_request, closes, and writes no row', async () => {
    await open('conn-a');
    const body = Buffer.from(JSON.stringify({ command: 'subscribe', identifier: turboIdentifier('rooms:1') })).toString('base64');
    expect(await handlers.message(messageEvent('conn-a', body, true))).toEqual({ statusCode: 200 });
    expect(transport.framesOf('conn-a')).toEqual([{ type: 'disconnect', reason: 'invalid_request', reconnect: false }]);
    expect(transport.closed.has('conn-a')).toBe(true);
    expect(await subscriptionRows()).toEqual([]);
  });
});

describe('unsubscribe', () => {
  test('unsubscribe: removes only that subscription of that connection and sends nothing', async () => {
    await open('conn-a');
    await open('conn-b');
    await subscribe('conn-a', turboIdentifier('rooms:1'));
    await subscribe('conn-a', turboIdentifier('rooms:2'));
    await subscribe('conn-b', turboIdentifier('rooms:1'));
    const framesBefore = transport.framesOf('conn-a').length;

    const result = await handlers.message(messageEvent('conn-a', { command: 'unsubscribe', identifier: turboIdentifier('rooms:1') }));
    expect(result).toEqual({ statusCode: 200 });
    expect(transport.framesOf('conn-a')).toHaveLength(framesBefore);
    expect(await subscriptionRows()).toEqual([subscriptionRow('rooms:2', 'conn-a'), subscriptionRow('rooms:1', 'conn-b')]);
    expect(await connectionRows()).toHaveLength(2);
  });

  test('unsubscribe: an identifier never subscribed changes nothing', async () => {
    await open('conn-a');
    await subscribe('conn-a', turboIdentifier('rooms:1'));
    await handlers.message(messageEvent('conn-a', { command: 'unsubscribe', identifier: turboIdentifier('rooms:9') }));
    expect(await subscriptionRows()).toEqual([subscriptionRow('rooms:1', 'conn-a')]);
  });
});

describe('disconnect', () => {
  test('disconnect: removes the connection row and all its subscriptions, and leaves other connections', async () => {
    await open('conn-a');
    await open('conn-b');
    await subscribe('conn-a', turboIdentifier('rooms:1'));
    await subscribe('conn-a', turboIdentifier('rooms:2'));
    await subscribe('conn-b', turboIdentifier('rooms:1'));

    expect(await handlers.disconnect(disconnectEvent('conn-a'))).toEqual({ statusCode: 200 });
    expect((await connectionRows()).map((row) => row.connectionId)).toEqual(['conn-b']);
    expect(await subscriptionRows()).toEqual([subscriptionRow('rooms:1', 'conn-b')]);
  });

  test('disconnect: a connection that never subscribed (or is already gone) is removed without error', async () => {
    await open('conn-a');
    expect(await handlers.disconnect(disconnectEvent('conn-a'))).toEqual({ statusCode: 200 });
    expect(await handlers.disconnect(disconnectEvent('conn-a'))).toEqual({ statusCode: 200 });
    expect(await connectionRows()).toEqual([]);
  });
});

describe('app channels (RPC) on DynamoDB', () => {
  /** The `$default` handler with the app behind a scripted RPC peer; `$connect` stays the plain one. */
  function messageWithApp(peer: ScriptedRpcTransport) {
    return makeMessageHandler(async () => ({
      config,
      connections: new DynamoConnectionStore(dynamo.doc, tables.connectionsTable),
      subscriptions: new DynamoSubscriptionStore(dynamo.doc, tables.subscriptionsTable),
      transport,
      clock,
      logger,
      rpc: new RpcClient(peer),
    }));
  }

  // The stored channels map is a plain object: a lookup by identifier must not find its prototype's members.
  test.each(['constructor', 'toString', '__proto__'])('subscribe: identifier %p is not confirmed without the app', async (identifier) => {
    await open('conn-a');
    const peer = new ScriptedRpcTransport().answer({ status: 2, transmissions: [] });
    await messageWithApp(peer)(messageEvent('conn-a', { command: 'subscribe', identifier }));
    expect(transport.framesOf('conn-a')).not.toContainEqual(expect.objectContaining({ type: 'confirm_subscription' }));
  });

  test.each(['constructor', 'toString', '__proto__'])('message: identifier %p, never subscribed, is not sent to the app', async (identifier) => {
    await open('conn-a');
    const peer = new ScriptedRpcTransport();
    await messageWithApp(peer)(messageEvent('conn-a', { command: 'message', identifier, data: '{"action":"speak"}' }));
    expect(peer.calls).toEqual([]);
  });
});
