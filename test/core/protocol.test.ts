import { frameHead } from '../../lambda/core/protocol';

// frameHead reads the app's transmissions (RPC replies carry frames as text) to find a confirm, a
// rejection or a disconnect among them; anything that is not a JSON object has no head.
describe('frameHead', () => {
  test('a JSON object: its type and identifier', () => {
    expect(frameHead('{"type":"confirm_subscription","identifier":"{\\"channel\\":\\"ChatChannel\\"}"}'))
      .toEqual({ type: 'confirm_subscription', identifier: '{"channel":"ChatChannel"}' });
  });

  test.each(['null', '5', '"confirm_subscription"', 'true', 'not json', ''])('%p: no head (undefined)', (text) => {
    expect(frameHead(text)).toBeUndefined();
  });
});
