import { WebSocket } from 'ws';
import { AnytClient, anytClient, ANYT_QUIET_MS } from './support/anyt-client';
import { MAX_PRESENCE_INFO_BYTES } from '../../lambda/core/presence';
import { useDynalite } from '../support/dynalite';
import { closeServers, startTestServer } from '../support/local-server';
import { RecordingServer } from '../support/rpc-test-server';

/*
 * anycable-go's presence conformance scenarios (anycable/anycable `etc/anyt/presence_tests/`,
 * added in 9e3bdc70 "tests: anyt presence tests"), frame for frame with raw `ws` clients, on the
 * memory store and dynalite. anycable-go's Makefile runs them with `ANYCABLE_PRESENCE_TTL=2`;
 * here it is 3, as expiry is kept in whole epoch seconds (2 to 3 s in effect), room enough for a
 * fresh client to ask `info` within it on a loaded machine.
 *
 * Where we differ on purpose:
 * - Who names the presence. The anyt channels call anycable-rails' `join_presence` in `subscribed`
 *   or an action, and the RPC reply carries `presence` (rpc.proto `PresenceResponse`); that reply
 *   field is not read here (docs/presence.md "Not done"). The channel's RPC reply sets the channel
 *   state `$p` to the stream (as `join_presence` does; node.go `handlePresenceReply` reads the
 *   stream from `$p` too) and the client names itself, as `@anycable/core` does: a `subscribe`
 *   carrying `presence`, or a `join`. What goes out, frame for frame, is anycable-go's.
 * - A closed socket's `leave` comes when its presence TTL runs out (anycable-go's broker sweep);
 *   this tree has no such announcement yet (docs/presence.md "Not done", another helper is
 *   building it), so the close scenarios assert what `info` says after the TTL, and the frame is a
 *   `test.todo`.
 */

const SECRET = 'anyt-presence-secret';
const PRESENCE_TTL_SECONDS = 3;
/** Past the TTL: expiry is kept in whole epoch seconds. */
const PAST_TTL_MS = (PRESENCE_TTL_SECONDS + 1.2) * 1000;
/** The anyt channels: `stream_from "a"` + `join_presence` (implicit), `stream_from "b"` + `join_presence "b_p"` (explicit). */
const IMPLICIT = JSON.stringify({ channel: 'PresenceImplicitChannel' });
const EXPLICIT = JSON.stringify({ channel: 'PresenceExplicitChannel' });
const PERFORM = JSON.stringify({ channel: 'PresencePerformChannel' });
/** A channel with neither `$p` nor `$w` in its state (`stream_from "c"`). */
const PLAIN = JSON.stringify({ channel: 'PlainChannel' });
/**
 * What each channel's subscribe reply holds. The explicit channel's subscribers get `b_p`'s
 * presence events in the scenario, and anycable-go delivers a stream's broadcasts (presence events
 * are broadcasts, node.go `broadcastPresenceEvent`) only to its subscribers: the reply streams `b_p` too.
 */
const CHANNEL_STATE: Record<string, { streams: string[]; state: Record<string, string> }> = {
  [IMPLICIT]: { streams: ['a'], state: { $p: 'a' } },
  [EXPLICIT]: { streams: ['b', 'b_p'], state: { $p: 'b_p' } },
  [PERFORM]: { streams: ['a'], state: { $p: 'a' } },
  [PLAIN]: { streams: ['c'], state: {} },
};

type Store = 'memory' | 'dynalite';

const dynamo = useDynalite();
const sockets: WebSocket[] = [];
const apps: RecordingServer[] = [];

afterEach(async () => {
  sockets.splice(0).forEach((ws) => ws.terminate());
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  await closeServers();
});

/** The anyt app's AnyCable RPC: connect welcomes, subscribe streams and sets the channel's state, the rest succeed. */
async function anytApp(): Promise<string> {
  const app = new RecordingServer();
  apps.push(app);
  app.handler = (request, res) => {
    const body = JSON.parse(request.body) as { command?: string; identifier?: string };
    const channel = body.identifier !== undefined ? CHANNEL_STATE[body.identifier] : undefined;
    const reply = request.url.endsWith('/connect')
      ? { status: 1, identifiers: '{}', transmissions: [JSON.stringify({ type: 'welcome' })] }
      : body.command === 'subscribe' && channel
        ? { status: 1, streams: channel.streams, env: { istate: channel.state }, transmissions: [JSON.stringify({ identifier: body.identifier, type: 'confirm_subscription' })] }
        : { status: 1 };
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(reply));
  };
  return `${await app.start()}/_anycable`;
}

async function startServer(store: Store) {
  const tables = store === 'memory' ? undefined : await dynamo.createTables('anyt-presence');
  return startTestServer({
    ...(tables ? { store: { kind: 'dynamodb', endpoint: dynamo.endpoint, ...tables } } : {}),
    rpc: { url: await anytApp() },
    settings: { secret: SECRET, presenceTtlSeconds: PRESENCE_TTL_SECONDS },
  });
}

const ack = (identifier: string) => ({ identifier, type: 'confirm_subscription' });
const presenceFrame = (identifier: string, message: Record<string, unknown>) => ({ identifier, type: 'presence', message });
const joinMessage = (identifier: string, id: string, info: unknown) => presenceFrame(identifier, { type: 'join', id, info });
const leaveMessage = (identifier: string, id: string) => presenceFrame(identifier, { type: 'leave', id });
const errorMessage = (identifier: string) => presenceFrame(identifier, { type: 'error' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** anyt's `assert_raises(Anyt::Client::TimeoutError) { client.receive(timeout: 0.5) }`. */
async function expectNothing(client: AnytClient): Promise<void> {
  await expect(client.receive(ANYT_QUIET_MS)).rejects.toThrow('Anyt::Client::TimeoutError');
}

/** The ids `info` lists, asked by a fresh subscriber (whose queue holds only its ack and the answer). */
async function presentIds(url: string, identifier: string): Promise<unknown> {
  const watcher = await anytClient(url, sockets);
  watcher.send({ command: 'subscribe', identifier });
  expect(await watcher.receive()).toEqual(ack(identifier));
  watcher.send({ command: 'presence', identifier, data: {} });
  const answer = await watcher.receive();
  return (answer.message as { records: Array<{ id: string }> }).records.map((record) => record.id);
}

describe.each<Store>(['memory', 'dynalite'])('anycable-go etc/anyt/presence_tests (presence TTL 3 s), %s', (store) => {
  // perform_test.rb, "Join and leave channel while performing actions"
  test('perform_test.rb: join and leave while performing actions reach both subscribers', async () => {
    const server = await startServer(store);
    // anyt's default client speaks actioncable-v1-json: presence events reach it as well.
    const client = await anytClient(server.url, sockets, 'actioncable-v1-json');
    const client2 = await anytClient(server.url, sockets);
    client.send({ command: 'subscribe', identifier: PERFORM });
    expect(await client.receive()).toEqual(ack(PERFORM));
    client2.send({ command: 'subscribe', identifier: PERFORM });
    expect(await client2.receive()).toEqual(ack(PERFORM));

    // `perform "follow", name: "Vova"` -> `join_presence "a", info: {name: "Vova"}` (uid 2024)
    client2.send({ command: 'join', identifier: PERFORM, presence: { id: '2024', info: { name: 'Vova' } } });
    expect(await client.receive()).toEqual(joinMessage(PERFORM, '2024', { name: 'Vova' }));
    expect(await client2.receive()).toEqual(joinMessage(PERFORM, '2024', { name: 'Vova' }));

    // `perform "unfollow"` -> `leave_presence`
    client2.send({ command: 'leave', identifier: PERFORM });
    expect(await client.receive()).toEqual(leaveMessage(PERFORM, '2024'));
    expect(await client2.receive()).toEqual(leaveMessage(PERFORM, '2024'));
    await expectNothing(client);
  });

  // subscribe_test.rb, "Join channel on subscribe with implicit identification and leave on disconnect"
  test('subscribe_test.rb: join on subscribe (implicit); a closed client is gone once the presence TTL has run out', async () => {
    const server = await startServer(store);
    const client = await anytClient(server.url, sockets, 'actioncable-v1-json');
    const [client2, client3] = [await anytClient(server.url, sockets), await anytClient(server.url, sockets)];
    client.send({ command: 'subscribe', identifier: IMPLICIT });
    expect(await client.receive()).toEqual(ack(IMPLICIT));

    client2.send({ command: 'subscribe', identifier: IMPLICIT, presence: { id: '2024', info: { name: 'Bart' } } });
    expect(await client2.receive()).toEqual(ack(IMPLICIT));
    expect(await client.receive()).toEqual(joinMessage(IMPLICIT, '2024', { name: 'Bart' }));
    expect(await client2.receive()).toEqual(joinMessage(IMPLICIT, '2024', { name: 'Bart' }));

    client3.send({ command: 'subscribe', identifier: IMPLICIT, presence: { id: '2025', info: { name: 'Lisa' } } });
    expect(await client3.receive()).toEqual(ack(IMPLICIT));
    for (const c of [client, client2, client3]) expect(await c.receive()).toEqual(joinMessage(IMPLICIT, '2025', { name: 'Lisa' }));

    client2.close();
    // anycable-go keeps a closed session's presence for the TTL (broker `TouchPresence`/`FinishPresence`).
    expect(await presentIds(server.url, IMPLICIT)).toEqual(['2024', '2025']);
    await sleep(PAST_TTL_MS);
    expect(await presentIds(server.url, IMPLICIT)).toEqual(['2025']);
  });

  // subscribe_test.rb, "Join channel with explicit presence data and track duplicate sessions"
  test('subscribe_test.rb: explicit presence data; a duplicate session is not announced and keeps the id present after the first closes', async () => {
    const server = await startServer(store);
    const client2 = await anytClient(server.url, sockets);
    const client2Clone = await anytClient(server.url, sockets);
    const client3 = await anytClient(server.url, sockets);

    client3.send({ command: 'subscribe', identifier: EXPLICIT, presence: { id: '5202', info: { whois: 'Lisa' } } });
    expect(await client3.receive()).toEqual(ack(EXPLICIT));
    expect(await client3.receive()).toEqual(joinMessage(EXPLICIT, '5202', { whois: 'Lisa' }));

    client2.send({ command: 'subscribe', identifier: EXPLICIT, presence: { id: '4202', info: { whois: 'Bart' } } });
    expect(await client2.receive()).toEqual(ack(EXPLICIT));
    expect(await client3.receive()).toEqual(joinMessage(EXPLICIT, '4202', { whois: 'Bart' }));
    expect(await client2.receive()).toEqual(joinMessage(EXPLICIT, '4202', { whois: 'Bart' }));

    client2Clone.send({ command: 'subscribe', identifier: EXPLICIT, presence: { id: '4202', info: { whois: 'Bart' } } });
    expect(await client2Clone.receive()).toEqual(ack(EXPLICIT));

    client2.close();
    // no event should be sent
    await expectNothing(client3);
    await expectNothing(client2Clone);
    // Past client2's TTL the clone still holds 4202.
    await sleep(PAST_TTL_MS);
    expect(await presentIds(server.url, EXPLICIT)).toEqual(['4202', '5202']);

    client2Clone.close();
    await sleep(PAST_TTL_MS);
    expect(await presentIds(server.url, EXPLICIT)).toEqual(['5202']);
  });

  test.todo('subscribe_test.rb: the leave frame for a closed client once its presence TTL runs out (the TTL sweep is being built separately)');
});

describe.each<Store>(['memory', 'dynalite'])('presence bad input and duplicate sessions over the wire, %s', (store) => {
  /** `count` ext clients subscribed to `identifier`, acks read. */
  async function subscribers(url: string, identifier: string, count: number): Promise<AnytClient[]> {
    const clients = await Promise.all(Array.from({ length: count }, () => anytClient(url, sockets)));
    for (const c of clients) {
      c.send({ command: 'subscribe', identifier });
      expect(await c.receive()).toEqual(ack(identifier));
    }
    return clients;
  }

  test('one id joined from five sessions: announced once, its leave only when the last session leaves', async () => {
    const server = await startServer(store);
    const [watcher, ...sessions] = await subscribers(server.url, PERFORM, 6);
    // One after the other: two joins of one id at the same instant may both be announced on DynamoDB
    // (docs/presence.md "One id, several sessions"); a session's frames are handled in order, so
    // its `info` answer says its join is done.
    for (const session of sessions) {
      session.send({ command: 'join', identifier: PERFORM, presence: { id: 'ann', info: { tab: 1 } } });
      session.send({ command: 'presence', identifier: PERFORM, data: {} });
      await session.next((frame) => (frame.message as { type?: string } | undefined)?.type === 'info');
    }
    expect(await watcher.receive()).toEqual(joinMessage(PERFORM, 'ann', { tab: 1 }));
    await expectNothing(watcher);
    expect(await presentIds(server.url, PERFORM)).toEqual(['ann']);

    for (const session of sessions.slice(0, -1)) {
      session.send({ command: 'leave', identifier: PERFORM });
      session.send({ command: 'presence', identifier: PERFORM, data: {} });
      await session.next((frame) => (frame.message as { type?: string } | undefined)?.type === 'info');
    }
    await expectNothing(watcher);
    sessions[sessions.length - 1].send({ command: 'leave', identifier: PERFORM });
    expect(await watcher.receive()).toEqual(leaveMessage(PERFORM, 'ann'));
    await expectNothing(watcher);
  });

  test('refusals answer the sender {type: presence, message: {type: error}} and announce nothing', async () => {
    const server = await startServer(store);
    const [sender, other] = await subscribers(server.url, PERFORM, 2);
    const [plainSender, plainOther] = await subscribers(server.url, PLAIN, 2);

    // A join without an id (anycable-go's PresenceEvent.ID is required).
    sender.send({ command: 'join', identifier: PERFORM, presence: { info: { name: 'Ann' } } });
    expect(await sender.receive()).toEqual(errorMessage(PERFORM));
    // Info over MAX_PRESENCE_INFO_BYTES of JSON (`"` + 2047 x + `"` is 2049 bytes).
    sender.send({ command: 'join', identifier: PERFORM, presence: { id: 'ann', info: 'x'.repeat(MAX_PRESENCE_INFO_BYTES - 1) } });
    expect(await sender.receive()).toEqual(errorMessage(PERFORM));
    // `info` and `join` on a channel whose state has no `$p`.
    plainSender.send({ command: 'presence', identifier: PLAIN, data: {} });
    expect(await plainSender.receive()).toEqual(errorMessage(PLAIN));
    plainSender.send({ command: 'join', identifier: PLAIN, presence: { id: 'ann' } });
    expect(await plainSender.receive()).toEqual(errorMessage(PLAIN));
    // A whisper on a channel whose state has no `$w`: ignored, as anycable-go ignores it (no answer).
    plainSender.send({ command: 'whisper', identifier: PLAIN, data: { event: 'typing' } });

    for (const c of [sender, other, plainSender, plainOther]) await expectNothing(c);
    expect(await presentIds(server.url, PERFORM)).toEqual([]);
  });

  test('an info of exactly MAX_PRESENCE_INFO_BYTES joins', async () => {
    const server = await startServer(store);
    const [sender, other] = await subscribers(server.url, PERFORM, 2);
    const info = 'x'.repeat(MAX_PRESENCE_INFO_BYTES - 2);
    sender.send({ command: 'join', identifier: PERFORM, presence: { id: 'ann', info } });
    expect(await other.receive()).toEqual(joinMessage(PERFORM, 'ann', info));
  });
});
