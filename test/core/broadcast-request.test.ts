import {
  RAILS_BROADCAST_KEY, RAILS_SECRET, railsBody, railsBroadcastKey, railsPublication, TURBO_APPEND_HTML, TURBO_STREAM_NAME,
} from './anycable-rails-request';
import { broadcastFrame } from '../../lambda/core/broadcast-frame';
import { authorizeBroadcast, BroadcastRequest, parseBroadcastRequest } from '../../lambda/core/broadcast-request';
import { deriveKey } from '../../lambda/core/config';
import { MAX_MESSAGE_BYTES } from '../../lambda/core/protocol';

const json = (value: unknown) => JSON.stringify(value);

describe('parseBroadcastRequest: accepted', () => {
  test.each<{ name: string; body: string; expected: BroadcastRequest }>([
    {
      name: 'single: {"stream","data"} becomes one broadcast, data kept verbatim',
      body: json({ stream: 'chat', data: '{"text":"hi"}' }),
      expected: { kind: 'broadcasts', broadcasts: [{ stream: 'chat', data: '{"text":"hi"}' }] },
    },
    {
      name: 'meta.exclude_socket: honored as excludeConnectionId',
      body: json({ stream: 'chat', data: '"x"', meta: { exclude_socket: 'Ab12=' } }),
      expected: { kind: 'broadcasts', broadcasts: [{ stream: 'chat', data: '"x"', excludeConnectionId: 'Ab12=' }] },
    },
    {
      name: 'meta.transient kept (no history, no offset); meta.broadcast_type and unknown keys accepted and ignored',
      body: json({ stream: 'chat', data: '1', meta: { transient: true, broadcast_type: 'presence', to_others: 1 } }),
      expected: { kind: 'broadcasts', broadcasts: [{ stream: 'chat', data: '1', transient: true }] },
    },
    {
      name: 'meta: null, and an empty exclude_socket, mean no meta',
      body: json([{ stream: 'a', data: '1', meta: null }, { stream: 'b', data: '2', meta: { exclude_socket: '' } }]),
      expected: { kind: 'broadcasts', broadcasts: [{ stream: 'a', data: '1' }, { stream: 'b', data: '2' }] },
    },
    {
      name: 'batch: an array becomes broadcasts in its order',
      body: json([{ stream: 'b', data: '"2"' }, { stream: 'a', data: '"1"' }]),
      expected: { kind: 'broadcasts', broadcasts: [{ stream: 'b', data: '"2"' }, { stream: 'a', data: '"1"' }] },
    },
    {
      name: 'data: any JSON value, null included (Rails broadcasts nil as "null")',
      body: json([{ stream: 'a', data: 'null' }, { stream: 'a', data: ' [1, {"b": false}] ' }]),
      expected: { kind: 'broadcasts', broadcasts: [{ stream: 'a', data: 'null' }, { stream: 'a', data: ' [1, {"b": false}] ' }] },
    },
    {
      name: 'meta: null values are absent values (Go leaves a field unset on null)',
      body: json({ stream: 'chat', data: '1', meta: { exclude_socket: null, transient: null, broadcast_type: null } }),
      expected: { kind: 'broadcasts', broadcasts: [{ stream: 'chat', data: '1' }] },
    },
    {
      name: 'a body with both a stream and a command is a publication (anycable-go tries StreamMessage first)',
      body: json({ stream: 'chat', data: '1', command: 'disconnect', payload: { identifier: '{"user":"ann"}' } }),
      expected: { kind: 'broadcasts', broadcasts: [{ stream: 'chat', data: '1' }] },
    },
    {
      name: 'command: disconnect with "reconnect": null reconnects as when it is absent (false)',
      body: json({ command: 'disconnect', payload: { identifier: '{"user":"ann"}', reconnect: null } }),
      expected: { kind: 'command', command: { command: 'disconnect', identifier: '{"user":"ann"}', reconnect: false } },
    },
    {
      name: 'command: disconnect is recognized and returned, reconnect defaulting to false',
      body: json({ command: 'disconnect', payload: { identifier: '{"current_user":"gid://app/User/1"}' } }),
      expected: { kind: 'command', command: { command: 'disconnect', identifier: '{"current_user":"gid://app/User/1"}', reconnect: false } },
    },
    {
      name: 'anycable-rails: a Turbo broadcast_append_to, data the JSON encoding of the HTML string',
      body: railsBody(railsPublication(TURBO_STREAM_NAME, TURBO_APPEND_HTML)),
      expected: { kind: 'broadcasts', broadcasts: [{ stream: TURBO_STREAM_NAME, data: railsPublication(TURBO_STREAM_NAME, TURBO_APPEND_HTML).data as string }] },
    },
  ])('$name', ({ body, expected }) => {
    expect(parseBroadcastRequest(body)).toEqual(expected);
  });

  test('anycable-rails: the frame built from a Rails publication decodes to the HTML the app rendered', () => {
    const parsed = parseBroadcastRequest(railsBody(railsPublication(TURBO_STREAM_NAME, TURBO_APPEND_HTML)));
    if (parsed.kind !== 'broadcasts') throw new Error(`expected broadcasts, got ${parsed.kind}`);
    const [broadcast] = parsed.broadcasts;
    // Rails escapes <, > and & in JSON, and the frame keeps that encoding.
    expect(broadcast.data).toMatch(/^"\\u003cturbo-stream /);
    expect(JSON.parse(broadcastFrame('{"channel":"Turbo::StreamsChannel"}', broadcast.data))).toEqual({
      identifier: '{"channel":"Turbo::StreamsChannel"}',
      message: TURBO_APPEND_HTML,
    });
  });
});

describe('parseBroadcastRequest: refused', () => {
  const big = JSON.stringify('x'.repeat(MAX_MESSAGE_BYTES));
  test.each<{ name: string; body: string; status: 400 | 413; message: RegExp }>([
    { name: 'empty body', body: '', status: 400, message: /body is empty/ },
    { name: 'blank body', body: '  \n', status: 400, message: /body is empty/ },
    { name: 'not JSON', body: 'stream=chat&data=hi', status: 400, message: /not JSON/ },
    { name: 'JSON but not an object or array', body: '"chat"', status: 400, message: /must be a JSON object .* got string/ },
    { name: 'JSON null', body: 'null', status: 400, message: /must be a JSON object .* got null$/ },
    { name: 'data an array, not a string', body: json({ stream: 'chat', data: ['hi'] }), status: 400, message: /"data" must be a string .* got an array$/ },
    { name: 'no stream', body: json({ data: '"x"' }), status: 400, message: /"stream" must be a non-empty string, got nothing/ },
    { name: 'empty stream', body: json({ stream: '', data: '"x"' }), status: 400, message: /"stream" must be a non-empty string/ },
    { name: 'stream not a string', body: json({ stream: 7, data: '"x"' }), status: 400, message: /"stream" .* got number/ },
    { name: 'no data', body: json({ stream: 'chat' }), status: 400, message: /"data" must be a string .* got nothing/ },
    { name: 'data an object, not a string', body: json({ stream: 'chat', data: { text: 'hi' } }), status: 400, message: /"data" must be a string .* got object/ },
    { name: 'data not JSON', body: json({ stream: 'chat', data: '<p>hi</p>' }), status: 400, message: /"data" must hold valid JSON/ },
    { name: 'meta not an object', body: json({ stream: 'chat', data: '1', meta: 'x' }), status: 400, message: /"meta" must be an object/ },
    { name: 'meta.exclude_socket not a string', body: json({ stream: 'c', data: '1', meta: { exclude_socket: 1 } }), status: 400, message: /meta.exclude_socket/ },
    { name: 'meta.transient not a boolean', body: json({ stream: 'c', data: '1', meta: { transient: 'yes' } }), status: 400, message: /meta.transient" must be a boolean/ },
    { name: 'empty array', body: '[]', status: 400, message: /empty array/ },
    { name: 'batch: a bad element refuses the whole batch, named by index', body: json([{ stream: 'a', data: '1' }, { stream: 'b' }]), status: 400, message: /^\[1\]: "data"/ },
    { name: 'batch: an element that is not an object', body: json([{ stream: 'a', data: '1' }, 'b']), status: 400, message: /^\[1\]: must be an object/ },
    { name: 'batch: a command inside an array', body: json([{ command: 'disconnect', payload: {} }]), status: 400, message: /^\[0\]: "stream"/ },
    { name: 'unknown command', body: json({ command: 'reload', payload: {} }), status: 400, message: /unknown command "reload"/ },
    { name: 'disconnect without an identifier', body: json({ command: 'disconnect', payload: {} }), status: 400, message: /"identifier"/ },
    { name: 'disconnect with a non-boolean reconnect', body: json({ command: 'disconnect', payload: { identifier: 'x', reconnect: 'y' } }), status: 400, message: /reconnect/ },
    { name: '413: a message whose smallest frame is over 128 KB', body: json({ stream: 'chat', data: big }), status: 413, message: /over the 131072-byte/ },
    { name: '413: in a batch', body: json([{ stream: 'a', data: '1' }, { stream: 'chat', data: big }]), status: 413, message: /^\[1\]: the message is too large/ },
  ])('$name: $status', ({ body, status, message }) => {
    const parsed = parseBroadcastRequest(body);
    expect(parsed).toEqual({ kind: 'invalid', status, message: expect.stringMatching(message) });
  });

  test('413: the largest message that fits is accepted', () => {
    const overhead = broadcastFrame('', '""').length;
    const fits = JSON.stringify('x'.repeat(MAX_MESSAGE_BYTES - overhead));
    expect(parseBroadcastRequest(json({ stream: 'chat', data: fits })).kind).toBe('broadcasts');
    expect(parseBroadcastRequest(json({ stream: 'chat', data: JSON.stringify('x'.repeat(MAX_MESSAGE_BYTES - overhead + 1)) })).kind).toBe('invalid');
  });
});

describe('authorizeBroadcast', () => {
  const KEY = 'k3y';
  test.each<{ name: string; header: string | undefined; key: string | undefined; ok: boolean; reason?: RegExp }>([
    { name: 'right key', header: 'Bearer k3y', key: KEY, ok: true },
    { name: 'missing header', header: undefined, key: KEY, ok: false, reason: /missing "Authorization: Bearer/ },
    { name: 'empty header', header: '', key: KEY, ok: false, reason: /missing/ },
    { name: 'wrong key', header: 'Bearer nope', key: KEY, ok: false, reason: /wrong broadcast key/ },
    { name: 'a longer key with the right prefix', header: 'Bearer k3y0', key: KEY, ok: false, reason: /wrong/ },
    { name: 'scheme case differs (anycable-go compares exactly)', header: 'bearer k3y', key: KEY, ok: false, reason: /wrong/ },
    { name: 'two spaces', header: 'Bearer  k3y', key: KEY, ok: false, reason: /wrong/ },
    { name: 'the key alone, no scheme', header: 'k3y', key: KEY, ok: false, reason: /wrong/ },
    { name: 'no key configured: refused even with a header', header: 'Bearer ', key: undefined, ok: false, reason: /no broadcast key is configured/ },
    { name: 'empty key configured: refused', header: 'Bearer ', key: '', ok: false, reason: /no broadcast key is configured/ },
  ])('$name', ({ header, key, ok, reason }) => {
    const result = authorizeBroadcast(header, key);
    expect(result).toEqual(ok ? { ok: true } : { ok: false, reason: expect.stringMatching(reason!) });
  });

  test('anycable-rails: the key it derives from the secret is the one resolveConfig derives', () => {
    expect(railsBroadcastKey(RAILS_SECRET)).toBe(RAILS_BROADCAST_KEY);
    expect(deriveKey(RAILS_SECRET, 'broadcast-cable')).toBe(RAILS_BROADCAST_KEY);
    expect(authorizeBroadcast(`Bearer ${railsBroadcastKey(RAILS_SECRET)}`, deriveKey(RAILS_SECRET, 'broadcast-cable'))).toEqual({ ok: true });
  });
});
