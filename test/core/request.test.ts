import { boundEntries, offeredSubprotocols, storedHeaders } from '../../lambda/core/request';

describe('boundEntries: what a row keeps of headers or a query, within a byte budget', () => {
  // Each entry is 2 bytes (one-letter name, one-letter value), so a budget counts entries.
  test.each<{ name: string; entries: Record<string, string>; budget: number; kept: Record<string, string> }>([
    { name: 'entries that fill the budget exactly are all kept', entries: { a: '1', b: '2', c: '3' }, budget: 6, kept: { a: '1', b: '2', c: '3' } },
    { name: 'one byte short: the last of equal-sized entries goes, the earlier ones stay', entries: { a: '1', b: '2', c: '3' }, budget: 5, kept: { a: '1', b: '2' } },
    { name: 'of equal-sized entries the earliest are kept, in their order', entries: { a: '1', b: '2', c: '3', d: '4' }, budget: 4, kept: { a: '1', b: '2' } },
    { name: 'the largest goes first, and the small ones after it stay', entries: { big: 'x'.repeat(10), a: '1', b: '2' }, budget: 6, kept: { a: '1', b: '2' } },
  ])('$name', ({ entries, budget, kept }) => {
    const result = boundEntries(entries, budget);
    expect(result).toEqual(kept);
    expect(Object.keys(result)).toEqual(Object.keys(kept));
  });

  test('storedHeaders: the handshake\'s own headers are never kept, whatever is proxied', () => {
    const headers = {
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-extensions': 'permessage-deflate',
      'sec-websocket-version': '13',
      'connection': 'Upgrade',
      'upgrade': 'websocket',
      'origin': 'https://app.example.com',
    };
    expect(storedHeaders(headers)).toEqual({ origin: 'https://app.example.com' });
  });
});

describe('offeredSubprotocols: Sec-WebSocket-Protocol, in order', () => {
  test.each<{ name: string; header?: string; offered: string[] }>([
    { name: 'no header: none', offered: [] },
    { name: 'an empty header: none', header: '', offered: [] },
    { name: 'a list, spaces around names dropped', header: 'actioncable-v1-ext-json, actioncable-v1-json ,x', offered: ['actioncable-v1-ext-json', 'actioncable-v1-json', 'x'] },
    { name: 'empty entries are no subprotocol', header: 'actioncable-v1-json,, ,', offered: ['actioncable-v1-json'] },
  ])('$name', ({ header, offered }) => {
    expect(offeredSubprotocols(header === undefined ? {} : { 'sec-websocket-protocol': header })).toEqual(offered);
  });
});
