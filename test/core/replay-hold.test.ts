import { CONNECTION_ID, makeWorld, pubsubIdentifier, send, subscribeCommand, World } from './support';
import { fanOut } from '../../lambda/core/broadcast';
import { connect } from '../../lambda/core/connect';
import { REPLAY_HOLD_MS } from '../../lambda/core/replay-hold';

const ROOM = 'room:1';
const IDENTIFIER = pubsubIdentifier({ stream_name: ROOM });

async function subscribed(): Promise<World> {
  const world = makeWorld({ secret: 'secret', publicStreams: true });
  await connect(world, { connectionId: CONNECTION_ID, headers: { 'sec-websocket-protocol': 'actioncable-v1-json' }, query: {} });
  world.transport.open(CONNECTION_ID);
  await send(world, subscribeCommand(IDENTIFIER));
  return world;
}

describe('replay hold', () => {
  test('a replay that died holds fan-out to its row until its hold has passed, then the frame goes on the poll that reaches it', async () => {
    const world = await subscribed();
    // Held 100 ms ago by a replay whose invocation then timed out, so nothing releases it.
    const holdUntil = world.clock.now() - 100 + REPLAY_HOLD_MS;
    expect(await world.subscriptions.hold({ stream: ROOM, connectionId: CONNECTION_ID, identifier: IDENTIFIER }, holdUntil)).toBe(true);
    await fanOut(world, { stream: ROOM, data: '"late"' });
    expect(world.transport.framesOf(CONNECTION_ID)).toEqual([{ identifier: IDENTIFIER, message: 'late' }]);
    // The row is read again at most every 200 ms (after 20, 40, 80 and 160): here a poll lands on
    // the hold's end exactly, and the frame goes then, not a poll (or more) later.
    expect(world.clock.now() - holdUntil).toBe(0);
    expect(Math.max(...world.clock.sleeps)).toBe(200);
  });

  test('a row whose hold has just ended is delivered without a wait', async () => {
    const world = await subscribed();
    await world.subscriptions.hold({ stream: ROOM, connectionId: CONNECTION_ID, identifier: IDENTIFIER }, world.clock.now());
    await fanOut(world, { stream: ROOM, data: '"now"' });
    expect(world.transport.framesOf(CONNECTION_ID)).toEqual([{ identifier: IDENTIFIER, message: 'now' }]);
    expect(world.clock.sleeps).toEqual([]);
  });
});
