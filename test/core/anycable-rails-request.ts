import { createHmac } from 'node:crypto';

/**
 * The request anycable-rails' HTTP broadcaster sends, rebuilt from its source
 * (docs/anycable-compatibility.md section 3): anycable-rb `lib/anycable/broadcast_adapters/http.rb`
 * posts with Net::HTTP, `Content-Type: application/json` and `Authorization: Bearer <key>`, the key
 * being `broadcast_key`, else `OpenSSL::HMAC.hexdigest("SHA256", secret, "broadcast-cable")`
 * (`lib/anycable/config.rb`); the body is `{stream:, data:, meta:}.compact.to_json`
 * (`broadcast_adapters/base.rb`), or one JSON array for a batch.
 */

/** anycable-rb's check value for the derivation: secret `s3Krit`. */
export const RAILS_SECRET = 's3Krit';
export const RAILS_BROADCAST_KEY = 'a239a7ca182c90fc32bdedf73703d271388cf433843affffd3a5e757041fc716';

/** OpenSSL::HMAC.hexdigest("SHA256", secret, "broadcast-cable"), computed here independently of lambda/. */
export function railsBroadcastKey(secret: string): string {
  return createHmac('sha256', secret).update('broadcast-cable').digest('hex');
}

/**
 * ActiveSupport::JSON.encode as Rails configures it (`escape_html_entities_in_json` true): `<`, `>`
 * and `&` become \u003c, \u003e, \u0026, and U+2028/U+2029 are escaped.
 */
export function activeSupportJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** The headers Net::HTTP puts on that POST, with the names as it writes them. */
export function railsHeaders(key: string, host = 'localhost:8080'): Record<string, string> {
  return {
    'Accept-Encoding': 'gzip;q=1.0,deflate;q=0.6,identity;q=0.3',
    'Accept': '*/*',
    'User-Agent': 'Ruby',
    'Host': host,
    'Content-Type': 'application/json',
    'Authorization': `Bearer ${key}`,
  };
}

/**
 * One publication: `ActionCable.server.broadcast(stream, message)` encodes `message` with
 * ActiveSupport::JSON, and the adapter encodes `{stream:, data:, meta:}.compact` again.
 */
export function railsPublication(stream: string, message: unknown, meta?: Record<string, unknown>): Record<string, unknown> {
  return meta === undefined ? { stream, data: activeSupportJson(message) } : { stream, data: activeSupportJson(message), meta };
}

export function railsBody(publications: Record<string, unknown> | Record<string, unknown>[]): string {
  return activeSupportJson(publications);
}

/**
 * What turbo-rails sends for `broadcast_append_to(room, :messages, target: "messages", html:)`:
 * the stream name joins the streamables with ":", a record as `to_gid_param` (its GlobalID
 * `gid://chat/Room/1`, URL-safe base64 without padding); the message is the `<turbo-stream>` HTML.
 */
export const TURBO_STREAM_NAME = `${Buffer.from('gid://chat/Room/1').toString('base64url')}:messages`;
export const TURBO_APPEND_HTML = '<turbo-stream action="append" target="messages"><template><div id="message_7">Hi & welcome</div></template></turbo-stream>';
