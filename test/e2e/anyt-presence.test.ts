import { WebSocket } from 'ws';
import { AnytClient, anytClient, ANYT_QUIET_MS } from './support/anyt-client';
import { MAX_PRESENCE_INFO_BYTES } from '../../lambda/core/presence';
import { useDynalite } from '../support/dynalite';
import { closeServers, startTestServer } from '../support/local-server';
import { RecordingServer } from '../support/rpc-test-server';

/*
 * anycable-go's presence conformance scenarios (anycable/anycable `etc/anyt/presence_tests/`,
 * added in 9e3bdc70 "tests: anyt presence tests"), frame for frame with raw `ws` clients, on the
 * memory store and dynalite. The fake app answers as anyt's channels do through anycable-rails'
 * `join_presence`/`leave_presence`: the RPC reply sets `$p` to the presence stream and carries
 * `presence {type, id, info}` (rpc.proto `CommandResponse.presence`, read by app-presence.ts), in
 * `subscribed` (presence_tests/subscribe_test.rb) or in the `follow`/`unfollow` actions
 * (perform_test.rb); the connection's `uid` is its `user_id` query parameter.
 *
 * Where we differ on purpose:
 * - The presence TTL. anycable-go's Makefile runs these with `ANYCABLE_PRESENCE_TTL=2`; here it is
 *   3, as expiry is kept in whole epoch seconds (2 to 3 s in effect).
 * - How long a closed client's `leave` may take. anyt's `receive` waits 5 s; here the leave is
 *   announced by the pinger's sweep after the round that follows the TTL's end (rounds every ping
 *   tick, 3 s), so up to about 7 s after the close: those receives wait LEAVE_WAIT_MS.
 */

const SECRET = 'anyt-presence-secret';
const PRESENCE_TTL_SECONDS = 3;
/** A closed client's leave: the TTL (3 to 4 s, whole seconds), the next ping round (every 3 s), and slack for a loaded machine. */
const LEAVE_WAIT_MS = (PRESENCE_TTL_SECONDS + 1 + 3 + 3) * 1000;
/** The anyt channels: `stream_from "a"` + `join_presence` (implicit), `stream_from "b"` + `join_presence "b_p"` (explicit), `stream_from "a"` + `follow`/`unfollow` (perform). */
const IMPLICIT = JSON.stringify({ channel: 'PresenceImplicitChannel' });
const EXPLICIT = JSON.stringify({ channel: 'PresenceExplicitChannel' });
const PERFORM = JSON.stringify({ channel: 'PresencePerformChannel' });
/** Not anyt's: a channel whose subscription sets `$p` and lets the client join (as `@anycable/core` does). */
const ROOM = JSON.stringify({ channel: 'RoomChannel' });
/** A channel with neither `$p` nor `$w` in its state (`stream_from "c"`). */
const PLAIN = JSON.stringify({ channel: 'PlainChannel' });

type Store = 'memory' | 'dynalite';
type Reply = Record<string, unknown>;
/** The connection as anyt's `connect_handler` sees it: `uid` = `params["user_id"]`, and `params["name"]`. */
type Identity = { uid?: string; name?: string };

const dynamo = useDynalite();
const sockets: WebSocket[] = [];
const apps: RecordingServer[] = [];

afterEach(async () => {
  sockets.splice(0).forEach((ws) => ws.terminate());
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  await closeServers();
});

const confirmed = (identifier: string, streams: string[]): Reply => ({
  status: 1, streams, transmissions: [JSON.stringify({ identifier, type: 'confirm_subscription' })],
});
/** What anycable-rails' `join_presence(stream, id:, info:)` adds to the reply. */
const joinPresence = (stream: string, id: string, info: unknown): Reply => ({
  env: { istate: { $p: stream } }, presence: { type: 'join', id, info: JSON.stringify(info) },
});

/** `subscribed` of each channel. */
function subscribed(identifier: string, who: Identity): Reply {
  if (identifier === IMPLICIT) {
    // `join_presence`: the uid as id, the only stream as the presence stream, `user_presence_info` as info.
    return { ...confirmed(identifier, ['a']), ...(who.uid ? joinPresence('a', who.uid, { name: who.name }) : {}) };
  }
  if (identifier === EXPLICIT) {
    // anycable-go delivers a presence event (a broadcast, node.go `broadcastPresenceEvent`) only to
    // the presence stream's subscribers, and the scenario's subscribers get `b_p`'s: the reply streams it too.
    const id = [...(who.uid ?? '')].reverse().join('');
    return { ...confirmed(identifier, ['b', 'b_p']), ...(who.uid ? joinPresence('b_p', id, { whois: who.name }) : {}) };
  }
  if (identifier === PERFORM) return confirmed(identifier, ['a']);
  if (identifier === ROOM) return { ...confirmed(identifier, ['room']), env: { istate: { $p: 'room' } } };
  if (identifier === PLAIN) return confirmed(identifier, ['c']);
  return { status: 0 };
}

/** perform_test.rb's actions: `follow` -> `join_presence "a", info: {name:}`, `unfollow` -> `leave_presence`. */
function performed(identifier: string, who: Identity, data: { action?: string; name?: string }): Reply {
  if (identifier !== PERFORM) return { status: 1 };
  if (data.action === 'follow') return { status: 1, ...joinPresence('a', who.uid ?? '', { name: data.name }) };
  if (data.action === 'unfollow') return { status: 1, presence: { type: 'leave', id: who.uid ?? '' } };
  return { status: 1 };
}

/** The anyt app's AnyCable RPC. */
async function anytApp(): Promise<string> {
  const app = new RecordingServer();
  apps.push(app);
  app.handler = (request, res) => {
    type Body = { command?: string; identifier?: string; data?: string; connection_identifiers?: string; env?: { url?: string } };
    const body = JSON.parse(request.body) as Body;
    let reply: Reply;
    if (request.url.endsWith('/connect')) {
      const params = new URL(body.env?.url ?? 'ws://app/').searchParams;
      const who: Identity = { uid: params.get('user_id') ?? undefined, name: params.get('name') ?? undefined };
      reply = { status: 1, identifiers: JSON.stringify(who), transmissions: [JSON.stringify({ type: 'welcome' })] };
    } else if (request.url.endsWith('/disconnect')) {
      reply = { status: 1 };
    } else {
      const who = JSON.parse(body.connection_identifiers ?? '{}') as Identity;
      const identifier = body.identifier ?? '';
      reply = body.command === 'subscribe' ? subscribed(identifier, who)
        : body.command === 'message' ? performed(identifier, who, JSON.parse(body.data ?? '{}') as { action?: string })
          : { status: 1 };
    }
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

/** anyt's `assert_raises(Anyt::Client::TimeoutError) { client.receive(timeout: 0.5) }`. */
async function expectNothing(client: AnytClient, timeoutMs = ANYT_QUIET_MS): Promise<void> {
  await expect(client.receive(timeoutMs)).rejects.toThrow('Anyt::Client::TimeoutError');
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
    const client2 = await anytClient(`${server.url}?test=presence_perform&user_id=2024`, sockets);
    client.send({ command: 'subscribe', identifier: PERFORM });
    expect(await client.receive()).toEqual(ack(PERFORM));
    client2.send({ command: 'subscribe', identifier: PERFORM });
    expect(await client2.receive()).toEqual(ack(PERFORM));

    client2.send({ command: 'message', identifier: PERFORM, data: JSON.stringify({ action: 'follow', name: 'Vova' }) });
    expect(await client.receive()).toEqual(joinMessage(PERFORM, '2024', { name: 'Vova' }));
    expect(await client2.receive()).toEqual(joinMessage(PERFORM, '2024', { name: 'Vova' }));

    client2.send({ command: 'message', identifier: PERFORM, data: JSON.stringify({ action: 'unfollow' }) });
    expect(await client.receive()).toEqual(leaveMessage(PERFORM, '2024'));
    expect(await client2.receive()).toEqual(leaveMessage(PERFORM, '2024'));
    await expectNothing(client);
  });

  // subscribe_test.rb, "Join channel on subscribe with implicit identification and leave on disconnect"
  test('subscribe_test.rb: join on subscribe (implicit), the leave of a closed client once its presence TTL runs out', async () => {
    const server = await startServer(store);
    const client = await anytClient(server.url, sockets, 'actioncable-v1-json');
    const client2 = await anytClient(`${server.url}?test=presence_subscribe&user_id=2024&name=Bart`, sockets);
    const client3 = await anytClient(`${server.url}?test=presence_subscribe&user_id=2025&name=Lisa`, sockets);
    client.send({ command: 'subscribe', identifier: IMPLICIT });
    expect(await client.receive()).toEqual(ack(IMPLICIT));

    client2.send({ command: 'subscribe', identifier: IMPLICIT });
    expect(await client2.receive()).toEqual(ack(IMPLICIT));
    expect(await client.receive()).toEqual(joinMessage(IMPLICIT, '2024', { name: 'Bart' }));
    expect(await client2.receive()).toEqual(joinMessage(IMPLICIT, '2024', { name: 'Bart' }));

    client3.send({ command: 'subscribe', identifier: IMPLICIT });
    expect(await client3.receive()).toEqual(ack(IMPLICIT));
    for (const c of [client, client2, client3]) expect(await c.receive()).toEqual(joinMessage(IMPLICIT, '2025', { name: 'Lisa' }));

    client2.close();
    expect(await client.receive(LEAVE_WAIT_MS)).toEqual(leaveMessage(IMPLICIT, '2024'));
    expect(await client3.receive(LEAVE_WAIT_MS)).toEqual(leaveMessage(IMPLICIT, '2024'));
    await expectNothing(client);
  });

  // subscribe_test.rb, "Join channel with explicit presence data and track duplicate sessions"
  test('subscribe_test.rb: explicit presence data; a duplicate session is not announced, and the id leaves when its last session closes', async () => {
    const server = await startServer(store);
    const bart = `${server.url}?test=presence_subscribe&user_id=2024&name=Bart`;
    const client2 = await anytClient(bart, sockets);
    const client2Clone = await anytClient(bart, sockets);
    const client3 = await anytClient(`${server.url}?test=presence_subscribe&user_id=2025&name=Lisa`, sockets);

    client3.send({ command: 'subscribe', identifier: EXPLICIT });
    expect(await client3.receive()).toEqual(ack(EXPLICIT));
    expect(await client3.receive()).toEqual(joinMessage(EXPLICIT, '5202', { whois: 'Lisa' }));

    client2.send({ command: 'subscribe', identifier: EXPLICIT });
    expect(await client2.receive()).toEqual(ack(EXPLICIT));
    expect(await client3.receive()).toEqual(joinMessage(EXPLICIT, '4202', { whois: 'Bart' }));
    expect(await client2.receive()).toEqual(joinMessage(EXPLICIT, '4202', { whois: 'Bart' }));

    client2Clone.send({ command: 'subscribe', identifier: EXPLICIT });
    expect(await client2Clone.receive()).toEqual(ack(EXPLICIT));

    client2.close();
    // no event should be sent
    await expectNothing(client3);
    // Not in anyt: not when client2's TTL runs out and the sweep finds it either, the clone holds 4202.
    await expectNothing(client3, LEAVE_WAIT_MS);
    await expectNothing(client2Clone);

    client2Clone.close();
    expect(await client3.receive(LEAVE_WAIT_MS)).toEqual(leaveMessage(EXPLICIT, '4202'));
    await expectNothing(client3);
  });
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
    const [watcher, ...sessions] = await subscribers(server.url, ROOM, 6);
    // One after the other: two joins of one id at the same instant may both be announced on DynamoDB
    // (docs/presence.md "One id, several sessions"); a session's frames are handled in order, so
    // its `info` answer says its join is done.
    for (const session of sessions) {
      session.send({ command: 'join', identifier: ROOM, presence: { id: 'ann', info: { tab: 1 } } });
      session.send({ command: 'presence', identifier: ROOM, data: {} });
      await session.next((frame) => (frame.message as { type?: string } | undefined)?.type === 'info');
    }
    expect(await watcher.receive()).toEqual(joinMessage(ROOM, 'ann', { tab: 1 }));
    await expectNothing(watcher);
    expect(await presentIds(server.url, ROOM)).toEqual(['ann']);

    for (const session of sessions.slice(0, -1)) {
      session.send({ command: 'leave', identifier: ROOM });
      session.send({ command: 'presence', identifier: ROOM, data: {} });
      await session.next((frame) => (frame.message as { type?: string } | undefined)?.type === 'info');
    }
    await expectNothing(watcher);
    sessions[sessions.length - 1].send({ command: 'leave', identifier: ROOM });
    expect(await watcher.receive()).toEqual(leaveMessage(ROOM, 'ann'));
    await expectNothing(watcher);
  });

  test('refusals answer the sender {type: presence, message: {type: error}} and announce nothing', async () => {
    const server = await startServer(store);
    const [sender, other] = await subscribers(server.url, ROOM, 2);
    const [plainSender, plainOther] = await subscribers(server.url, PLAIN, 2);

    // A join without an id (anycable-go's PresenceEvent.ID is required).
    sender.send({ command: 'join', identifier: ROOM, presence: { info: { name: 'Ann' } } });
    expect(await sender.receive()).toEqual(errorMessage(ROOM));
    // Info over MAX_PRESENCE_INFO_BYTES of JSON (`"` + 2047 x + `"` is 2049 bytes).
    sender.send({ command: 'join', identifier: ROOM, presence: { id: 'ann', info: 'x'.repeat(MAX_PRESENCE_INFO_BYTES - 1) } });
    expect(await sender.receive()).toEqual(errorMessage(ROOM));
    // `info` and `join` on a channel whose state has no `$p`.
    plainSender.send({ command: 'presence', identifier: PLAIN, data: {} });
    expect(await plainSender.receive()).toEqual(errorMessage(PLAIN));
    plainSender.send({ command: 'join', identifier: PLAIN, presence: { id: 'ann' } });
    expect(await plainSender.receive()).toEqual(errorMessage(PLAIN));
    // A whisper on a channel whose state has no `$w`: ignored, as anycable-go ignores it (no answer).
    plainSender.send({ command: 'whisper', identifier: PLAIN, data: { event: 'typing' } });

    for (const c of [sender, other, plainSender, plainOther]) await expectNothing(c);
    expect(await presentIds(server.url, ROOM)).toEqual([]);
  });

  test('an info of exactly MAX_PRESENCE_INFO_BYTES joins', async () => {
    const server = await startServer(store);
    const [sender, other] = await subscribers(server.url, ROOM, 2);
    const info = 'x'.repeat(MAX_PRESENCE_INFO_BYTES - 2);
    sender.send({ command: 'join', identifier: ROOM, presence: { id: 'ann', info } });
    expect(await other.receive()).toEqual(joinMessage(ROOM, 'ann', info));
  });
});
