import {
  activeSupportJson, RAILS_BROADCAST_KEY, RAILS_SECRET, railsBody, railsBroadcastKey, railsHeaders, railsPublication,
  TURBO_APPEND_HTML, TURBO_STREAM_NAME,
} from './anycable-rails-request';
import { Behaviour, connectionIds, DATA, expectedFrame, fanOutWorld, PUBSUB_ID, RecordingDispatcher, ROOM, TURBO_ID } from './broadcast-support';
import { BroadcastHttpDeps, BroadcastHttpRequest, handleBroadcastHttp } from '../../lambda/core/broadcast-http';
import { resolveConfig } from '../../lambda/core/config';
import { SubscriptionStore } from '../../lambda/core/ports';

const KEY = RAILS_BROADCAST_KEY;

async function setup(options: {
  ids?: string[];
  script?: Record<string, Behaviour>;
  shardSize?: number;
  broadcastKey?: string | null;
  publicBroadcasts?: boolean;
  shards?: RecordingDispatcher;
  subscriptions?: (inner: SubscriptionStore) => SubscriptionStore;
} = {}) {
  const world = await fanOutWorld({ ids: options.ids ?? connectionIds(4), script: options.script, delivery: { shardSize: options.shardSize } });
  const config = resolveConfig({ secret: RAILS_SECRET, delivery: { shardSize: options.shardSize } });
  const shards = options.shards ?? new RecordingDispatcher();
  const deps: BroadcastHttpDeps = {
    ...world.deps,
    subscriptions: options.subscriptions ? options.subscriptions(world.subscriptions) : world.subscriptions,
    config: { ...config, broadcastKey: options.broadcastKey === null ? undefined : options.broadcastKey ?? config.broadcastKey },
    shards,
    publicBroadcasts: options.publicBroadcasts,
  };
  return { world, deps, shards };
}

function post(body: string, headers: Record<string, string> = { authorization: `Bearer ${KEY}` }, path = '/_broadcast'): BroadcastHttpRequest {
  return { method: 'POST', path, headers, body };
}

const ONE = JSON.stringify({ stream: ROOM, data: DATA });

describe('handleBroadcastHttp: routing', () => {
  test('path: anything but /_broadcast is 404', async () => {
    const { deps } = await setup();
    const response = await handleBroadcastHttp(deps, post(ONE, undefined, '/broadcast'));
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body)).toEqual({ message: 'no route for POST /broadcast' });
  });

  test.each(['GET', 'PUT', 'DELETE', 'OPTIONS'])('method: %s /_broadcast is 405 with Allow: POST', async (method) => {
    const { deps, world } = await setup();
    const response = await handleBroadcastHttp(deps, { ...post(ONE), method });
    expect(response).toEqual({ status: 405, body: expect.stringMatching(/POST \/_broadcast/), headers: expect.objectContaining({ Allow: 'POST' }) });
    expect(world.scripted.sent.size).toBe(0);
  });
});

describe('handleBroadcastHttp: authorization', () => {
  test.each<{ name: string; headers: Record<string, string>; broadcastKey?: string | null; publicBroadcasts?: boolean; status: number }>([
    { name: 'right key (derived from the secret): 201', headers: { authorization: `Bearer ${KEY}` }, status: 201 },
    { name: 'header name in any case: 201', headers: { AUTHORIZATION: `Bearer ${KEY}` }, status: 201 },
    { name: 'missing header: 401', headers: {}, status: 401 },
    { name: 'wrong key: 401', headers: { authorization: 'Bearer guess' }, status: 401 },
    { name: 'the secret itself instead of the derived key: 401', headers: { authorization: `Bearer ${RAILS_SECRET}` }, status: 401 },
    { name: 'explicit key set: the derived one no longer works, 401', headers: { authorization: `Bearer ${KEY}` }, broadcastKey: 'explicit', status: 401 },
    { name: 'explicit key set: 201 with it', headers: { authorization: 'Bearer explicit' }, broadcastKey: 'explicit', status: 201 },
    { name: 'no key configured: 401 whatever is sent', headers: { authorization: 'Bearer ' }, broadcastKey: null, status: 401 },
    { name: 'public: 201 without a key', headers: {}, broadcastKey: null, publicBroadcasts: true, status: 201 },
  ])('$name', async ({ headers, broadcastKey, publicBroadcasts, status }) => {
    const { deps, world } = await setup({ broadcastKey, publicBroadcasts });
    const response = await handleBroadcastHttp(deps, post(ONE, headers));
    expect(response.status).toBe(status);
    expect(world.scripted.sent.size).toBe(status === 201 ? 4 : 0);
    if (status === 401) {
      expect(response.headers).toMatchObject({ 'WWW-Authenticate': expect.stringMatching(/^Bearer/) });
      expect(world.logger.events()).toEqual(['broadcast.unauthorized']);
    }
  });

  test('401 comes before the body is looked at: a bad body with a wrong key is 401, not 400', async () => {
    const { deps } = await setup();
    expect((await handleBroadcastHttp(deps, post('not json', { authorization: 'Bearer no' }))).status).toBe(401);
  });

  test('no key configured: the message says so', async () => {
    const { deps } = await setup({ broadcastKey: null });
    const response = await handleBroadcastHttp(deps, post(ONE));
    expect(JSON.parse(response.body)).toEqual({ message: expect.stringMatching(/no broadcast key is configured/) });
  });
});

describe('handleBroadcastHttp: bodies', () => {
  test.each<{ name: string; body: string; status: number; message: RegExp }>([
    { name: 'not JSON', body: '{stream: chat}', status: 400, message: /not JSON/ },
    { name: 'no stream', body: JSON.stringify({ data: DATA }), status: 400, message: /"stream"/ },
    { name: 'data not a string', body: JSON.stringify({ stream: ROOM, data: { html: '<p>' } }), status: 400, message: /"data" must be a string/ },
    { name: 'data not JSON', body: JSON.stringify({ stream: ROOM, data: '<p>hi</p>' }), status: 400, message: /valid JSON/ },
    { name: 'empty array', body: '[]', status: 400, message: /empty array/ },
    { name: 'over 128 KB', body: JSON.stringify({ stream: ROOM, data: JSON.stringify('x'.repeat(140_000)) }), status: 413, message: /too large/ },
  ])('$name: $status with a message, nothing sent', async ({ body, status, message }) => {
    const { deps, world } = await setup();
    const response = await handleBroadcastHttp(deps, post(body));
    expect(response.status).toBe(status);
    expect(JSON.parse(response.body)).toEqual({ message: expect.stringMatching(message) });
    expect(response.headers).toMatchObject({ 'Content-Type': 'application/json' });
    expect(world.scripted.sent.size).toBe(0);
  });

  test('400: logged as broadcast.invalid with the status, the message and the body\'s size', async () => {
    const { deps, world } = await setup();
    const body = JSON.stringify({ stream: ROOM, data: 'café' });
    const response = await handleBroadcastHttp(deps, post(body));
    expect(world.logger.entries).toEqual([{
      level: 'warn',
      event: 'broadcast.invalid',
      fields: { status: 400, message: JSON.parse(response.body).message, bytes: Buffer.byteLength(body) },
    }]);
    expect(Buffer.byteLength(body)).toBe(body.length + 1);
  });

  test('201: the body counts what happened', async () => {
    const { deps } = await setup({ script: { c001: 'gone', c002: 'permanent' } });
    const response = await handleBroadcastHttp(deps, post(ONE));
    expect(response.status).toBe(201);
    expect(JSON.parse(response.body)).toEqual({
      broadcasts: 1, subscribers: 4, delivered: 2, gone: 1, failed: 1, excluded: 0, shards: 0, failedShards: 0, errors: 0,
    });
  });

  test('batch: every broadcast is delivered, in order', async () => {
    const { deps, world } = await setup({ ids: connectionIds(2) });
    await world.subscriptions.add({ stream: 'lobby', connectionId: 'c000', identifier: '{"channel":"Lobby"}', expiresAt: 0 });
    const body = JSON.stringify([{ stream: ROOM, data: '"first"' }, { stream: 'lobby', data: '"second"' }, { stream: ROOM, data: '"third"' }]);

    expect((await handleBroadcastHttp(deps, post(body))).status).toBe(201);

    expect(world.scripted.decoded()).toEqual({
      c000: [expectedFrame(TURBO_ID, '"first"'), { identifier: '{"channel":"Lobby"}', message: 'second' }, expectedFrame(TURBO_ID, '"third"')],
      c001: [expectedFrame(PUBSUB_ID, '"first"'), expectedFrame(PUBSUB_ID, '"third"')],
    });
  });

  test('sharded: 201 once the shards are dispatched, before anything is sent', async () => {
    const { deps, world, shards } = await setup({ ids: connectionIds(7), shardSize: 3 });
    const response = await handleBroadcastHttp(deps, post(ONE));
    expect(response.status).toBe(201);
    expect(JSON.parse(response.body)).toMatchObject({ subscribers: 7, shards: 3, failedShards: 0 });
    expect(shards.shards.map((s) => s.limit)).toEqual([3, 3, 1]);
    expect(world.scripted.sent.size).toBe(0);
  });

  test('500: a shard that could not be dispatched', async () => {
    const { deps } = await setup({ ids: connectionIds(7), shardSize: 3, shards: new RecordingDispatcher((_s, i) => i === 2) });
    const response = await handleBroadcastHttp(deps, post(ONE));
    expect(response.status).toBe(500);
    expect(JSON.parse(response.body)).toMatchObject({ message: expect.stringMatching(/1 shards could not be dispatched/), failedShards: 1 });
  });

  test('500: a store failure on one stream of a batch; the other streams are still delivered', async () => {
    const { deps, world } = await setup({
      ids: connectionIds(2),
      subscriptions: (inner) => Object.assign(Object.create(inner) as SubscriptionStore, {
        listByStream: async (stream: string, cursor?: string, limit?: number) => {
          if (stream === 'broken') throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
          return inner.listByStream(stream, cursor, limit);
        },
      }),
    });
    const body = JSON.stringify([{ stream: 'broken', data: '1' }, { stream: ROOM, data: '2' }]);

    const response = await handleBroadcastHttp(deps, post(body));

    expect(response.status).toBe(500);
    expect(JSON.parse(response.body)).toMatchObject({ errors: 1, delivered: 2 });
    expect(world.scripted.sent.size).toBe(2);
    expect(world.logger.at('error')).toEqual([{
      level: 'error', event: 'broadcast.failed', fields: { stream: 'broken', error: expect.objectContaining({ name: 'ThrottlingException' }) },
    }]);
  });

  test('201: a subscriber left out by meta.exclude_socket is counted as excluded', async () => {
    const { deps, world } = await setup({ ids: connectionIds(3) });
    const response = await handleBroadcastHttp(deps, post(JSON.stringify({ stream: ROOM, data: DATA, meta: { exclude_socket: 'c001' } })));
    expect(JSON.parse(response.body)).toEqual({
      broadcasts: 1, subscribers: 3, delivered: 2, gone: 0, failed: 0, excluded: 1, shards: 0, failedShards: 0, errors: 0,
    });
    expect([...world.scripted.sent.keys()].sort()).toEqual(['c000', 'c002']);
  });
});

describe('handleBroadcastHttp: the remote disconnect command', () => {
  const COMMAND = JSON.stringify({ command: 'disconnect', payload: { identifier: '{"user":"ann"}' } });

  test('500 with a message when the connections could not be looked up; the failure is logged with its error', async () => {
    const { deps, world } = await setup();
    const failure = Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    const response = await handleBroadcastHttp({
      ...deps,
      connections: Object.assign(Object.create(world.connections) as typeof world.connections, { findByIdentifiers: async () => { throw failure; } }),
    }, post(COMMAND));

    expect(response.status).toBe(500);
    expect(JSON.parse(response.body)).toEqual({ message: 'the connections to disconnect could not be looked up; see the logs' });
    expect(world.logger.entries).toEqual([{ level: 'error', event: 'remote_disconnect.failed_lookup', fields: { error: failure } }]);
    expect(world.scripted.sent.size).toBe(0);
  });
});

describe('handleBroadcastHttp: the request anycable-rails sends', () => {
  test('anycable-rails: Turbo broadcast_append_to with the key derived from the secret is delivered as the HTML', async () => {
    const { deps, world } = await setup({ ids: [] });
    await world.subscriptions.add({ stream: TURBO_STREAM_NAME, connectionId: 'browser', identifier: TURBO_ID, expiresAt: 0 });
    const body = railsBody(railsPublication(TURBO_STREAM_NAME, TURBO_APPEND_HTML));
    // What the adapter puts on the wire, spelled out: JSON inside JSON, HTML entities escaped.
    expect(body).toBe(`{"stream":"${TURBO_STREAM_NAME}","data":"\\"\\\\u003cturbo-stream action=\\\\\\"append\\\\\\" target=\\\\\\"messages\\\\\\"\\\\u003e`
      + '\\\\u003ctemplate\\\\u003e\\\\u003cdiv id=\\\\\\"message_7\\\\\\"\\\\u003eHi \\\\u0026 welcome\\\\u003c/div\\\\u003e\\\\u003c/template\\\\u003e'
      + '\\\\u003c/turbo-stream\\\\u003e\\""}');

    const response = await handleBroadcastHttp(deps, post(body, railsHeaders(railsBroadcastKey(RAILS_SECRET))));

    expect(response.status).toBe(201);
    expect(world.scripted.decoded()).toEqual({ browser: [{ identifier: TURBO_ID, message: TURBO_APPEND_HTML }] });
  });

  test('anycable-rails: a batch (batch_broadcasts) is one array, with meta when options were given', async () => {
    const { deps, world } = await setup({ ids: connectionIds(3) });
    const body = railsBody([
      railsPublication(ROOM, { action: 'created', id: 1 }),
      railsPublication(ROOM, TURBO_APPEND_HTML, { exclude_socket: 'c001' }),
    ]);

    const response = await handleBroadcastHttp(deps, post(body, railsHeaders(KEY)));

    expect(response.status).toBe(201);
    const sent = world.scripted.decoded();
    expect(sent.c000).toEqual([{ identifier: TURBO_ID, message: { action: 'created', id: 1 } }, { identifier: TURBO_ID, message: TURBO_APPEND_HTML }]);
    expect(sent.c001).toEqual([{ identifier: PUBSUB_ID, message: { action: 'created', id: 1 } }]);
    expect(sent.c002).toHaveLength(2);
  });

  test('anycable-rails: ActionCable.server.broadcast of a hash keeps Rails\' encoding in the frame', async () => {
    const { deps, world } = await setup({ ids: ['c000'] });
    const data = activeSupportJson({ html: '<b>&</b>' });
    await handleBroadcastHttp(deps, post(JSON.stringify({ stream: ROOM, data }), railsHeaders(KEY)));
    expect(world.scripted.sent.get('c000')).toEqual([`{"identifier":${JSON.stringify(TURBO_ID)},"message":{"html":"\\u003cb\\u003e\\u0026\\u003c/b\\u003e"}}`]);
  });
});
