import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Origin verification: a CloudFront distribution in front of the API adds a secret header to
 * every request it sends the API, and `$connect` refuses any request without it, so that the
 * `execute-api` endpoint cannot be used to bypass the distribution (its WAF, geo restriction) nor
 * to forge `X-Forwarded-Host`, which only the distribution may set (docs/cloudfront.md).
 */
export interface OriginVerification {
  /** Header name, lower-cased. */
  readonly header: string;
  readonly secret: string;
}

/** A request header name (RFC 9110 token). */
export const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** Whether `headers` (names lower-cased) carry the secret; compared in constant time. */
export function carriesOriginSecret(verification: OriginVerification, headers: Readonly<Record<string, string>>): boolean {
  const sent = headers[verification.header];
  if (sent === undefined) return false;
  // Digests of equal length: timingSafeEqual needs equal lengths, and the secret's length stays hidden.
  return timingSafeEqual(digest(sent), digest(verification.secret));
}

/** The headers without the secret one: it must not reach the app (RPC `env.headers`) nor a stored row. */
export function withoutOriginSecret(
  verification: OriginVerification | undefined, headers: Readonly<Record<string, string>>,
): Readonly<Record<string, string>> {
  if (!verification || !(verification.header in headers)) return headers;
  const { [verification.header]: _secret, ...rest } = headers;
  return rest;
}

/**
 * `url` with its host replaced by `X-Forwarded-Host`, when that is a plain `host[:port]` (a
 * list keeps its first entry, the client-facing proxy's). Called only for a request that carried
 * the origin secret: any other client could name any host.
 */
export function forwardedUrl(url: string | undefined, headers: Readonly<Record<string, string>>): string | undefined {
  const forwarded = headers['x-forwarded-host']?.split(',')[0].trim();
  if (url === undefined || !forwarded || !/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(forwarded)) return url;
  return url.replace(/^(wss?:\/\/)[^/?#]*/i, `$1${forwarded}`);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
