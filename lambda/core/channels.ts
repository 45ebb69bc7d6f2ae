import { CableConfig } from './config';
import { verifySignedStream } from './signed-stream';

export const TURBO_STREAMS_CHANNEL = 'Turbo::StreamsChannel';
export const PUBSUB_CHANNEL = '$pubsub';

/** DynamoDB caps a sort key at 1,024 bytes; the subscriber key is `<connectionId>#<identifier>`. */
export const MAX_IDENTIFIER_BYTES = 900;
/**
 * DynamoDB caps a partition key at 2,048 bytes. A built-in channel's stream name travels inside
 * its identifier, so in practice the identifier cap binds first (a Turbo name of about 577 ASCII
 * bytes); this guards streams that a later channel type derives otherwise.
 */
export const MAX_STREAM_BYTES = 2048;

export type ChannelResolution =
  | { readonly kind: 'streams'; readonly streams: string[] }
  | { readonly kind: 'reject'; readonly reason: string };

/**
 * Maps a subscribe identifier to the streams of a built-in channel, or a rejection.
 * Unlike Rails, which only logs unknown channels, they are rejected: otherwise the client
 * re-sends `subscribe` every 500 ms forever, and here every retry is a paid invocation.
 */
export function resolveChannel(config: CableConfig, identifier: string): ChannelResolution {
  if (Buffer.byteLength(identifier) > MAX_IDENTIFIER_BYTES) return reject('identifier_too_long');
  const params = parseIdentifier(identifier);
  if (!params) return reject('invalid_identifier');

  switch (params.channel) {
    case TURBO_STREAMS_CHANNEL:
      if (!config.turboStreams) return reject('turbo_streams_disabled');
      return signed(params.signed_stream_name, config.turboStreamsSecret);
    case PUBSUB_CHANNEL:
      if (typeof params.signed_stream_name === 'string') return signed(params.signed_stream_name, config.streamsSecret);
      if (typeof params.stream_name === 'string' && config.publicStreams) return stream(params.stream_name);
      return reject(typeof params.stream_name === 'string' ? 'public_streams_disabled' : 'missing_stream_name');
    default:
      return reject('unknown_channel');
  }
}

/** Whether the identifier names a channel cdk-cable serves itself (rather than the app, over RPC). */
export function isBuiltInChannel(identifier: string): boolean {
  const channel = parseIdentifier(identifier)?.channel;
  return channel === TURBO_STREAMS_CHANNEL || channel === PUBSUB_CHANNEL;
}

/** The identifier is itself JSON: an object with a string `channel`. */
export function parseIdentifier(identifier: string): Record<string, unknown> & { channel: string } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(identifier);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  return typeof record.channel === 'string' ? record as Record<string, unknown> & { channel: string } : undefined;
}

function signed(signedName: unknown, key: string | undefined): ChannelResolution {
  if (typeof signedName !== 'string') return reject('missing_signed_stream_name');
  if (!key) return reject('no_streams_secret');
  const name = verifySignedStream(signedName, key);
  return name === undefined ? reject('invalid_signature') : stream(name);
}

function stream(name: string): ChannelResolution {
  if (name.length === 0) return reject('empty_stream_name');
  if (Buffer.byteLength(name) > MAX_STREAM_BYTES) return reject('stream_name_too_long');
  return { kind: 'streams', streams: [name] };
}

function reject(reason: string): ChannelResolution {
  return { kind: 'reject', reason };
}
