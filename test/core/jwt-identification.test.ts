// jose 4 arrives with @anycable/serverless-js (a devDependency); until .projenrc.ts lists it, the rule cannot see it.
// eslint-disable-next-line import/no-extraneous-dependencies
import * as jose from 'jose';
import { CableConfigError } from '../../lambda/core/errors';
import { findJwtToken, identifyByJwt, JwtIdentification, JwtSettings } from '../../lambda/core/jwt-identification';

const JWT_SECRET = 'jwt-secret-of-the-app';
const SETTINGS: JwtSettings = { secret: JWT_SECRET, param: 'jid', enforce: false };
/** 2026-01-01T00:00:00.250Z: not a whole second, so the whole-second truncation of `exp` shows. */
const NOW_MS = Date.UTC(2026, 0, 1) + 250;
const NOW = Math.floor(NOW_MS / 1000);
const IDENTIFIERS = JSON.stringify({ current_user: 'gid://app/User/42' });

type HmacAlg = 'HS256' | 'HS384' | 'HS512';

function key(secret = JWT_SECRET): Uint8Array {
  return new TextEncoder().encode(secret);
}

/** A token as anycable-rails' `AnyCable::JWT.encode` makes one: identifiers in `ext`. */
function sign(claims: jose.JWTPayload, { alg = 'HS256', secret = JWT_SECRET }: { alg?: HmacAlg; secret?: string } = {}): Promise<string> {
  return new jose.SignJWT(claims).setProtectedHeader({ alg }).sign(key(secret));
}

/** A correctly signed token around any payload bytes, for payloads SignJWT refuses to build. */
function signPayload(payload: string): Promise<string> {
  return new jose.CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: 'HS256' }).sign(key());
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

function identify(token: string, settings: JwtSettings = SETTINGS, nowMs = NOW_MS): JwtIdentification {
  return identifyByJwt(settings, { headers: {}, query: { [settings.param]: token } }, nowMs);
}

const IDENTIFIED: JwtIdentification = { kind: 'identified', identifiers: IDENTIFIERS };
const EXPIRED: JwtIdentification = { kind: 'rejected', reason: 'token_expired', detail: 'token has invalid claims: token is expired' };
const BAD_SIGNATURE: JwtIdentification = { kind: 'rejected', reason: 'unauthorized', detail: 'token signature is invalid: signature is invalid' };

function unauthorized(detail: string): JwtIdentification {
  return { kind: 'rejected', reason: 'unauthorized', detail };
}

describe('findJwtToken', () => {
  const ALL = {
    headers: { 'x-jid': 'from-header', 'sec-websocket-protocol': 'actioncable-v1-json, anycable-token.from-subprotocol' },
    query: { jid: 'from-query' },
  };

  test('header: x-<param> wins over the subprotocol and the query', () => {
    expect(findJwtToken(ALL.headers, ALL.query, 'jid')).toBe('from-header');
  });

  test('subprotocol: anycable-token.<token> is used without the header, and wins over the query', () => {
    expect(findJwtToken({ 'sec-websocket-protocol': ALL.headers['sec-websocket-protocol'] }, ALL.query, 'jid')).toBe('from-subprotocol');
  });

  test('subprotocol: entries are trimmed and the first anycable-token entry wins', () => {
    const offered = 'actioncable-v1-json,\tanycable-token.first , anycable-token.second';
    expect(findJwtToken({ 'sec-websocket-protocol': offered }, {}, 'jid')).toBe('first');
  });

  test('subprotocol: an empty first anycable-token entry ends the search, so the query is used', () => {
    const offered = 'anycable-token., anycable-token.second';
    expect(findJwtToken({ 'sec-websocket-protocol': offered }, { jid: 'from-query' }, 'jid')).toBe('from-query');
  });

  test('subprotocol: the prefix is case-sensitive', () => {
    expect(findJwtToken({ 'sec-websocket-protocol': 'AnyCable-Token.abc' }, {}, 'jid')).toBeUndefined();
  });

  test('query: <param> is used last', () => {
    expect(findJwtToken({ 'sec-websocket-protocol': 'actioncable-v1-json' }, ALL.query, 'jid')).toBe('from-query');
  });

  test('param: a custom name reads header x-<param> and query <param>, not jid', () => {
    expect(findJwtToken({ 'x-token': 'header-token', 'x-jid': 'jid-header' }, { token: 'query-token' }, 'token')).toBe('header-token');
    expect(findJwtToken({ 'x-jid': 'jid-header' }, { token: 'query-token', jid: 'jid-query' }, 'token')).toBe('query-token');
    expect(findJwtToken({ 'x-jid': 'jid-header' }, { jid: 'jid-query' }, 'token')).toBeUndefined();
  });

  test('param: the header name is lower-cased, the query name is not', () => {
    expect(findJwtToken({ 'x-auth': 'header-token' }, {}, 'Auth')).toBe('header-token');
    expect(findJwtToken({}, { auth: 'lower', Auth: 'exact' }, 'Auth')).toBe('exact');
  });

  test('empty values: count as absent at every step', () => {
    expect(findJwtToken({ 'x-jid': '', 'sec-websocket-protocol': 'anycable-token.sub' }, {}, 'jid')).toBe('sub');
    expect(findJwtToken({ 'x-jid': '', 'sec-websocket-protocol': '' }, { jid: '' }, 'jid')).toBeUndefined();
    expect(findJwtToken({}, {}, 'jid')).toBeUndefined();
  });

  test('param: inherited names such as "constructor" find nothing', () => {
    expect(findJwtToken({}, {}, 'constructor')).toBeUndefined();
  });
});

describe('identifyByJwt: token location', () => {
  test('subprotocol: a token offered as anycable-token.<token> identifies the connection', async () => {
    const token = await sign({ ext: IDENTIFIERS });
    const headers = { 'sec-websocket-protocol': `actioncable-v1-json, anycable-token.${token}` };
    expect(identifyByJwt(SETTINGS, { headers, query: {} }, NOW_MS)).toEqual(IDENTIFIED);
  });

  test('header: a bad x-jid header overrides a good query token', async () => {
    const good = await sign({ ext: IDENTIFIERS });
    const forged = await sign({ ext: IDENTIFIERS }, { secret: 'other' });
    expect(identifyByJwt(SETTINGS, { headers: { 'x-jid': forged }, query: { jid: good } }, NOW_MS)).toEqual(BAD_SIGNATURE);
  });

  test('param: "token" reads the x-token header', async () => {
    const token = await sign({ ext: IDENTIFIERS });
    const settings = { ...SETTINGS, param: 'token' };
    expect(identifyByJwt(settings, { headers: { 'x-token': token }, query: {} }, NOW_MS)).toEqual(IDENTIFIED);
    expect(identifyByJwt(settings, { headers: { 'x-jid': token }, query: { jid: token } }, NOW_MS)).toEqual({ kind: 'none' });
  });
});

describe('identifyByJwt: enforce', () => {
  test('enforce: no token is unauthorized', () => {
    const enforced = { ...SETTINGS, enforce: true };
    expect(identifyByJwt(enforced, { headers: { 'x-jid': '' }, query: { jid: '' } }, NOW_MS)).toEqual(unauthorized('no token is found'));
  });

  test('enforce: off, no token is none (identification falls through to RPC)', () => {
    expect(identifyByJwt(SETTINGS, { headers: {}, query: {} }, NOW_MS)).toEqual({ kind: 'none' });
  });

  test('enforce: a valid token still identifies', async () => {
    expect(identify(await sign({ ext: IDENTIFIERS }), { ...SETTINGS, enforce: true })).toEqual(IDENTIFIED);
  });

  test('secret: an empty secret is a configuration fault, never an HMAC key', () => {
    expect(() => identifyByJwt({ ...SETTINGS, secret: '' }, { headers: {}, query: {} }, NOW_MS)).toThrow(CableConfigError);
    expect(() => identifyByJwt({ ...SETTINGS, secret: '' }, { headers: {}, query: {} }, NOW_MS)).toThrow(/secret must not be empty/);
  });
});

describe('identifyByJwt: algorithms', () => {
  test.each<HmacAlg>(['HS256', 'HS384', 'HS512'])('alg: %s tokens made by jose identify', async (alg) => {
    expect(identify(await sign({ ext: IDENTIFIERS, exp: NOW + 60 }, { alg }))).toEqual(IDENTIFIED);
  });

  test('secret: the key is the UTF-8 bytes of a non-ASCII secret', async () => {
    const secret = 'clé-secrète-🔑';
    expect(identify(await sign({ ext: IDENTIFIERS }, { secret }), { ...SETTINGS, secret })).toEqual(IDENTIFIED);
  });

  test('secret: a token signed with another secret is unauthorized', async () => {
    expect(identify(await sign({ ext: IDENTIFIERS }, { secret: `${JWT_SECRET}x` }))).toEqual(BAD_SIGNATURE);
  });

  test('alg: the jwt.io HS256 example verifies, and without ext is an error', async () => {
    // https://jwt.io's HS256 example, secret "your-256-bit-secret"; jose verifies it independently.
    const token = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
    const { payload } = await jose.jwtVerify(token, key('your-256-bit-secret'));
    expect(payload).toEqual({ sub: '1234567890', name: 'John Doe', iat: 1516239022 });
    expect(identify(token, { ...SETTINGS, secret: 'your-256-bit-secret' })).toEqual({
      kind: 'error', message: 'JWT token doesn\'t contain identifiers: {"sub":"1234567890","name":"John Doe","iat":1516239022}',
    });
    expect(identify(token)).toEqual(BAD_SIGNATURE);
  });

  test('alg: none (jose UnsecuredJWT) is unauthorized', () => {
    const token = new jose.UnsecuredJWT({ ext: IDENTIFIERS }).encode();
    expect(token.endsWith('.')).toBe(true);
    expect(identify(token)).toEqual(unauthorized('token is unverifiable: error while executing keyfunc: unexpected signing method: none'));
  });

  test.each(['RS256', 'ES256'])('alg: a real %s token is unauthorized', async (alg) => {
    const { privateKey } = await jose.generateKeyPair(alg);
    const token = await new jose.SignJWT({ ext: IDENTIFIERS }).setProtectedHeader({ alg }).sign(privateKey);
    expect(identify(token)).toEqual(unauthorized(`token is unverifiable: error while executing keyfunc: unexpected signing method: ${alg}`));
  });

  test('alg: a header relabelled HS384 over an HS256 signature is unauthorized', async () => {
    const [, payload, signature] = (await sign({ ext: IDENTIFIERS })).split('.');
    expect(identify(`${b64('{"alg":"HS384"}')}.${payload}.${signature}`)).toEqual(BAD_SIGNATURE);
  });

  test.each([
    { header: '{"alg":"hs256"}', detail: 'token is unverifiable: signing method (alg) is unavailable' },
    { header: '{"alg":"HS1"}', detail: 'token is unverifiable: signing method (alg) is unavailable' },
    { header: '{"typ":"JWT"}', detail: 'token is unverifiable: signing method (alg) is unspecified' },
    { header: '{"alg":256}', detail: 'token is unverifiable: signing method (alg) is unspecified' },
    { header: 'null', detail: 'token is unverifiable: signing method (alg) is unspecified' },
  ])('alg: header $header is unauthorized', async ({ header, detail }) => {
    const [, payload, signature] = (await sign({ ext: IDENTIFIERS })).split('.');
    expect(identify(`${b64(header)}.${payload}.${signature}`)).toEqual(unauthorized(detail));
  });
});

describe('identifyByJwt: claims', () => {
  test('exp: a future exp identifies', async () => {
    expect(identify(await sign({ ext: IDENTIFIERS, exp: NOW + 1 }))).toEqual(IDENTIFIED);
  });

  test('exp: jose setExpirationTime in the past is token_expired', async () => {
    const token = await new jose.SignJWT({ ext: IDENTIFIERS }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(NOW - 60).sign(key());
    expect(identify(token)).toEqual(EXPIRED);
  });

  test('exp: expired the instant now reaches exp (valid only while now < exp)', async () => {
    const token = await sign({ ext: IDENTIFIERS, exp: NOW });
    expect(identify(token, SETTINGS, NOW * 1000)).toEqual(EXPIRED);
    expect(identify(token, SETTINGS, NOW * 1000 - 1)).toEqual(IDENTIFIED);
  });

  test('exp: a fractional exp is truncated to whole seconds', async () => {
    // exp NOW + 0.9 counts as NOW, which NOW_MS (NOW + 0.25 s) has reached.
    expect(identify(await sign({ ext: IDENTIFIERS, exp: NOW + 0.9 }))).toEqual(EXPIRED);
  });

  test('exp: an expired token with a wrong signature is unauthorized, not token_expired', async () => {
    expect(identify(await sign({ ext: IDENTIFIERS, exp: NOW - 60 }, { secret: 'other' }))).toEqual(BAD_SIGNATURE);
  });

  test('exp: absent is allowed, and 0 counts as absent', async () => {
    expect(identify(await sign({ ext: IDENTIFIERS }))).toEqual(IDENTIFIED);
    expect(identify(await sign({ ext: IDENTIFIERS, exp: 0 }))).toEqual(IDENTIFIED);
  });

  test.each([
    { payload: `{"ext":${JSON.stringify(IDENTIFIERS)},"exp":"${NOW + 60}"}`, claim: 'exp' },
    { payload: `{"ext":${JSON.stringify(IDENTIFIERS)},"exp":null}`, claim: 'exp' },
    { payload: `{"ext":${JSON.stringify(IDENTIFIERS)},"nbf":true}`, claim: 'nbf' },
  ])('exp/nbf: a non-number $claim is unauthorized ($payload)', async ({ payload, claim }) => {
    expect(identify(await signPayload(payload))).toEqual(unauthorized(`token has invalid claims: invalid type for claim: ${claim} is invalid`));
  });

  test('nbf: a future nbf is unauthorized; a reached nbf identifies', async () => {
    const notYet = await new jose.SignJWT({ ext: IDENTIFIERS }).setProtectedHeader({ alg: 'HS256' }).setNotBefore(NOW + 1).sign(key());
    expect(identify(notYet)).toEqual(unauthorized('token has invalid claims: token is not valid yet'));
    expect(identify(await sign({ ext: IDENTIFIERS, nbf: NOW }))).toEqual(IDENTIFIED);
  });

  test('nbf: valid from its very second on (now < nbf refuses, not now <= nbf)', async () => {
    expect(identify(await sign({ ext: IDENTIFIERS, nbf: NOW }), SETTINGS, NOW * 1000)).toEqual(IDENTIFIED);
    expect(identify(await sign({ ext: IDENTIFIERS, nbf: NOW }), SETTINGS, NOW * 1000 - 1)).toEqual(unauthorized('token has invalid claims: token is not valid yet'));
  });

  test('nbf: expired and not yet valid together is token_expired', async () => {
    expect(identify(await sign({ ext: IDENTIFIERS, exp: NOW - 1, nbf: NOW + 1 }))).toEqual(EXPIRED);
  });

  test('iat: a future iat is not checked', async () => {
    const token = await new jose.SignJWT({ ext: IDENTIFIERS }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(NOW + 3600).sign(key());
    expect(identify(token)).toEqual(IDENTIFIED);
  });

  test('ext: missing is an error, not a rejection', async () => {
    expect(identify(await sign({ sub: '42', exp: NOW + 60 }))).toEqual({
      kind: 'error', message: `JWT token doesn't contain identifiers: {"sub":"42","exp":${NOW + 60}}`,
    });
  });

  test('ext: an object rather than a JSON string is an error', async () => {
    expect(identify(await sign({ ext: { current_user: '42' } }))).toEqual({
      kind: 'error', message: 'JWT token doesn\'t contain identifiers: {"ext":{"current_user":"42"}}',
    });
  });

  test('ext: is passed through as sent, even when it is not JSON', async () => {
    expect(identify(await sign({ ext: 'not json' }))).toEqual({ kind: 'identified', identifiers: 'not json' });
  });

  test('payload: null decodes as empty claims (as Go does), so it is an error', async () => {
    expect(identify(await signPayload('null'))).toEqual({ kind: 'error', message: 'JWT token doesn\'t contain identifiers: {}' });
  });
});

describe('identifyByJwt: malformed tokens', () => {
  let valid: string;
  let header: string;
  let payload: string;
  let signature: string;
  beforeAll(async () => {
    valid = await sign({ ext: IDENTIFIERS });
    [header, payload, signature] = valid.split('.');
  });

  const SEGMENTS = 'token is malformed: token contains an invalid number of segments';
  test.each<[string, (t: { header: string; payload: string; signature: string }) => string, string]>([
    ['one segment', ({ header: h }) => h, SEGMENTS],
    ['two segments', ({ header: h, payload: p }) => `${h}.${p}`, SEGMENTS],
    ['four segments', ({ header: h, payload: p, signature: s }) => `${h}.${p}.${s}.${s}`, SEGMENTS],
    ['padding in the header', ({ header: h, payload: p, signature: s }) => `${h}=.${p}.${s}`, 'token is malformed: could not base64 decode header'],
    ['standard-alphabet "+" in the payload', ({ header: h, payload: p, signature: s }) => `${h}.+${p.slice(1)}.${s}`, 'token is malformed: could not base64 decode claim'],
    ['a payload of 4n+1 characters', ({ header: h, payload: p, signature: s }) => `${h}.${p}${'A'.repeat(5 - (p.length % 4))}.${s}`, 'token is malformed: could not base64 decode claim'],
    ['padding in the signature', ({ header: h, payload: p, signature: s }) => `${h}.${p}.${s}=`, 'token is malformed: could not base64 decode signature'],
    ['"/" in the signature', ({ header: h, payload: p, signature: s }) => `${h}.${p}.${s.slice(0, -1)}/`, 'token is malformed: could not base64 decode signature'],
    ['a header that is not JSON', ({ payload: p, signature: s }) => `${b64('{alg:HS256}')}.${p}.${s}`, 'token is malformed: could not JSON decode header'],
    ['a header that is a JSON array', ({ payload: p, signature: s }) => `${b64('["HS256"]')}.${p}.${s}`, 'token is malformed: could not JSON decode header'],
    ['an empty header', ({ payload: p, signature: s }) => `.${p}.${s}`, 'token is malformed: could not JSON decode header'],
    ['a payload that is not JSON', ({ header: h, signature: s }) => `${h}.${b64('{"ext":')}.${s}`, 'token is malformed: could not JSON decode claim'],
    ['a tampered payload', ({ header: h, signature: s }) => `${h}.${b64(JSON.stringify({ ext: '{"current_user":"admin"}' }))}.${s}`, BAD_SIGNATURE.detail],
    ['a truncated signature', ({ header: h, payload: p, signature: s }) => `${h}.${p}.${s.slice(0, -4)}`, BAD_SIGNATURE.detail],
    ['an empty signature', ({ header: h, payload: p }) => `${h}.${p}.`, BAD_SIGNATURE.detail],
  ])('malformed: %s is unauthorized', (_name, build, detail) => {
    expect(identify(build({ header, payload, signature }))).toEqual(unauthorized(detail));
  });

  test.each(['[1,2]', '"ext"', '42', 'true'])('payload: a correctly signed non-object payload %s is unauthorized', async (json) => {
    expect(identify(await signPayload(json))).toEqual(unauthorized('token is malformed: could not JSON decode claim'));
  });

  test('payload: a number beyond float64 is malformed, as in Go, not Infinity', async () => {
    const token = await signPayload(`{"ext":${JSON.stringify(IDENTIFIERS)},"exp":1e400}`);
    expect(identify(token)).toEqual(unauthorized('token is malformed: could not JSON decode claim'));
  });

  test('base64url: CR and LF inside a segment are skipped, as Go\'s decoder does', () => {
    expect(identify(`${header}.${payload}.${signature.slice(0, 10)}\r\n${signature.slice(10)}`)).toEqual(IDENTIFIED);
  });

  test('base64url: non-zero trailing bits are accepted (golang-jwt decodes non-strictly)', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // 32 bytes take 43 characters; the last one's low 2 bits are padding, so flip its lowest bit.
    const last = alphabet.indexOf(signature[42]);
    const flipped = `${signature.slice(0, 42)}${alphabet[last % 2 === 0 ? last + 1 : last - 1]}`;
    expect(flipped).not.toBe(signature);
    expect(identify(`${header}.${payload}.${flipped}`)).toEqual(IDENTIFIED);
  });
});
