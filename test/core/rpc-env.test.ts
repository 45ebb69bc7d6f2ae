import { connectionRow } from './rpc-support';
import { SECRET } from './support';
import { resolveConfig } from '../../lambda/core/config';
import { disconnectEnv, proxiedHeaders, requestUrl } from '../../lambda/core/rpc-env';

describe('requestUrl: env.url as anycable-go sends it, the upgrade URL with an http(s) scheme', () => {
  test.each<{ url: string | undefined; expected: string }>([
    { url: 'wss://cable.example.com/prod?room=1', expected: 'https://cable.example.com/prod?room=1' },
    { url: 'ws://localhost:3334/cable', expected: 'http://localhost:3334/cable' },
    { url: 'WSS://cable.example.com/prod', expected: 'https://cable.example.com/prod' },
    // Only the scheme changes: the rest reaches the app verbatim.
    { url: 'wss://cable.example.com/prod?back=ws://x', expected: 'https://cable.example.com/prod?back=ws://x' },
    { url: 'ws://localhost:3334/cable?back=wss://x', expected: 'http://localhost:3334/cable?back=wss://x' },
    { url: undefined, expected: '' },
  ])('$url -> $expected', ({ url, expected }) => {
    expect(requestUrl(url)).toBe(expected);
  });
});

describe('proxiedHeaders', () => {
  test('rpcCookies: a request without a cookie passes no cookie header', () => {
    const config = resolveConfig({ secret: SECRET, rpcCookies: ['user_id'] }).rpc;
    expect(proxiedHeaders(config, { origin: 'https://app.example.com' }, '198.51.100.7')).toEqual({ REMOTE_ADDR: '198.51.100.7' });
  });
});

describe('disconnectEnv: istate as anycable-go builds it (protocol.go buildDisconnectEnv)', () => {
  test('only channels that were given state have an istate entry', () => {
    const config = resolveConfig({ secret: SECRET }).rpc;
    const record = connectionRow({
      channels: {
        '{"channel":"Chat"}': { state: { typing: 'true' }, streams: ['chat'] },
        '{"channel":"Notes"}': { state: {}, streams: ['notes'] },
      },
    });
    expect(disconnectEnv(config, record).istate).toEqual({ '{"channel":"Chat"}': '{"typing":"true"}' });
  });
});
