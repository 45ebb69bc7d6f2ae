import { connectionRow, makeRpcWorld, putConnection, RpcWorld } from './rpc-support';
import { CONNECTION_ID, SECRET } from './support';
import { MemoryStreamHistory } from '../../lambda/adapters/memory/memory-stream-history';
import { deliverBroadcast, DeliverBroadcastDeps } from '../../lambda/core/broadcast';
import { handleMessage, MessageDeps, MessageResult } from '../../lambda/core/message';
import { REPLAY_HOLD_MS } from '../../lambda/core/replay-hold';

/*
 * Reliable streams for the app's own channels (issue 16): an ext client resubscribing to an RPC
 * channel with `history` gets what it missed on the streams the app starts, as for Turbo and
 * $pubsub (anycable-go node/node.go: `Subscribe` calls `History` after a confirmed subscribe).
 */

const EXT = 'actioncable-v1-ext-json';
const SID = 'AAAAAAAAAAAAAAAAAAAAAA';
const CHAT = JSON.stringify({ channel: 'ChatChannel', room: 'lobby' });
const STREAM = 'chat:lobby';
const APP_CONFIRM = `{"identifier":${JSON.stringify(CHAT)},"type":"confirm_subscription"}`;
const SUBSCRIBED = { status: 1, streams: [STREAM], transmissions: [APP_CONFIRM] };

type HistoryRpcWorld = RpcWorld & { readonly history: MemoryStreamHistory; readonly shards: { dispatch(): Promise<void> } };

function world(): HistoryRpcWorld {
  return { ...makeRpcWorld({ secret: SECRET }), history: new MemoryStreamHistory(), shards: { dispatch: async () => undefined } };
}

function deps(w: HistoryRpcWorld): MessageDeps {
  const { config, subscriptions, connections, clock, logger, rpc, history } = w;
  return { config, subscriptions, connections, clock, logger, rpc, history };
}

async function broadcast(w: HistoryRpcWorld, message: string): Promise<void> {
  await deliverBroadcast(w as unknown as DeliverBroadcastDeps, { stream: STREAM, data: JSON.stringify(message) });
}

/** Three broadcasts to the stream before the client (re)subscribes: its epoch. */
async function threeBroadcasts(w: HistoryRpcWorld): Promise<string> {
  for (const m of ['one', 'two', 'three']) await broadcast(w, m);
  return (await w.history.position(STREAM, w.clock.now()))!.epoch;
}

function send(w: HistoryRpcWorld, frame: Record<string, unknown>): Promise<MessageResult> {
  return handleMessage(deps(w), { connectionId: CONNECTION_ID, body: JSON.stringify(frame), binary: false });
}

function posted(result: MessageResult): unknown[] {
  return [...result.frames, ...(result.transmissions ?? []).map((text) => JSON.parse(text) as unknown)];
}

const positioned = (message: string, offset: number, epoch: string) => ({ identifier: CHAT, message, stream_id: STREAM, epoch, offset });

describe('app channels: subscribe with history', () => {
  test('an ext client gets the app\'s confirmation, what it missed on the app\'s streams in order, then confirm_history; rows held until sent', async () => {
    const w = world();
    await putConnection(w, connectionRow({ subprotocol: EXT, sid: SID }));
    const epoch = await threeBroadcasts(w);
    w.peer.answer(SUBSCRIBED);
    const result = await send(w, { command: 'subscribe', identifier: CHAT, history: { streams: { [STREAM]: { offset: 1, epoch } } } });
    expect(posted(result)).toEqual([
      JSON.parse(APP_CONFIRM), positioned('two', 2, epoch), positioned('three', 3, epoch), { type: 'confirm_history', identifier: CHAT },
    ]);
    expect(w.subscriptions.all()).toEqual([expect.objectContaining({ stream: STREAM, sid: SID, holdUntil: w.clock.now() + REPLAY_HOLD_MS })]);
    await result.afterSent?.();
    expect(w.subscriptions.all()).toEqual([expect.objectContaining({ stream: STREAM, liveFrom: 4 })]);
    expect(w.subscriptions.all()[0].holdUntil).toBeUndefined();
  });

  test('since: the kept messages stored since then', async () => {
    const w = world();
    await putConnection(w, connectionRow({ subprotocol: EXT, sid: SID }));
    const epoch = await threeBroadcasts(w);
    w.peer.answer(SUBSCRIBED);
    const result = await send(w, { command: 'subscribe', identifier: CHAT, history: { since: Math.floor(w.clock.now() / 1000) - 60 } });
    expect(posted(result).slice(1, 4)).toEqual([positioned('one', 1, epoch), positioned('two', 2, epoch), positioned('three', 3, epoch)]);
  });

  test('a plain client\'s history is ignored: the app\'s answer alone, and its rows are not held', async () => {
    const w = world();
    await putConnection(w, connectionRow());
    await threeBroadcasts(w);
    w.peer.answer(SUBSCRIBED);
    const result = await send(w, { command: 'subscribe', identifier: CHAT, history: { since: 1 } });
    expect(posted(result)).toEqual([JSON.parse(APP_CONFIRM)]);
    expect(w.subscriptions.all()[0].holdUntil).toBeUndefined();
  });

  test('the app rejects: its rejection alone, no replay, no rows', async () => {
    const w = world();
    await putConnection(w, connectionRow({ subprotocol: EXT, sid: SID }));
    await threeBroadcasts(w);
    w.peer.answer({ status: 2, transmissions: [] });
    const result = await send(w, { command: 'subscribe', identifier: CHAT, history: { since: 1 } });
    expect(posted(result)).toEqual([{ type: 'reject_subscription', identifier: CHAT }]);
    expect(w.subscriptions.all()).toEqual([]);
  });

  test('malformed history: the app\'s confirmation, then reject_history; rows not held', async () => {
    const w = world();
    await putConnection(w, connectionRow({ subprotocol: EXT, sid: SID }));
    w.peer.answer(SUBSCRIBED);
    const result = await send(w, { command: 'subscribe', identifier: CHAT, history: 'everything' });
    expect(posted(result)).toEqual([JSON.parse(APP_CONFIRM), { type: 'reject_history', identifier: CHAT }]);
    expect(w.subscriptions.all()[0].holdUntil).toBeUndefined();
  });

  test('malformed history: the rejection is logged with its reason, the identifier cut at 100 characters', async () => {
    const w = world();
    await putConnection(w, connectionRow({ subprotocol: EXT, sid: SID }));
    const long = JSON.stringify({ channel: 'ChatChannel', room: 'x'.repeat(200) });
    w.peer.answer({ ...SUBSCRIBED, transmissions: [] });
    const result = await send(w, { command: 'subscribe', identifier: long, history: 'everything' });
    expect(posted(result)).toEqual([{ type: 'reject_history', identifier: long }]);
    expect(w.logger.entries.filter((entry) => entry.event === 'history.rejected')).toEqual([
      { level: 'info', event: 'history.rejected', fields: { connectionId: CONNECTION_ID, identifier: long.slice(0, 100), reason: 'history_not_an_object' } },
    ]);
  });

  test('a changed epoch: the app\'s confirmation, then reject_history, and the rows are released', async () => {
    const w = world();
    await putConnection(w, connectionRow({ subprotocol: EXT, sid: SID }));
    await threeBroadcasts(w);
    w.peer.answer(SUBSCRIBED);
    const result = await send(w, { command: 'subscribe', identifier: CHAT, history: { streams: { [STREAM]: { offset: 1, epoch: 'another' } } } });
    expect(posted(result)).toEqual([JSON.parse(APP_CONFIRM), { type: 'reject_history', identifier: CHAT }]);
    await result.afterSent?.();
    expect(w.subscriptions.all()[0].holdUntil).toBeUndefined();
  });
});

describe('app channels: the history command (after a session restore)', () => {
  test('replays the streams the connection row keeps for the channel, without calling the app', async () => {
    const w = world();
    const epoch = await threeBroadcasts(w);
    // Restored after them (session-restore.ts): the row keeps the channel's streams.
    await putConnection(w, connectionRow({ subprotocol: EXT, sid: SID, channels: { [CHAT]: { state: {}, streams: [STREAM] } } }));
    const result = await send(w, { command: 'history', identifier: CHAT, history: { streams: { [STREAM]: { offset: 2, epoch } } } });
    expect(posted(result)).toEqual([positioned('three', 3, epoch), { type: 'confirm_history', identifier: CHAT }]);
    expect(w.peer.calls).toEqual([]);
  });

  test('a channel the connection is not subscribed to: reject_history', async () => {
    const w = world();
    await putConnection(w, connectionRow({ subprotocol: EXT, sid: SID }));
    const result = await send(w, { command: 'history', identifier: CHAT, history: { since: 1 } });
    expect(posted(result)).toEqual([{ type: 'reject_history', identifier: CHAT }]);
    expect(w.logger.entries).toContainEqual(expect.objectContaining({ event: 'history.rejected', fields: expect.objectContaining({ reason: 'not_subscribed' }) }));
  });
});
