import { RawData, WebSocket } from 'ws';
import { LocalCableServerOptions } from '../../lambda/local/local-cable-server';
import { useDynalite } from '../support/dynalite';
import { closeServers, eventually, RecordingLogger, SUBPROTOCOL, startTestServer } from '../support/local-server';

/**
 * AnyCable's own conformance scenarios as the reference, frame for frame, with raw `ws` clients:
 * - anycable-go `etc/anyt/broker_tests/history_test.rb` ("History": fetching by timestamp, by
 *   offset, subscribing with history), plus the rejections anycable-go's broker makes
 *   (`broker/memory.go` `HistoryFrom`, `filterByOffset`), which that file does not exercise;
 * - anyt `lib/anyt/tests/features/server_restart_test.rb` ("Server restart"), extended with what
 *   the disconnect is for: the client reconnects and resubscribes with history;
 * - anycable-go `etc/anyt/broker_tests/restore_test.rb` ("Session cache"), by `X-ANYCABLE-RESTORE-SID`.
 *
 * The anyt channel does `stream_from "history_a"`: one identifier, one unsigned stream. Its direct
 * counterpart here is the built-in `$pubsub` channel with a `stream_name` (the server started with
 * `publicStreams: true`), the identifier `@anycable/core`'s `cable.streamFrom` sends. A signed Turbo
 * stream would differ only by the signature. `ActionCable.server.broadcast` is `POST /_broadcast`,
 * which answers once the message is stored and delivered, so anyt's `sleep 2` has no counterpart.
 */
const EXT = 'actioncable-v1-ext-json';
const BROADCAST_KEY = 'anyt-broadcast-key';
const STREAM = 'history_a';
const IDENTIFIER = JSON.stringify({ channel: '$pubsub', stream_name: STREAM });
const ACK = { identifier: IDENTIFIER, type: 'confirm_subscription' };
const CONFIRM_HISTORY = { identifier: IDENTIFIER, type: 'confirm_history' };
const REJECT_HISTORY = { identifier: IDENTIFIER, type: 'reject_history' };
/** anyt's `WAIT_WHEN_EXPECTING_EVENT` and `WAIT_WHEN_NOT_EXPECTING_EVENT` (lib/anyt/client.rb). */
const WAIT_FOR_FRAME_MS = 5_000;
const QUIET_MS = 500;

const LEFT = { data: { user_id: 1, status: 'left' } };
const JOIN = { data: { user_id: 2, status: 'join' } };
const ALIVE = { data: { user_id: 42, status: 'alive' } };

type Frame = Record<string, unknown>;
type Store = 'memory' | 'dynalite';

const dynamo = useDynalite();

afterEach(async () => {
  clients.splice(0).forEach((client) => client.ws.terminate());
  await closeServers();
});

/** anyt's client: reads frames one at a time, in order, pings ignored (`ignore: ['ping']`). */
class AnytClient {
  private readonly queue: Frame[] = [];
  private wake?: () => void;
  readonly closed: Promise<void>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.type === 'ping') return;
      this.queue.push(frame);
      this.wake?.();
    });
    this.closed = new Promise((resolve) => ws.once('close', () => {
      resolve();
      this.wake?.();
    }));
  }

  /** The next frame; fails after 5 s without one, as anyt's `receive`. */
  async receive(timeoutMs = WAIT_FOR_FRAME_MS): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (Date.now() > deadline) throw new Error('timed out waiting for a frame');
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error('closed while waiting for a frame');
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 100);
      });
    }
    return this.queue.shift()!;
  }

  /** What arrives in the next 0.5 s (anyt's `close` fails on unprocessed messages): no duplicate, no extra. */
  async rest(): Promise<Frame[]> {
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    return this.queue.splice(0);
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }
}

const clients: AnytClient[] = [];

async function connect(url: string, protocol = EXT): Promise<AnytClient> {
  const ws = new WebSocket(url, [protocol]);
  const client = new AnytClient(ws);
  clients.push(client);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return client;
}

/** Connects with the ext protocol and reads its welcome, which must carry a session id. */
async function connectExt(url: string): Promise<{ client: AnytClient; sid: string }> {
  const client = await connect(url);
  const welcome = await client.receive();
  expect(welcome).toEqual({ type: 'welcome', sid: expect.any(String) });
  return { client, sid: welcome.sid as string };
}

async function serverOptions(store: Store): Promise<LocalCableServerOptions> {
  if (store === 'memory') return {};
  return { store: { kind: 'dynamodb', endpoint: dynamo.endpoint, ...await dynamo.createTables('anyt') } };
}

async function startServer(store: Store, settings: Record<string, unknown> = {}, logger?: RecordingLogger) {
  return startTestServer({
    ...await serverOptions(store),
    settings: { secret: 'anyt-secret', publicStreams: true, broadcastKey: BROADCAST_KEY, ...settings },
  }, logger ? { logger } : {});
}

/** `ActionCable.server.broadcast(STREAM, message)` through the HTTP broadcast endpoint. */
async function broadcast(url: string, message: unknown): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Authorization': `Bearer ${BROADCAST_KEY}` },
    body: JSON.stringify({ stream: STREAM, data: JSON.stringify(message) }),
  });
  expect(response.status).toBe(201);
}

/** A broadcast as an ext client gets it: ActionCable's frame plus the stream's position. */
function positioned(message: unknown, offset: number, epoch: unknown = expect.any(String)): Frame {
  return { identifier: IDENTIFIER, message, stream_id: STREAM, epoch, offset };
}

const subscribe = (history?: unknown) => ({ command: 'subscribe', identifier: IDENTIFIER, ...(history !== undefined ? { history } : {}) });
const historyCommand = (history: unknown) => ({ command: 'history', identifier: IDENTIFIER, history });
const thirtySecondsAgo = () => Math.floor(Date.now() / 1000) - 30;

describe.each<Store>(['memory', 'dynalite'])('anycable-go etc/anyt/broker_tests/history_test.rb, %s store', (store) => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let logger: RecordingLogger;

  /** A server, then the feature's `before`: two broadcasts to the stream before anyone subscribes. */
  async function given(settings: Record<string, unknown> = {}): Promise<void> {
    logger = new RecordingLogger();
    server = await startServer(store, settings, logger);
    await broadcast(server.broadcastUrl, LEFT);
    await broadcast(server.broadcastUrl, JOIN);
  }

  const rejectedFor = () => logger.entries.filter((e) => e.event === 'history.rejected').map((e) => e.fields.reason);

  test('history: fetching by timestamp (the history command with since)', async () => {
    await given();
    const { client } = await connectExt(server.url);
    client.send(subscribe());
    expect(await client.receive()).toEqual(ACK);

    client.send(historyCommand({ since: thirtySecondsAgo() }));

    const first = await client.receive();
    expect(first).toEqual(positioned(LEFT, 1));
    expect(await client.receive()).toEqual(positioned(JOIN, 2, first.epoch));
    // anycable-go ends a served history with confirm_history (node/node.go `History`); anyt does not read that far.
    expect(await client.receive()).toEqual(CONFIRM_HISTORY);
    expect(await client.rest()).toEqual([]);
  });

  test('history: fetching by offset (the history command with stream positions)', async () => {
    await given();
    const { client } = await connectExt(server.url);
    client.send(subscribe());
    expect(await client.receive()).toEqual(ACK);

    await broadcast(server.broadcastUrl, ALIVE);
    const received = await client.receive();
    expect(received).toEqual(positioned(ALIVE, 3));

    const { client: another } = await connectExt(server.url);
    another.send(subscribe());
    expect(await another.receive()).toEqual(ACK);
    another.send(historyCommand({
      streams: { [received.stream_id as string]: { offset: (received.offset as number) - 1, epoch: received.epoch } },
    }));

    expect(await another.receive()).toEqual(positioned(ALIVE, 3, received.epoch));
    expect(await another.receive()).toEqual(CONFIRM_HISTORY);
    expect(await another.rest()).toEqual([]);
    expect(await client.rest()).toEqual([]);
  });

  test('history: subscribing with history (subscribe with since)', async () => {
    await given();
    const { client } = await connectExt(server.url);
    client.send(subscribe({ since: thirtySecondsAgo() }));

    expect(await client.receive()).toEqual(ACK);
    const first = await client.receive();
    expect(first).toEqual(positioned(LEFT, 1));
    expect(await client.receive()).toEqual(positioned(JOIN, 2, first.epoch));
    expect(await client.receive()).toEqual(CONFIRM_HISTORY);
    // Live from there on, after the replay, each once.
    await broadcast(server.broadcastUrl, ALIVE);
    expect(await client.receive()).toEqual(positioned(ALIVE, 3, first.epoch));
    expect(await client.rest()).toEqual([]);
  });

  test('history: caught up (offset = the latest): nothing replayed, confirm_history', async () => {
    await given();
    // anycable-go `memstream.filterByOffset` serves an empty backlog for the latest offset.
    const { client } = await connectExt(server.url);
    client.send(subscribe({ since: thirtySecondsAgo() }));
    expect(await client.receive()).toEqual(ACK);
    const { epoch } = await client.receive();
    await client.receive(); // JOIN, offset 2
    expect(await client.receive()).toEqual(CONFIRM_HISTORY);

    client.send(historyCommand({ streams: { [STREAM]: { offset: 2, epoch } } }));

    expect(await client.receive()).toEqual(CONFIRM_HISTORY);
    expect(await client.rest()).toEqual([]);
  });

  test('history: an epoch the stream does not have is rejected (reject_history)', async () => {
    await given();
    // anycable-go `Memory.HistoryFrom`: "unknown epoch" -> reject_history (node/node.go `History`).
    const { client } = await connectExt(server.url);
    client.send(subscribe({ streams: { [STREAM]: { offset: 1, epoch: 'not-the-epoch' } } }));

    expect(await client.receive()).toEqual(ACK);
    expect(await client.receive()).toEqual(REJECT_HISTORY);
    expect(await client.rest()).toEqual([]);
    expect(rejectedFor()).toEqual(['epoch_changed']);
    // The subscription stands: live broadcasts still come.
    await broadcast(server.broadcastUrl, ALIVE);
    expect(await client.receive()).toEqual(positioned(ALIVE, 3));
  });

  test('history: an offset from the future is rejected (reject_history)', async () => {
    await given();
    // anycable-go `memstream.filterByOffset`: "requested offset couldn't be found ... latest".
    const { client } = await connectExt(server.url);
    client.send(subscribe({ since: thirtySecondsAgo() }));
    expect(await client.receive()).toEqual(ACK);
    const { epoch } = await client.receive();
    await client.receive();
    expect(await client.receive()).toEqual(CONFIRM_HISTORY);

    client.send(historyCommand({ streams: { [STREAM]: { offset: 3, epoch } } }));

    expect(await client.receive()).toEqual(REJECT_HISTORY);
    expect(await client.rest()).toEqual([]);
    expect(rejectedFor()).toEqual(['offset_from_the_future']);
  });

  test('history limit: since replays the kept messages only; a position before them is rejected', async () => {
    await given({ history: { limit: 1 } });
    const { client } = await connectExt(server.url);
    client.send(subscribe({ since: thirtySecondsAgo() }));
    expect(await client.receive()).toEqual(ACK);
    const kept = await client.receive();
    expect(kept).toEqual(positioned(JOIN, 2));
    expect(await client.receive()).toEqual(CONFIRM_HISTORY);

    // Offset 1: everything after it is kept, so it is served. Differs from anycable-go, whose
    // broker/memory.go `filterByOffset` refuses any offset below the oldest kept one (`ms.low >
    // offset`), this one included, and so also a client that has seen nothing (offset 0).
    client.send(historyCommand({ streams: { [STREAM]: { offset: 1, epoch: kept.epoch } } }));
    expect(await client.receive()).toEqual(positioned(JOIN, 2, kept.epoch));
    expect(await client.receive()).toEqual(CONFIRM_HISTORY);
    // Offset 0: message 1 is gone.
    client.send(historyCommand({ streams: { [STREAM]: { offset: 0, epoch: kept.epoch } } }));
    expect(await client.receive()).toEqual(REJECT_HISTORY);
    expect(await client.rest()).toEqual([]);
    expect(rejectedFor()).toEqual(['offset_out_of_range']);
  });

  test('history TTL: once it has passed, a position is rejected, since replays nothing, and the stream starts a new epoch', async () => {
    await given({ history: { ttlSeconds: 2 } });
    const { client } = await connectExt(server.url);
    client.send(subscribe());
    expect(await client.receive()).toEqual(ACK);
    await broadcast(server.broadcastUrl, ALIVE);
    const last = await client.receive();
    expect(last).toEqual(positioned(ALIVE, 3));
    // Past the TTL, which the DynamoDB store rounds up to a whole second (kept at least 2 s, at most 3 s):
    // the scenario's premise, not a timing assert.
    await new Promise((resolve) => setTimeout(resolve, 3_200));

    client.send(historyCommand({ streams: { [STREAM]: { offset: last.offset, epoch: last.epoch } } }));
    expect(await client.receive()).toEqual(REJECT_HISTORY);
    client.send(historyCommand({ since: thirtySecondsAgo() }));
    expect(await client.receive()).toEqual(CONFIRM_HISTORY);
    expect(rejectedFor()).toEqual(['history_expired']);
    // Differs from anycable-go on purpose: its epoch is the broker's, and a memory stream keeps its
    // offset for ten TTLs (broker/memory.go `appendEntry`); here a stream whose history expired
    // starts again at offset 1 under a new epoch (stream-history.ts), so old positions cannot match.
    await broadcast(server.broadcastUrl, LEFT);
    const live = await client.receive();
    expect(live).toEqual(positioned(LEFT, 1));
    expect(live.epoch).not.toBe(last.epoch);
    expect(await client.rest()).toEqual([]);
  });

  test('history: for a channel the connection is not subscribed to, reject_history', async () => {
    await given();
    // Differs from anycable-go on purpose: its node/node.go `History` returns "unknown subscription",
    // which the session only logs, so the client hears nothing; here it gets a defined answer.
    const { client } = await connectExt(server.url);
    client.send(historyCommand({ since: thirtySecondsAgo() }));

    expect(await client.receive()).toEqual(REJECT_HISTORY);
    expect(await client.rest()).toEqual([]);
    expect(rejectedFor()).toEqual(['not_subscribed']);
  });

  test('history: a plain actioncable-v1-json client gets no positions, and its history command is rejected', async () => {
    await given();
    // Differs from anycable-go on purpose (issue 16: the plain protocol stays as it is for stock
    // clients): anycable-go attaches stream_id/epoch/offset to every client's broadcast
    // (common/common.go `ToReplyFor`) and serves `history` to any session (node/node.go `History`).
    const client = await connect(server.url, SUBPROTOCOL);
    expect(await client.receive()).toEqual({ type: 'welcome' });
    client.send(subscribe());
    expect(await client.receive()).toEqual(ACK);
    await broadcast(server.broadcastUrl, ALIVE);
    expect(await client.receive()).toEqual({ identifier: IDENTIFIER, message: ALIVE });

    client.send(historyCommand({ since: thirtySecondsAgo() }));

    expect(await client.receive()).toEqual(REJECT_HISTORY);
    expect(await client.rest()).toEqual([]);
    expect(rejectedFor()).toEqual(['not_an_ext_client']);
  });
});

describe.each<Store>(['memory', 'dynalite'])('anycable-go etc/anyt/broker_tests/restore_test.rb ("Session cache"), %s store', (store) => {
  test('restore: X-ANYCABLE-RESTORE-SID of a closed session: welcome restored: true, and its stream_from still delivers', async () => {
    const logger = new RecordingLogger();
    const server = await startServer(store, {}, logger);
    const { client, sid } = await connectExt(server.url);
    client.send(subscribe());
    expect(await client.receive()).toEqual(ACK);
    await broadcast(server.broadcastUrl, LEFT);
    expect(await client.receive()).toEqual(positioned(LEFT, 1));

    client.ws.close();
    await client.closed;
    // $disconnect keeps the session after the socket has closed (anyt's server does it as the socket closes).
    await eventually(() => expect(logger.entries.map((e) => e.event)).toContain('disconnect'));
    const another = new AnytClient(new WebSocket(server.url, [EXT], { headers: { 'X-ANYCABLE-RESTORE-SID': sid } }));
    clients.push(another);
    // anycable-go's welcome carries the new sid and restored_ids (node/node.go `TryRestoreSession`); anyt asserts the subset.
    expect(await another.receive()).toEqual({ type: 'welcome', restored: true, sid: expect.any(String), restored_ids: [IDENTIFIER] });

    // No history command: the restored rows are held a moment (session-restore.ts RESTORE_CONNECT_HOLD_MS), within anyt's 5 s.
    await broadcast(server.broadcastUrl, JOIN);
    expect(await another.receive()).toEqual(positioned(JOIN, 2));
    expect(await another.rest()).toEqual([]);
  });

  test('restore: a sid restores once; the second client with it is welcomed as a new session', async () => {
    const logger = new RecordingLogger();
    const server = await startServer(store, {}, logger);
    const { client, sid } = await connectExt(server.url);
    client.send(subscribe());
    expect(await client.receive()).toEqual(ACK);
    client.ws.close();
    await client.closed;
    await eventually(() => expect(logger.entries.map((e) => e.event)).toContain('disconnect'));
    const restoring = async () => {
      const next = new AnytClient(new WebSocket(server.url, [EXT], { headers: { 'X-ANYCABLE-RESTORE-SID': sid } }));
      clients.push(next);
      return next.receive();
    };
    expect(await restoring()).toMatchObject({ restored: true });
    // Differs from anycable-go on purpose: its cached session restores until sessions_ttl (broker/memory.go
    // `RestoreSession` reads without deleting); a sid is a credential, so here it is spent on first use.
    expect(await restoring()).toEqual({ type: 'welcome', sid: expect.any(String) });
  });
});

describe.each<Store>(['memory', 'dynalite'])('anyt lib/anyt/tests/features/server_restart_test.rb, %s store', (store) => {
  /**
   * anyt restarts the server (`restart_server!`) and expects `{"type":"disconnect","reason":
   * "server_restart","reconnect":true}`. A serverless server never restarts under its clients;
   * it sends the same frame when a connection reaches `maxConnectionAgeSeconds`, before API
   * Gateway's 2-hour cut (lambda/core/ping.ts), which is what plays the restart here. Then what
   * the frame is for: the client reconnects (a new session, a new sid), resubscribes with its
   * stream position, and gets what was broadcast meanwhile, then the live stream, each once.
   */
  test('server_restart: disconnect with reconnect: true; the client reconnects, resubscribes with history and misses nothing', async () => {
    const server = await startServer(store, { maxConnectionAgeSeconds: 3, ping: { intervalSeconds: 1 } });
    const { client, sid } = await connectExt(server.url);
    client.send(subscribe());
    expect(await client.receive()).toEqual(ACK);
    await broadcast(server.broadcastUrl, LEFT);
    const last = await client.receive();
    expect(last).toEqual(positioned(LEFT, 1));

    // The age, then up to a ping round: more than anyt's 5 s may pass.
    const disconnect = await client.receive(10_000);
    expect(disconnect).toEqual({ type: 'disconnect', reason: 'server_restart', reconnect: true });
    await client.closed;
    await broadcast(server.broadcastUrl, JOIN);
    await broadcast(server.broadcastUrl, ALIVE);

    const { client: again, sid: newSid } = await connectExt(server.url);
    expect(newSid).not.toBe(sid);
    // What @anycable/core sends when it resubscribes (action_cable_ext `historyRequestFor`).
    again.send(subscribe({ streams: { [STREAM]: { offset: last.offset, epoch: last.epoch } } }));

    expect(await again.receive()).toEqual(ACK);
    expect(await again.receive()).toEqual(positioned(JOIN, 2, last.epoch));
    expect(await again.receive()).toEqual(positioned(ALIVE, 3, last.epoch));
    expect(await again.receive()).toEqual(CONFIRM_HISTORY);
    await broadcast(server.broadcastUrl, LEFT);
    expect(await again.receive()).toEqual(positioned(LEFT, 4, last.epoch));
    expect(await again.rest()).toEqual([]);
  }, 30_000);
});
