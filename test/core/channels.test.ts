import { CONNECTION_ID, makeWorld, openConnections, SECRET, send, subscribeCommand } from './support';
import { isBuiltInChannel, parseIdentifier, resolveChannel } from '../../lambda/core/channels';

/**
 * An identifier is client input parsed as JSON a second time: whatever JSON it holds, a
 * non-object has no channel and is refused, never thrown on (JSON `null` is an "object" to
 * `typeof`, and reading `.channel` of it would throw).
 */
describe('identifiers that are JSON but not an object', () => {
  const NOT_OBJECTS = ['null', '[]', '[{"channel":"$pubsub"}]', '"$pubsub"', '42', 'true'];

  test.each(NOT_OBJECTS)('parseIdentifier: %s has no channel', (identifier) => {
    expect(parseIdentifier(identifier)).toBeUndefined();
    expect(isBuiltInChannel(identifier)).toBe(false);
    expect(resolveChannel(makeWorld().config, identifier)).toEqual({ kind: 'reject', reason: 'invalid_identifier' });
  });

  test.each(NOT_OBJECTS)('subscribe: identifier %s is rejected with reject_subscription', async (identifier) => {
    const world = makeWorld({ secret: SECRET, publicStreams: true });
    await openConnections(world, CONNECTION_ID);
    expect(await send(world, subscribeCommand(identifier))).toEqual({ frames: [{ type: 'reject_subscription', identifier }], close: false });
  });
});
