import { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * True for a request a browser sent from a page of another origin: its `Origin` header is set and
 * is not this server's. Requests without `Origin` (curl, the AWS SDK, anycable-rails, Node's
 * fetch) are not foreign; browsers send `Origin` on every cross-origin POST, `fetch` or form.
 *
 * This server's origin is `http://` and the `Host` the request came to, when that host is an IP
 * address or `localhost`: under a DNS name, a page at `http://attacker.example:8080` whose name
 * was re-pointed to 127.0.0.1 (DNS rebinding) would send a matching `Origin` and `Host`.
 */
export function isForeignOrigin(request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  const host = request.headers.host ?? '';
  return origin !== `http://${host}` || !isLocalName(host);
}

function isLocalName(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '');
  return name === 'localhost' || isIP(name) !== 0;
}
