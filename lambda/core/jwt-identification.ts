import { createHmac, timingSafeEqual } from 'node:crypto';
import { CableConfigError } from './errors';

/**
 * JWT identification, named after anycable-go's options (`--jwt_secret`, `--jwt_param`,
 * `--enforce_jwt`): a token signed by the app carries the connection identifiers in its `ext`
 * claim, so `$connect` needs no RPC call.
 * @see https://docs.anycable.io/anycable-go/jwt_identification
 * @see https://github.com/anycable/anycable-go/blob/v1.6.16/identity/jwt.go
 */
export interface JwtSettings {
  /** HMAC key, used as its UTF-8 bytes (`--jwt_secret`, which defaults to `--secret`). */
  readonly secret: string;
  /** Query parameter carrying the token; the header is `x-<param>` (`--jwt_param`, "jid" by default). */
  readonly param: string;
  /** Whether a connection without a token is rejected (`--enforce_jwt`) rather than left to RPC. */
  readonly enforce: boolean;
}

/**
 * What a token says about a connection. `none`: no token, so identification falls through to RPC
 * (or anonymous). `rejected` becomes `{"type":"disconnect","reason":<reason>,"reconnect":false}`
 * (anycable-go's unauthorized and expired responses). `error` is a valid token without
 * identifiers, which anycable-go treats as a fault rather than a rejection.
 */
export type JwtIdentification =
  | { kind: 'none' }
  | { kind: 'identified'; identifiers: string }
  | { kind: 'rejected'; reason: 'unauthorized' | 'token_expired'; detail: string }
  | { kind: 'error'; message: string };

/** The subprotocol prefix @anycable/web's `sub-protocol` auth strategy offers the token under. */
const SUBPROTOCOL_PREFIX = 'anycable-token.';

/** The HMAC algorithms golang-jwt registers as `*jwt.SigningMethodHMAC`, and their hashes. */
const HMAC_HASHES: Readonly<Record<string, string>> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

/** Every `alg` golang-jwt v5 registers; any other is "unavailable". */
const KNOWN_ALGS = new Set([
  ...Object.keys(HMAC_HASHES), 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'none',
]);

/** Go's `strings.TrimSpace` (unicode.IsSpace), which differs from `String.prototype.trim` at U+0085 and U+FEFF. */
const GO_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/**
 * Finds the token where anycable-go looks, in this order: the `x-<param>` header; the first
 * offered subprotocol starting `anycable-token.` (server/headers_extractor.go copies it into
 * that header, and a real header overrides it); the `<param>` query parameter. Header names
 * are lower-case. An empty value counts as absent; an empty `anycable-token.` still ends the
 * subprotocol search, as Go's loop breaks on the first match.
 * @see https://github.com/anycable/anycable-go/blob/v1.6.16/server/headers_extractor.go
 */
export function findJwtToken(
  headers: Readonly<Record<string, string>>, query: Readonly<Record<string, string>>, param: string,
): string | undefined {
  return nonEmpty(own(headers, `x-${param}`.toLowerCase()))
    ?? tokenFromSubprotocols(own(headers, 'sec-websocket-protocol'))
    ?? nonEmpty(own(query, param));
}

/**
 * Identifies a connection as anycable-go's `JWTIdentifier.Identify` does, with golang-jwt v5's
 * `jwt.Parse` semantics: only HMAC algorithms; the signature is checked before the claims, so a
 * forged expired token is `unauthorized`; `exp` (expired when now >= exp, whole seconds) and
 * `nbf` are optional, and 0 counts as absent; `iat` is not checked.
 * @see https://github.com/anycable/anycable-go/blob/v1.6.16/identity/jwt.go
 * @see https://github.com/golang-jwt/jwt/blob/v5.3.1/parser.go
 */
export function identifyByJwt(
  settings: JwtSettings,
  request: { headers: Readonly<Record<string, string>>; query: Readonly<Record<string, string>> },
  nowMs: number,
): JwtIdentification {
  // anycable-go builds no JWT identifier without a secret; an empty HMAC key would accept forgeries.
  if (settings.secret === '') throw new CableConfigError('jwt secret must not be empty (leave JWT identification off instead)');
  const token = findJwtToken(request.headers, request.query, settings.param);
  if (token === undefined) return settings.enforce ? unauthorized('no token is found') : { kind: 'none' };

  const claims = verifyJwt(token, settings.secret);
  if (typeof claims === 'string') return unauthorized(claims);
  const invalid = validateClaims(claims, nowMs);
  if (invalid === 'token is expired') return { kind: 'rejected', reason: 'token_expired', detail: `token has invalid claims: ${invalid}` };
  if (invalid !== undefined) return unauthorized(`token has invalid claims: ${invalid}`);

  const identifiers = own(claims, 'ext');
  if (typeof identifiers !== 'string') return { kind: 'error', message: `JWT token doesn't contain identifiers: ${JSON.stringify(claims)}` };
  return { kind: 'identified', identifiers };
}

/**
 * Parses and verifies a JWS compact token in golang-jwt's order (segments, header, claims, alg,
 * signature bytes, HMAC check, signature). Returns the claims, or why the token is refused in
 * golang-jwt's words.
 */
function verifyJwt(token: string, secret: string): Record<string, unknown> | string {
  const parts = token.split('.');
  if (parts.length !== 3) return 'token is malformed: token contains an invalid number of segments';
  const [headerPart, claimsPart, signaturePart] = parts;

  const headerBytes = decodeSegment(headerPart);
  if (headerBytes === undefined) return 'token is malformed: could not base64 decode header';
  const header = parseJson(headerBytes);
  if (header === undefined || (header !== null && !isObject(header))) return 'token is malformed: could not JSON decode header';

  const claimsBytes = decodeSegment(claimsPart);
  if (claimsBytes === undefined) return 'token is malformed: could not base64 decode claim';
  const claims = parseJson(claimsBytes);
  // Go decodes `null` into the empty MapClaims without error; any other non-object fails.
  if (claims === undefined || (claims !== null && !isObject(claims))) return 'token is malformed: could not JSON decode claim';

  const alg = header === null ? undefined : own(header, 'alg');
  if (typeof alg !== 'string') return 'token is unverifiable: signing method (alg) is unspecified';
  if (!KNOWN_ALGS.has(alg)) return 'token is unverifiable: signing method (alg) is unavailable';
  const signature = decodeSegment(signaturePart);
  if (signature === undefined) return 'token is malformed: could not base64 decode signature';
  const hash = own(HMAC_HASHES, alg);
  if (hash === undefined) return `token is unverifiable: error while executing keyfunc: unexpected signing method: ${alg}`;

  const expected = createHmac(hash, Buffer.from(secret, 'utf8')).update(`${headerPart}.${claimsPart}`, 'utf8').digest();
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return 'token signature is invalid: signature is invalid';
  return claims ?? {};
}

/**
 * golang-jwt v5's default `Validator`: valid while now < exp and from nbf on, both truncated to
 * whole seconds; a claim that is not a number is invalid. Expiry wins when both fail, as
 * `errors.Is(err, jwt.ErrTokenExpired)` finds it in the joined errors.
 */
function validateClaims(claims: Record<string, unknown>, nowMs: number): string | undefined {
  const exp = numericDate(claims, 'exp');
  const nbf = numericDate(claims, 'nbf');
  if (typeof exp === 'number' && nowMs >= exp * 1000) return 'token is expired';
  if (exp === 'invalid') return 'invalid type for claim: exp is invalid';
  if (nbf === 'invalid') return 'invalid type for claim: nbf is invalid';
  if (typeof nbf === 'number' && nowMs < nbf * 1000) return 'token is not valid yet';
  return undefined;
}

/** MapClaims.parseNumericDate: absent or 0 is no date; a number is whole seconds (floored). */
function numericDate(claims: Record<string, unknown>, name: string): number | undefined | 'invalid' {
  if (!Object.hasOwn(claims, name)) return undefined;
  const value = claims[name];
  if (typeof value !== 'number') return 'invalid';
  return value === 0 ? undefined : Math.floor(value);
}

/**
 * Go's `base64.RawURLEncoding`: the URL-safe alphabet without padding; CR and LF are skipped;
 * non-zero trailing bits are allowed (not strict mode). Node's own decoder skips anything.
 */
function decodeSegment(segment: string): Buffer | undefined {
  const text = segment.replace(/[\r\n]/g, '');
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  return Buffer.from(text, 'base64url');
}

/** JSON as Go's `encoding/json` reads it into `any`: a number beyond float64 is an error, not Infinity. */
function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'), (_key, value: unknown) => {
      if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError('number out of range');
      return value;
    });
  } catch {
    return undefined;
  }
}

function tokenFromSubprotocols(offered: string | undefined): string | undefined {
  if (offered === undefined) return undefined;
  const match = offered.split(',').map((protocol) => protocol.replace(GO_SPACE, '')).find((protocol) => protocol.startsWith(SUBPROTOCOL_PREFIX));
  return nonEmpty(match?.slice(SUBPROTOCOL_PREFIX.length));
}

function unauthorized(detail: string): JwtIdentification {
  return { kind: 'rejected', reason: 'unauthorized', detail };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A record's own value, so a `constructor` or `__proto__` parameter finds nothing inherited. */
function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
