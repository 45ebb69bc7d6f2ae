import { RpcConfig } from './config';
import { ChannelRecord, ConnectionRecord } from './ports';
import { RpcEnv } from './rpc-protocol';

/** The header anycable-go adds for the client's address (server/request_info.go `remoteAddrHeader`). */
export const REMOTE_ADDR_HEADER = 'REMOTE_ADDR';

/**
 * `env.headers` as anycable-go builds them (server/headers_extractor.go): the proxied headers
 * that are present (the cookie header filtered to `proxyCookies` when set), and the client's
 * address as `REMOTE_ADDR`.
 */
export function proxiedHeaders(
  config: RpcConfig,
  headers: Readonly<Record<string, string>>,
  remoteAddress: string | undefined,
): Record<string, string> {
  const result: Record<string, string> = {};
  for (const name of config.proxyHeaders) {
    let value = headers[name];
    if (name === 'cookie' && value !== undefined && config.proxyCookies) value = filterCookies(value, config.proxyCookies);
    if (value) result[name] = value;
  }
  if (remoteAddress) result[REMOTE_ADDR_HEADER] = remoteAddress;
  return result;
}

/** server/request_info.go `parseCookies`: keeps `name=value` pairs whose name is listed, each followed by `;`. */
function filterCookies(value: string, names: readonly string[]): string {
  const wanted = new Set(names);
  return value.split(';')
    .filter((cookie) => {
      const parts = cookie.split('=');
      return parts.length === 2 && wanted.has(parts[0]);
    })
    .map((cookie) => `${cookie};`)
    .join('');
}

/**
 * `env.url` as anycable-go sends it (server/request_info.go `NewRequestInfo`): the upgrade
 * request's URL with an `http(s)` scheme, which Rack and Rails understand; API Gateway's `wss:`
 * becomes `https:`.
 */
export function requestUrl(url: string | undefined): string {
  if (!url) return '';
  return url.replace(/^wss:/i, 'https:').replace(/^ws:/i, 'http:');
}

/** The env of a command: the connection's, with one channel's state (protocol.go `buildChannelEnv`). */
export function commandEnv(config: RpcConfig, record: ConnectionRecord, channel: ChannelRecord | undefined): RpcEnv {
  return {
    url: requestUrl(record.url),
    headers: proxiedHeaders(config, record.headers, record.remoteAddress),
    cstate: record.cstate ?? {},
    istate: channel?.state ?? {},
  };
}

/**
 * The env of a disconnect: each channel's state JSON-encoded under its identifier (protocol.go
 * `buildDisconnectEnv`); anycable-go keeps entries only for channels that were given state.
 */
export function disconnectEnv(config: RpcConfig, record: ConnectionRecord): RpcEnv {
  const channels = Object.entries(record.channels ?? {}).filter(([, channel]) => Object.keys(channel.state).length > 0);
  return {
    url: requestUrl(record.url),
    headers: proxiedHeaders(config, record.headers, record.remoteAddress),
    cstate: record.cstate ?? {},
    istate: Object.fromEntries(channels.map(([identifier, channel]) => [identifier, JSON.stringify(channel.state)])),
  };
}
