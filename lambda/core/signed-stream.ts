import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Verifies a Rails `MessageVerifier`-signed stream name as Turbo and AnyCable produce it:
 * `Base64(JSON(name)) + "--" + hex(HMAC-SHA256(key, base64 part))`. The HMAC covers the base64
 * text exactly as sent; the payload may use the standard or the URL-safe alphabet (AnyCable's
 * Ruby signer uses URL-safe). Returns the stream name, or undefined when the signature or payload
 * is not valid.
 * @see https://github.com/hotwired/turbo-rails/blob/main/app/models/turbo/streams/stream_name.rb
 * @see https://github.com/anycable/anycable-go/blob/master/utils/message_verifier.go
 */
export function verifySignedStream(signed: string, key: string): string | undefined {
  const separator = signed.lastIndexOf('--');
  if (separator <= 0) return undefined;
  const data = signed.slice(0, separator);
  const digest = signed.slice(separator + 2);
  if (!/^[0-9a-f]{64}$/i.test(digest)) return undefined;

  const expected = createHmac('sha256', key).update(data, 'utf8').digest();
  const given = Buffer.from(digest, 'hex');
  if (!timingSafeEqual(expected, given)) return undefined;

  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(data)) return undefined;
  const json = Buffer.from(data.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Signs a stream name the way Turbo does (standard base64), for tests, the demo and helpers. */
export function signStream(name: string, key: string): string {
  const data = Buffer.from(JSON.stringify(name), 'utf8').toString('base64');
  const digest = createHmac('sha256', key).update(data, 'utf8').digest('hex');
  return `${data}--${digest}`;
}
