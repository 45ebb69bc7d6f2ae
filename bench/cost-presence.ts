/**
 * Whispers and presence for bench/cost-counts.ts (issue 17: what a join, a leave, an info and a
 * whisper cost, measured): clients speaking `actioncable-v1-ext-json` on public `$pubsub`
 * streams (`{"channel":"$pubsub","stream_name":…}`, the server's `publicStreams` on), N
 * subscribers each. Per N: ext connect and subscribe (set-up, counted for reference), a whisper
 * (sender + N − 1 receivers), a join of an id's first session (announced to the N) and of a
 * second session of the same id (not announced), an info, a leave of a session that is not the
 * id's last (not announced) and of the last (announced), an ext broadcast (history kept). Then,
 * once, with a few clients of their own: a subscribe with `history` that replays missed
 * broadcasts, and the `$disconnect` of an ext connection that had joined presence next to one
 * that never joined.
 *
 * Nothing here expects today's counts: each operation waits only for what the protocol promises
 * (the frames every subscriber must get, or the server to have handled the client's frames and
 * gone quiet), and the counts are what they are.
 */
import { CONNECT_CONCURRENCY, CostBench, OperationReport, SETTLE_TIMEOUT_MS } from './support/cost-bench';
import { BenchCableClient, Frame, inBatches } from './support/cost-clients';
import { Model } from './support/cost-model';
import { ACTIONCABLE_EXT_SUBPROTOCOL } from '../lambda/core/protocol';

/** Operation names of this file start with one of these, so the report can pick them out. */
export const PRESENCE_OPERATION_PREFIXES = ['ext ', 'whisper', 'presence '] as const;

/** How many sessions each side of the disconnect comparison and the history subscribe measure. */
const SMALL_GROUP = 5;
/** Repeats of a per-N operation while N is at most this; one run above it. */
const REPEAT_UP_TO = 100;
const REPEATS = 3;

function pubsub(stream: string): string {
  return JSON.stringify({ channel: '$pubsub', stream_name: stream });
}

/** A `$pubsub` frame whose data carries `tag`. */
function tagged(tag: string): (frame: Frame) => boolean {
  return (frame) => (frame.message as Frame | undefined)?.tag === tag;
}

function presenceEvent(type: 'join' | 'leave', id: string): (frame: Frame) => boolean {
  return (frame) => {
    const message = frame.message as Record<string, unknown> | undefined;
    return frame.type === 'presence' && message?.type === type && message.id === id;
  };
}

/** A `$pubsub` broadcast's data of about `bytes` bytes once framed (the JSON object the subscribers get), marked with `tag`. */
function pubsubData(tag: string, bytes: number): string {
  const frameOverhead = 160; // {"identifier":"…","message":{…},"stream_id":…,"epoch":…,"offset":…}
  return JSON.stringify({ tag, text: 'x'.repeat(Math.max(0, bytes - frameOverhead)) });
}

export interface PresenceBenchOptions {
  readonly sizes: readonly number[];
  readonly payloadBytes: number;
}

export async function runPresenceOperations(bench: CostBench, options: PresenceBenchOptions): Promise<void> {
  const inbound = () => bench.instrument.counts.apiGateway.inboundMessages;
  let target = 0;
  /** Expects `frames` more client frames: the measurement ends once the server has taken them and gone quiet. */
  const expect = (frames: number) => {
    target = inbound() + frames;
  };
  const taken = () => inbound() >= target;

  const members: BenchCableClient[] = [];
  for (const size of options.sizes) {
    const stream = `presence-room-${size}`;
    const identifier = pubsub(stream);
    console.log(`\nN = ${size} ext clients subscribed to one public $pubsub stream`);
    // Each size has its own stream and its own clients (the previous ones closed, outside the counts), so N is exact.
    await closeAll(bench, members.splice(0));
    const fresh: BenchCableClient[] = [];
    await bench.measure(`ext connect (${size} at once, N = ${size})`, `actioncable-v1-ext-json: $connect and a welcome with a sid, ${CONNECT_CONCURRENCY} handshakes in flight`, size, async () => {
      fresh.push(...await bench.connect(size, ACTIONCABLE_EXT_SUBPROTOCOL));
    });
    await bench.measure(`ext subscribe $pubsub (${size} at once, N = ${size})`, 'a public $pubsub stream_name subscribe, concurrently', size, async () => {
      await inBatches(fresh, CONNECT_CONCURRENCY, (client) => client.subscribe(identifier));
    });
    members.push(...fresh);
    const repeats = size <= REPEAT_UP_TO ? REPEATS : 1;

    await bench.measure(`whisper to N = ${size}`, `{"command":"whisper"} from one subscriber: $default, then a fan-out to the other ${size - 1}`, repeats, async () => {
      expect(repeats);
      for (let i = 0; i < repeats; i++) {
        const tag = `w${size}-${i}`;
        const received = Promise.all(members.slice(1).map((client) => client.waitFor(tagged(tag), SETTLE_TIMEOUT_MS)));
        members[0].send({ command: 'whisper', identifier, data: { event: 'typing', tag } });
        await received;
      }
    }, taken);

    // Joins: the first session of each id is announced to all N; a second session of the same id is not.
    const ids = Math.min(REPEATS, size);
    const first = members.slice(0, ids);
    const second = size >= 2 * ids ? members.slice(ids, 2 * ids) : [];
    const idOf = (k: number) => `user-${size}-${k}`;
    await bench.measure(`presence join, announced (N = ${size})`, 'the first session of an id: $default, then the join event fanned out to every subscriber, the joiner included', ids, async () => {
      for (const [k, client] of first.entries()) {
        const received = Promise.all(members.map((member) => member.waitFor(presenceEvent('join', idOf(k)), SETTLE_TIMEOUT_MS, { fresh: true })));
        client.send({ command: 'join', identifier, presence: { id: idOf(k), info: { name: `User ${k}` } } });
        await received;
      }
    });
    if (second.length > 0) {
      await bench.measure(`presence join, not announced (N = ${size})`, 'a second session of an id already present: $default, no event', second.length, async () => {
        expect(second.length);
        second.forEach((client, k) => client.send({ command: 'join', identifier, presence: { id: idOf(k), info: { name: `User ${k}` } } }));
      }, taken);
    }
    await bench.measure(`presence info (N = ${size}, ${ids} ids)`, `{"command":"presence"}: $default, the records of the stream's ${ids} present ids answered to the sender`, repeats, async () => {
      expect(repeats);
      for (let i = 0; i < repeats; i++) {
        const answer = members[0].waitFor((frame) => frame.type === 'presence' && (frame.message as Frame | undefined)?.type === 'info', SETTLE_TIMEOUT_MS, { fresh: true });
        members[0].send({ command: 'presence', identifier, data: {} });
        await answer;
      }
    }, taken);
    if (second.length > 0) {
      await bench.measure(`presence leave, not announced (N = ${size})`, 'a session of an id another session still holds: $default, no event', second.length, async () => {
        expect(second.length);
        second.forEach((client) => client.send({ command: 'leave', identifier }));
      }, taken);
    }
    await bench.measure(`presence leave, announced (N = ${size})`, 'the last session of an id: $default, then the leave event fanned out to every subscriber', ids, async () => {
      for (const [k, client] of first.entries()) {
        const received = Promise.all(members.filter((member) => member !== client).map((member) => member.waitFor(presenceEvent('leave', idOf(k)), SETTLE_TIMEOUT_MS, { fresh: true })));
        client.send({ command: 'leave', identifier });
        await received;
      }
    });

    const broadcastTo = (tag: string) => bench.broadcast(stream, pubsubData(tag, options.payloadBytes), members, tagged(tag));
    await bench.measure(`ext broadcast to N = ${size}, the stream's first (history kept)`, 'the first broadcast a stream has (or its first after the history TTL): its position counter is created', 1, () => broadcastTo(`b${size}-first`));
    await bench.measure(`ext broadcast to N = ${size} (history kept)`, `POST /_broadcast of a ${options.payloadBytes}-byte frame to ext subscribers: stored in the stream's history, offset and epoch on each frame`, repeats, async () => {
      for (let i = 0; i < repeats; i++) {
        await broadcastTo(`b${size}-${i}`);
      }
    });
  }
  await closeAll(bench, members.splice(0));
  await runSmallGroups(bench, options);
}

/** The subscribe with `history` and the two kinds of ext `$disconnect`, each over its own few clients. */
async function runSmallGroups(bench: CostBench, options: PresenceBenchOptions): Promise<void> {
  const stream = 'presence-small';
  const identifier = pubsub(stream);
  const missed = REPEATS;
  console.log(`\next clients, ${SMALL_GROUP} at a time, on their own public $pubsub stream`);
  const clients = await bench.connect(3 * SMALL_GROUP, ACTIONCABLE_EXT_SUBPROTOCOL);
  const [joiners, bystanders, late] = [clients.slice(0, SMALL_GROUP), clients.slice(SMALL_GROUP, 2 * SMALL_GROUP), clients.slice(2 * SMALL_GROUP)];
  await inBatches([...joiners, ...bystanders], CONNECT_CONCURRENCY, (client) => client.subscribe(identifier));

  const since = Math.floor(Date.now() / 1000) - 1;
  for (let i = 0; i < missed; i++) {
    const tag = `h-${i}`;
    await bench.broadcast(stream, pubsubData(tag, options.payloadBytes), [...joiners, ...bystanders], tagged(tag));
  }
  await bench.measure(`ext subscribe with history (${missed} missed)`, `subscribe with history.since: confirm_subscription, the ${missed} broadcasts since, confirm_history`, late.length, async () => {
    for (const client of late) {
      const replayed = client.waitFor((frame) => frame.type === 'confirm_history' || frame.type === 'reject_history', SETTLE_TIMEOUT_MS);
      await client.subscribe(identifier, SETTLE_TIMEOUT_MS, { history: { since } });
      if ((await replayed).type !== 'confirm_history') throw new Error('the history subscribe was answered reject_history');
    }
  });

  // Set-up: every joiner joins under its own id (announced to the group).
  for (const [k, client] of joiners.entries()) {
    const received = Promise.all([...joiners, ...bystanders, ...late].map((member) => member.waitFor(presenceEvent('join', `gone-${k}`), SETTLE_TIMEOUT_MS, { fresh: true })));
    client.send({ command: 'join', identifier, presence: { id: `gone-${k}` } });
    await received;
  }
  const disconnects = () => bench.instrument.counts.apiGateway.disconnects;
  for (const [label, group] of [['joined presence', joiners], ['never joined', bystanders]] as const) {
    let target = 0;
    await bench.measure(`ext disconnect, ${label} (1 subscription)`, '$disconnect of an ext connection: its subscription and row removed, its session kept for restore, its presence (if any) left to expire', group.length, async () => {
      target = disconnects() + group.length;
      for (const client of group) await client.close();
    }, () => disconnects() >= target);
  }
  await closeAll(bench, late);
}

/** Closes `clients` outside any measurement and waits for their `$disconnect`s. */
async function closeAll(bench: CostBench, clients: readonly BenchCableClient[]): Promise<void> {
  if (clients.length === 0) return;
  const target = bench.instrument.counts.apiGateway.disconnects + clients.length;
  await inBatches(clients, CONNECT_CONCURRENCY, (client) => client.close());
  await bench.settle(() => bench.instrument.counts.apiGateway.disconnects >= target);
}

/**
 * The measured whisper and presence operations as the rows of docs/cost.md's table (markdown),
 * with the dollar cost the model priced each at, per million (the same figure is millionths of a dollar per operation).
 */
export function presenceMarkdownRows(operations: readonly OperationReport[], model: Model): string[] {
  const rows = ['| operation (runs) | Lambda invocations | `@connections` posts | API GW messages in / out | DynamoDB requests | RRU | WRU | USD per million |', '|---|---|---:|---|---|---:|---:|---:|'];
  for (const operation of operations) {
    if (!PRESENCE_OPERATION_PREFIXES.some((prefix) => operation.name.startsWith(prefix))) continue;
    const c = operation.perOperation;
    const lambda = Object.entries(c.lambda).map(([name, f]) => `${name} ${num(f.invocations)}`).join(', ') || '–';
    const posts = (c.apiGateway.postsDelivered ?? 0) + (c.apiGateway.postsGone ?? 0);
    const dynamo = Object.entries(c.dynamodb).map(([name, d]) => `${name} ${num(d.requests)}${d.conditionalCheckFailures ? ` (${num(d.conditionalCheckFailures)} condition failed)` : ''}`).join(', ') || '–';
    const usd = model.perOperation[operation.name]?.usd ?? Number.NaN;
    rows.push(`| ${operation.name} (${operation.count}) | ${lambda} | ${num(posts)} | ${num(c.apiGateway.inboundBilled ?? 0)} / ${num(c.apiGateway.outboundBilled ?? 0)} | ${dynamo} | ${num(c.dynamodbTotals.readRequestUnits)} | ${num(c.dynamodbTotals.writeRequestUnits)} | $${(usd * 1e6).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} |`);
  }
  return rows;
}

function num(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 3 });
}
