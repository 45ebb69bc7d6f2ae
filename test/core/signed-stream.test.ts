import { createHmac } from 'node:crypto';
import { SECRET } from './support';
import { signStream, verifySignedStream } from '../../lambda/core/signed-stream';

function hmac(data: string, key = SECRET): string {
  return createHmac('sha256', key).update(data).digest('hex');
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/**
 * Generated with Ruby 3.1 and ActiveSupport 6.1:
 * `ActiveSupport::MessageVerifier.new(SECRET, digest: "SHA256", serializer: JSON).generate(name)`,
 * which is how turbo-rails builds `Turbo.signed_stream_verifier`.
 */
const RAILS_VECTORS = [
  { name: 'café/日本', signed: 'ImNhZsOpL+aXpeacrCI=--0e1d6a221988996f13956e96e5c883290472156f2b482a37cd88eb9e740fc8bf' },
  {
    name: 'Z2lkOi8vY2FibGUvUm9vbS8x:messages',
    signed: 'IloybGtPaTh2WTJGaWJHVXZVbTl2YlM4eDptZXNzYWdlcyI=--115b51fe322cea45d744444163399071a69ee39bfe1c9c7cd909aaba9577f790',
  },
];

/** Generated with Ruby: `d = Base64.urlsafe_encode64(JSON.dump(name), padding: false); "#{d}--#{OpenSSL::HMAC.hexdigest("SHA256", SECRET, d)}"`. */
const RUBY_URL_SAFE = { name: 'rooms/1?>', signed: 'InJvb21zLzE_PiI--93f2c5928d0d5410fbbc990ce387148e0a97067ae5db5fd958b8081efc992989' };

describe('signed-stream', () => {
  test.each(RAILS_VECTORS)('verifySignedStream: accepts Rails MessageVerifier output for "$name"', ({ name, signed }) => {
    expect(verifySignedStream(signed, SECRET)).toBe(name);
  });

  test.each(RAILS_VECTORS)('signStream: matches Rails MessageVerifier output for "$name"', ({ name, signed }) => {
    expect(signStream(name, SECRET)).toBe(signed);
  });

  test('verifySignedStream: accepts Ruby URL-safe output without padding', () => {
    expect(verifySignedStream(RUBY_URL_SAFE.signed, SECRET)).toBe(RUBY_URL_SAFE.name);
  });

  test.each(['room:1', '', 'a--b', 'emoji 🎉 and "quotes" and \\ backslash', 'x'.repeat(3000)])(
    'signStream: round-trips %j', (name) => {
      expect(verifySignedStream(signStream(name, SECRET), SECRET)).toBe(name);
    },
  );

  const valid = signStream('room:1', SECRET);
  const [validData, validDigest] = valid.split('--');

  test.each<{ name: string; signed: string }>([
    { name: 'verifySignedStream: another key\'s signature is refused', signed: signStream('room:1', 'other-key') },
    { name: 'verifySignedStream: a payload swapped under a valid digest is refused', signed: `${base64('"room:2"')}--${validDigest}` },
    { name: 'verifySignedStream: a digest off by one character is refused', signed: `${validData}--${validDigest.slice(0, -1)}${validDigest.endsWith('0') ? '1' : '0'}` },
    { name: 'verifySignedStream: a truncated digest is refused', signed: `${validData}--${validDigest.slice(0, 62)}` },
    { name: 'verifySignedStream: a SHA-1 length digest is refused', signed: `${validData}--${validDigest.slice(0, 40)}` },
    { name: 'verifySignedStream: a non-hex digest is refused', signed: `${validData}--${'z'.repeat(64)}` },
    { name: 'verifySignedStream: no separator is refused', signed: validData + validDigest },
    { name: 'verifySignedStream: an empty payload is refused', signed: `--${hmac('')}` },
    { name: 'verifySignedStream: the empty string is refused', signed: '' },
    { name: 'verifySignedStream: a correctly signed payload that is not base64 is refused', signed: `not.base64--${hmac('not.base64')}` },
    { name: 'verifySignedStream: a correctly signed payload that is not JSON is refused', signed: `${base64('room:1')}--${hmac(base64('room:1'))}` },
    { name: 'verifySignedStream: a correctly signed JSON number is refused', signed: `${base64('42')}--${hmac(base64('42'))}` },
    { name: 'verifySignedStream: a correctly signed JSON array is refused', signed: `${base64('["room",1]')}--${hmac(base64('["room",1]'))}` },
  ])('$name', ({ signed }) => {
    expect(verifySignedStream(signed, SECRET)).toBeUndefined();
  });

  // Node's hex and base64 decoders skip what they cannot read; Rails' verifier (strict_decode64,
  // a digest compared whole) refuses it, and so must this, or one stream gets many spellings.
  const PAYLOAD = base64('"room:1"');
  test.each<{ name: string; signed: string }>([
    { name: 'verifySignedStream: a valid digest with trailing non-hex characters is refused', signed: `${validData}--${validDigest}zz` },
    { name: 'verifySignedStream: a valid digest after leading non-hex characters is refused', signed: `${validData}--zz${validDigest}` },
    { name: 'verifySignedStream: a correctly signed payload with a character outside base64 inside is refused', signed: `${PAYLOAD.slice(0, 4)}.${PAYLOAD.slice(4)}--${hmac(`${PAYLOAD.slice(0, 4)}.${PAYLOAD.slice(4)}`)}` },
    { name: 'verifySignedStream: a correctly signed payload with a character outside base64 before it is refused', signed: `.${PAYLOAD}--${hmac(`.${PAYLOAD}`)}` },
    { name: 'verifySignedStream: a correctly signed payload with a character outside base64 after it is refused', signed: `${PAYLOAD}.--${hmac(`${PAYLOAD}.`)}` },
  ])('$name', ({ signed }) => {
    expect(verifySignedStream(signed, SECRET)).toBeUndefined();
  });
});
