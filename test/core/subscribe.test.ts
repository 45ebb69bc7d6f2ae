import { createHmac } from 'node:crypto';
import {
  CONNECTION_ID, expectValidFrames, makeWorld, openConnections, pubsubIdentifier, rows, SECRET, send, START_MS,
  subscribeCommand, turboIdentifier,
} from './support';
import { MAX_IDENTIFIER_BYTES } from '../../lambda/core/channels';
import { CableSettings } from '../../lambda/core/config';
import { handleMessage } from '../../lambda/core/message';
import { MAX_MESSAGE_BYTES, ServerFrame } from '../../lambda/core/protocol';
import { signStream } from '../../lambda/core/signed-stream';

const OTHER_KEY = 'some-other-key';
const TURBO_KEY = 'turbo-streams-key';
const STREAMS_KEY = 'streams-key';

/** Signs the URL-safe base64 text of a name, as AnyCable's Ruby signer does. */
function signUrlSafe(name: string, key: string, padding = true): string {
  let data = Buffer.from(JSON.stringify(name), 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
  if (!padding) data = data.replace(/=+$/, '');
  return `${data}--${createHmac('sha256', key).update(data).digest('hex')}`;
}

function confirm(identifier: string): ServerFrame {
  return { type: 'confirm_subscription', identifier };
}

function reject(identifier: string): ServerFrame {
  return { type: 'reject_subscription', identifier };
}

const ROOM = 'room:1';
const TURBO_ROOM = turboIdentifier(signStream(ROOM, SECRET));
/** Key order and spacing differ from JSON.stringify: the identifier must come back byte for byte. */
const TURBO_ROOM_SPACED = `{ "signed_stream_name" : "${signStream(ROOM, SECRET)}", "channel": "Turbo::StreamsChannel" }`;
const FORGED = (() => {
  const [data] = signStream('admin', SECRET).split('--');
  const [, digest] = signStream(ROOM, SECRET).split('--');
  return turboIdentifier(`${data}--${digest}`);
})();
const TAMPERED_DIGEST = (() => {
  const signed = signStream(ROOM, SECRET);
  const last = signed.endsWith('0') ? '1' : '0';
  return turboIdentifier(signed.slice(0, -1) + last);
})();
const OTHER_KEY_ROOM = turboIdentifier(signStream(ROOM, OTHER_KEY));
/** Both names encode to standard base64 with `+` or `/` (checked below). */
const PLUS_NAME = 'stream?>';
const SLASH_NAME = 'rooms/1?>';
const NON_ASCII = 'café/日本';
/** From Ruby: ActiveSupport::MessageVerifier.new(SECRET, digest: "SHA256", serializer: JSON).generate("café/日本"). */
const RAILS_SIGNED_NON_ASCII = 'ImNhZsOpL+aXpeacrCI=--0e1d6a221988996f13956e96e5c883290472156f2b482a37cd88eb9e740fc8bf';

interface SubscribeCase {
  readonly name: string;
  readonly settings?: CableSettings;
  /** Command bodies sent in order on CONNECTION_ID. */
  readonly in: string[];
  /** Every frame sent back, in order. */
  readonly out: ServerFrame[];
  /** The subscription rows afterwards. */
  readonly rows: { stream: string; identifier: string }[];
  /** The reason logged for a rejection. */
  readonly reason?: string;
}

function identifierOfBytes(bytes: number, signed: string): string {
  const base = JSON.stringify({ channel: 'Turbo::StreamsChannel', signed_stream_name: signed, pad: '' });
  return JSON.stringify({ channel: 'Turbo::StreamsChannel', signed_stream_name: signed, pad: 'x'.repeat(bytes - Buffer.byteLength(base)) });
}

const AT_LIMIT = identifierOfBytes(MAX_IDENTIFIER_BYTES, signStream(ROOM, SECRET));
const OVER_LIMIT = identifierOfBytes(MAX_IDENTIFIER_BYTES + 1, signStream(ROOM, SECRET));

const cases: SubscribeCase[] = [
  // Turbo::StreamsChannel
  {
    name: 'Turbo::StreamsChannel: a valid signed_stream_name is confirmed with the identifier verbatim',
    in: [subscribeCommand(TURBO_ROOM)],
    out: [confirm(TURBO_ROOM)],
    rows: [{ stream: ROOM, identifier: TURBO_ROOM }],
  },
  {
    name: 'Turbo::StreamsChannel: an identifier with other key order and spacing is echoed byte for byte',
    in: [subscribeCommand(TURBO_ROOM_SPACED)],
    out: [confirm(TURBO_ROOM_SPACED)],
    rows: [{ stream: ROOM, identifier: TURBO_ROOM_SPACED }],
  },
  {
    name: 'Turbo::StreamsChannel: a forged signature (another name\'s digest) is rejected',
    in: [subscribeCommand(FORGED)],
    out: [reject(FORGED)],
    rows: [],
    reason: 'invalid_signature',
  },
  {
    name: 'Turbo::StreamsChannel: a tampered digest is rejected',
    in: [subscribeCommand(TAMPERED_DIGEST)],
    out: [reject(TAMPERED_DIGEST)],
    rows: [],
    reason: 'invalid_signature',
  },
  {
    name: 'Turbo::StreamsChannel: a name signed with another key is rejected',
    in: [subscribeCommand(OTHER_KEY_ROOM)],
    out: [reject(OTHER_KEY_ROOM)],
    rows: [],
    reason: 'invalid_signature',
  },
  {
    name: 'Turbo::StreamsChannel: a URL-safe payload (standard base64 has +) is confirmed with the right stream',
    in: [subscribeCommand(turboIdentifier(signUrlSafe(PLUS_NAME, SECRET)))],
    out: [confirm(turboIdentifier(signUrlSafe(PLUS_NAME, SECRET)))],
    rows: [{ stream: PLUS_NAME, identifier: turboIdentifier(signUrlSafe(PLUS_NAME, SECRET)) }],
  },
  {
    name: 'Turbo::StreamsChannel: a URL-safe payload (standard base64 has /) is confirmed with the right stream',
    in: [subscribeCommand(turboIdentifier(signUrlSafe(SLASH_NAME, SECRET)))],
    out: [confirm(turboIdentifier(signUrlSafe(SLASH_NAME, SECRET)))],
    rows: [{ stream: SLASH_NAME, identifier: turboIdentifier(signUrlSafe(SLASH_NAME, SECRET)) }],
  },
  {
    name: 'Turbo::StreamsChannel: a URL-safe payload without padding is confirmed',
    in: [subscribeCommand(turboIdentifier(signUrlSafe(SLASH_NAME, SECRET, false)))],
    out: [confirm(turboIdentifier(signUrlSafe(SLASH_NAME, SECRET, false)))],
    rows: [{ stream: SLASH_NAME, identifier: turboIdentifier(signUrlSafe(SLASH_NAME, SECRET, false)) }],
  },
  {
    name: 'Turbo::StreamsChannel: a URL-safe payload carrying the standard text\'s digest is rejected (the HMAC covers the text as sent)',
    in: [subscribeCommand(turboIdentifier(`${signUrlSafe(SLASH_NAME, SECRET).split('--')[0]}--${signStream(SLASH_NAME, SECRET).split('--')[1]}`))],
    out: [reject(turboIdentifier(`${signUrlSafe(SLASH_NAME, SECRET).split('--')[0]}--${signStream(SLASH_NAME, SECRET).split('--')[1]}`))],
    rows: [],
    reason: 'invalid_signature',
  },
  {
    name: 'Turbo::StreamsChannel: a non-ASCII name round-trips',
    in: [subscribeCommand(turboIdentifier(signStream(NON_ASCII, SECRET)))],
    out: [confirm(turboIdentifier(signStream(NON_ASCII, SECRET)))],
    rows: [{ stream: NON_ASCII, identifier: turboIdentifier(signStream(NON_ASCII, SECRET)) }],
  },
  {
    name: 'Turbo::StreamsChannel: a non-ASCII name signed by Rails\' MessageVerifier is confirmed',
    in: [subscribeCommand(turboIdentifier(RAILS_SIGNED_NON_ASCII))],
    out: [confirm(turboIdentifier(RAILS_SIGNED_NON_ASCII))],
    rows: [{ stream: NON_ASCII, identifier: turboIdentifier(RAILS_SIGNED_NON_ASCII) }],
  },
  {
    name: 'Turbo::StreamsChannel: a missing signed_stream_name is rejected',
    in: [subscribeCommand('{"channel":"Turbo::StreamsChannel"}')],
    out: [reject('{"channel":"Turbo::StreamsChannel"}')],
    rows: [],
    reason: 'missing_signed_stream_name',
  },
  {
    name: 'Turbo::StreamsChannel: an empty stream name is rejected',
    in: [subscribeCommand(turboIdentifier(signStream('', SECRET)))],
    out: [reject(turboIdentifier(signStream('', SECRET)))],
    rows: [],
    reason: 'empty_stream_name',
  },
  {
    name: 'turboStreams: false rejects Turbo::StreamsChannel',
    settings: { secret: SECRET, turboStreams: false },
    in: [subscribeCommand(TURBO_ROOM)],
    out: [reject(TURBO_ROOM)],
    rows: [],
    reason: 'turbo_streams_disabled',
  },
  {
    name: 'secret: without any secret Turbo::StreamsChannel is rejected',
    settings: {},
    in: [subscribeCommand(TURBO_ROOM)],
    out: [reject(TURBO_ROOM)],
    rows: [],
    reason: 'no_streams_secret',
  },
  // Secret fallback: turboStreamsSecret, else streamsSecret, else secret.
  {
    name: 'turboStreamsSecret: falls back to secret',
    settings: { secret: SECRET },
    in: [subscribeCommand(TURBO_ROOM)],
    out: [confirm(TURBO_ROOM)],
    rows: [{ stream: ROOM, identifier: TURBO_ROOM }],
  },
  {
    name: 'turboStreamsSecret: falls back to streamsSecret before secret',
    settings: { secret: SECRET, streamsSecret: STREAMS_KEY },
    in: [subscribeCommand(turboIdentifier(signStream(ROOM, STREAMS_KEY))), subscribeCommand(TURBO_ROOM)],
    out: [confirm(turboIdentifier(signStream(ROOM, STREAMS_KEY))), reject(TURBO_ROOM)],
    rows: [{ stream: ROOM, identifier: turboIdentifier(signStream(ROOM, STREAMS_KEY)) }],
  },
  {
    name: 'turboStreamsSecret: is used first when set',
    settings: { secret: SECRET, streamsSecret: STREAMS_KEY, turboStreamsSecret: TURBO_KEY },
    in: [
      subscribeCommand(turboIdentifier(signStream(ROOM, TURBO_KEY))),
      subscribeCommand(turboIdentifier(signStream('x', STREAMS_KEY))),
      subscribeCommand(turboIdentifier(signStream('y', SECRET))),
    ],
    out: [
      confirm(turboIdentifier(signStream(ROOM, TURBO_KEY))),
      reject(turboIdentifier(signStream('x', STREAMS_KEY))),
      reject(turboIdentifier(signStream('y', SECRET))),
    ],
    rows: [{ stream: ROOM, identifier: turboIdentifier(signStream(ROOM, TURBO_KEY)) }],
  },
  {
    name: 'turboStreamsSecret: an empty string counts as unset',
    settings: { secret: SECRET, streamsSecret: '', turboStreamsSecret: '' },
    in: [subscribeCommand(TURBO_ROOM)],
    out: [confirm(TURBO_ROOM)],
    rows: [{ stream: ROOM, identifier: TURBO_ROOM }],
  },
  // $pubsub
  {
    name: '$pubsub: a signed_stream_name signed with the streams secret is confirmed',
    settings: { secret: SECRET, streamsSecret: STREAMS_KEY, turboStreamsSecret: TURBO_KEY },
    in: [subscribeCommand(pubsubIdentifier({ signed_stream_name: signStream('chat', STREAMS_KEY) }))],
    out: [confirm(pubsubIdentifier({ signed_stream_name: signStream('chat', STREAMS_KEY) }))],
    rows: [{ stream: 'chat', identifier: pubsubIdentifier({ signed_stream_name: signStream('chat', STREAMS_KEY) }) }],
  },
  {
    name: '$pubsub: a signed_stream_name signed with the Turbo secret is rejected',
    settings: { secret: SECRET, streamsSecret: STREAMS_KEY, turboStreamsSecret: TURBO_KEY },
    in: [subscribeCommand(pubsubIdentifier({ signed_stream_name: signStream('chat', TURBO_KEY) }))],
    out: [reject(pubsubIdentifier({ signed_stream_name: signStream('chat', TURBO_KEY) }))],
    rows: [],
    reason: 'invalid_signature',
  },
  {
    name: '$pubsub: the streams secret falls back to secret',
    settings: { secret: SECRET, turboStreamsSecret: TURBO_KEY },
    in: [subscribeCommand(pubsubIdentifier({ signed_stream_name: signStream('chat', SECRET) }))],
    out: [confirm(pubsubIdentifier({ signed_stream_name: signStream('chat', SECRET) }))],
    rows: [{ stream: 'chat', identifier: pubsubIdentifier({ signed_stream_name: signStream('chat', SECRET) }) }],
  },
  {
    name: '$pubsub: with only turboStreamsSecret set a signed name is rejected',
    settings: { turboStreamsSecret: TURBO_KEY },
    in: [subscribeCommand(pubsubIdentifier({ signed_stream_name: signStream('chat', TURBO_KEY) }))],
    out: [reject(pubsubIdentifier({ signed_stream_name: signStream('chat', TURBO_KEY) }))],
    rows: [],
    reason: 'no_streams_secret',
  },
  {
    name: 'publicStreams: a plain stream_name is rejected by default',
    in: [subscribeCommand(pubsubIdentifier({ stream_name: 'chat' }))],
    out: [reject(pubsubIdentifier({ stream_name: 'chat' }))],
    rows: [],
    reason: 'public_streams_disabled',
  },
  {
    name: 'publicStreams: a plain stream_name is confirmed when enabled',
    settings: { secret: SECRET, publicStreams: true },
    in: [subscribeCommand(pubsubIdentifier({ stream_name: 'chat' }))],
    out: [confirm(pubsubIdentifier({ stream_name: 'chat' }))],
    rows: [{ stream: 'chat', identifier: pubsubIdentifier({ stream_name: 'chat' }) }],
  },
  {
    name: 'publicStreams: an empty stream_name is rejected even when enabled',
    settings: { secret: SECRET, publicStreams: true },
    in: [subscribeCommand(pubsubIdentifier({ stream_name: '' }))],
    out: [reject(pubsubIdentifier({ stream_name: '' }))],
    rows: [],
    reason: 'empty_stream_name',
  },
  {
    name: 'publicStreams: a stream_name over 2048 bytes is rejected (by the identifier limit first)',
    settings: { secret: SECRET, publicStreams: true },
    in: [subscribeCommand(`{"channel":"$pubsub","stream_name":"${'é'.repeat(1025)}"}`)],
    out: [reject(`{"channel":"$pubsub","stream_name":"${'é'.repeat(1025)}"}`)],
    rows: [],
    reason: 'identifier_too_long',
  },
  {
    name: '$pubsub: neither stream_name nor signed_stream_name is rejected',
    settings: { secret: SECRET, publicStreams: true },
    in: [subscribeCommand('{"channel":"$pubsub"}')],
    out: [reject('{"channel":"$pubsub"}')],
    rows: [],
    reason: 'missing_stream_name',
  },
  // Identifiers
  {
    name: 'identifier: an unknown channel is rejected',
    in: [subscribeCommand('{"channel":"ChatChannel","room":"lobby"}')],
    out: [reject('{"channel":"ChatChannel","room":"lobby"}')],
    rows: [],
    reason: 'unknown_channel',
  },
  {
    name: 'identifier: not JSON is rejected',
    in: [subscribeCommand('Turbo::StreamsChannel')],
    out: [reject('Turbo::StreamsChannel')],
    rows: [],
    reason: 'invalid_identifier',
  },
  {
    name: 'identifier: JSON without channel is rejected',
    in: [subscribeCommand('{"signed_stream_name":"abc"}')],
    out: [reject('{"signed_stream_name":"abc"}')],
    rows: [],
    reason: 'invalid_identifier',
  },
  {
    name: 'identifier: a non-string channel is rejected',
    in: [subscribeCommand('{"channel":42}')],
    out: [reject('{"channel":42}')],
    rows: [],
    reason: 'invalid_identifier',
  },
  {
    name: 'identifier: a JSON array is rejected',
    in: [subscribeCommand('["Turbo::StreamsChannel"]')],
    out: [reject('["Turbo::StreamsChannel"]')],
    rows: [],
    reason: 'invalid_identifier',
  },
  {
    name: 'identifier: exactly 900 bytes is accepted',
    in: [subscribeCommand(AT_LIMIT)],
    out: [confirm(AT_LIMIT)],
    rows: [{ stream: ROOM, identifier: AT_LIMIT }],
  },
  {
    name: 'identifier: over 900 bytes is rejected',
    in: [subscribeCommand(OVER_LIMIT)],
    out: [reject(OVER_LIMIT)],
    rows: [],
    reason: 'identifier_too_long',
  },
  // Idempotence
  {
    name: 'subscribe: a repeated subscribe is confirmed again and still one row',
    in: [subscribeCommand(TURBO_ROOM), subscribeCommand(TURBO_ROOM), subscribeCommand(TURBO_ROOM)],
    out: [confirm(TURBO_ROOM), confirm(TURBO_ROOM), confirm(TURBO_ROOM)],
    rows: [{ stream: ROOM, identifier: TURBO_ROOM }],
  },
  {
    name: 'subscribe: two identifiers for the same stream are two rows',
    in: [subscribeCommand(TURBO_ROOM), subscribeCommand(TURBO_ROOM_SPACED)],
    out: [confirm(TURBO_ROOM), confirm(TURBO_ROOM_SPACED)],
    rows: [{ stream: ROOM, identifier: TURBO_ROOM_SPACED }, { stream: ROOM, identifier: TURBO_ROOM }],
  },
];

describe('subscribe', () => {
  test('fixtures: the URL-safe names have + or / in standard base64, and the limits are where the cases say', () => {
    expect(Buffer.from(JSON.stringify(PLUS_NAME)).toString('base64')).toContain('+');
    expect(Buffer.from(JSON.stringify(SLASH_NAME)).toString('base64')).toContain('/');
    expect(Buffer.byteLength(AT_LIMIT)).toBe(MAX_IDENTIFIER_BYTES);
    expect(Buffer.byteLength(OVER_LIMIT)).toBe(MAX_IDENTIFIER_BYTES + 1);
    expect(signStream(NON_ASCII, SECRET)).toBe(RAILS_SIGNED_NON_ASCII);
  });

  test.each(cases)('$name', async (c) => {
    const world = makeWorld(c.settings ?? { secret: SECRET });
    await openConnections(world, CONNECTION_ID);
    const out: ServerFrame[] = [];
    for (const body of c.in) {
      const result = await send(world, body);
      expect(result.close).toBe(false);
      out.push(...result.frames);
    }

    expect(out).toEqual(c.out);
    const expectedRows = c.rows.map((r) => ({ ...r, connectionId: CONNECTION_ID }));
    expect(rows(world)).toEqual(expect.arrayContaining(expectedRows));
    expect(rows(world)).toHaveLength(expectedRows.length);
    if (c.reason) {
      expect(world.logger.entries).toContainEqual({
        level: 'info', event: 'subscribe.rejected', fields: expect.objectContaining({ connectionId: CONNECTION_ID, reason: c.reason }),
      });
    }
    expect(world.logger.at('warn')).toEqual([]);
  });

  test('subscribe: rows expire ttlSeconds after the subscribe', async () => {
    const world = makeWorld({ secret: SECRET, ttlSeconds: 3600, maxConnectionAgeSeconds: 1800 });
    await openConnections(world, CONNECTION_ID);
    await send(world, subscribeCommand(TURBO_ROOM));
    expect(world.subscriptions.all().map((s) => s.expiresAt)).toEqual([Math.floor(START_MS / 1000) + 3600]);
  });

  test('subscribe: concurrent subscribes of one identifier make one row and each is confirmed', async () => {
    const world = makeWorld();
    await openConnections(world, CONNECTION_ID);
    const results = await Promise.all([1, 2, 3, 4].map(() => send(world, subscribeCommand(TURBO_ROOM))));
    expect(results.map((r) => r.frames)).toEqual([1, 2, 3, 4].map(() => [confirm(TURBO_ROOM)]));
    expect(rows(world)).toEqual([{ stream: ROOM, connectionId: CONNECTION_ID, identifier: TURBO_ROOM }]);
  });

  test('subscribe: the same identifier on two connections is two rows', async () => {
    const world = makeWorld();
    await openConnections(world, 'conn-1', 'conn-2');
    await send(world, subscribeCommand(TURBO_ROOM), 'conn-1');
    await send(world, subscribeCommand(TURBO_ROOM), 'conn-2');
    expect(rows(world).map((r) => r.connectionId)).toEqual(['conn-1', 'conn-2']);
  });

  // `reject_subscription` echoes the identifier and its envelope is 7 bytes longer than
  // `subscribe`'s: a reply API Gateway could not post becomes invalid_request instead.
  test('subscribe: rejecting the longest identifier a 128 KB message can carry replies within 128 KB', async () => {
    const world = makeWorld();
    const envelope = subscribeCommand('');
    const identifier = 'x'.repeat(MAX_MESSAGE_BYTES - Buffer.byteLength(envelope));
    const body = subscribeCommand(identifier);
    expect(Buffer.byteLength(body)).toBe(MAX_MESSAGE_BYTES);

    const result = await handleMessage(world, { connectionId: CONNECTION_ID, body, binary: false });
    expectValidFrames(result.frames);
    expect(result).toEqual({ frames: [{ type: 'disconnect', reason: 'invalid_request', reconnect: false }], close: true });
  });
});
