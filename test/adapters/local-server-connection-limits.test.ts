import { deriveKey } from '../../lambda/core/config';
import { signStream } from '../../lambda/core/signed-stream';
import { bundledEnvironment } from '../../lambda/local/bundled-handlers';
import { parseCli } from '../../lambda/local/cli-options';
import { closeServers, connectClient, memoryStores, SECRET, startTestServer, TestClient } from '../support/local-server';

afterEach(closeServers);

const SIGNED = signStream('room:1', SECRET);
const MARKER = JSON.stringify({ channel: 'Turbo::StreamsChannel', signed_stream_name: signStream('marker', SECRET) });
const INVALID_REQUEST = { type: 'disconnect', reason: 'invalid_request', reconnect: false };

/** The finding's identifiers: one copied signed stream name, a key added to make each distinct. */
function variant(i: number): string {
  return JSON.stringify({ channel: 'Turbo::StreamsChannel', signed_stream_name: SIGNED, v: i });
}

type Frame = { type?: string; identifier?: string; message?: unknown };

/** Sends `subscribe` and waits for its answer: `confirm_subscription` or `reject_subscription`. */
async function subscribe(client: TestClient, identifier: string): Promise<string | undefined> {
  client.send({ command: 'subscribe', identifier });
  const answer = await client.next((frame) => {
    const { type, identifier: id } = frame as Frame;
    return id === identifier && (type === 'confirm_subscription' || type === 'reject_subscription');
  });
  return (answer as Frame).type;
}

async function broadcast(server: { broadcastUrl: string }, stream: string, data: string): Promise<void> {
  const response = await fetch(server.broadcastUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Authorization': `Bearer ${deriveKey(SECRET, 'broadcast-cable')}` },
    body: JSON.stringify({ stream, data: JSON.stringify(data) }),
  });
  expect(response.status).toBe(201);
}

describe('local server: maxSubscriptionsPerConnection', () => {
  test('maxSubscriptionsPerConnection: cap + 1 identifiers of one signed stream, the last rejected; one broadcast brings at most cap frames', async () => {
    const cap = 5;
    const server = await startTestServer({ settings: { secret: SECRET, limits: { maxSubscriptionsPerConnection: cap + 1 } } });
    const client = await connectClient(server.url);
    await client.welcome();
    // The marker takes one slot: cap slots are left for the stream.
    expect(await subscribe(client, MARKER)).toBe('confirm_subscription');
    const answers: (string | undefined)[] = [];
    for (let i = 0; i <= cap; i++) answers.push(await subscribe(client, variant(i)));

    expect(answers).toEqual([...Array(cap).fill('confirm_subscription'), 'reject_subscription']);
    expect(memoryStores(server).subscriptions.all().filter((row) => row.stream === 'room:1')).toHaveLength(cap);

    await broadcast(server, 'room:1', 'hello');
    // Frames on one socket arrive in order: once the marker's broadcast is here, every frame of the first one is.
    await broadcast(server, 'marker', 'done');
    await client.next((frame) => (frame as Frame).identifier === MARKER && (frame as Frame).message === 'done');
    const delivered = client.messages.filter((frame) => (frame as Frame).message === 'hello');
    expect(delivered).toHaveLength(cap);
    expect(delivered.map((frame) => (frame as Frame).identifier)).not.toContain(variant(cap));
    await client.close();
  });
});

describe('local server: maxInvalidFrames', () => {
  test('maxInvalidFrames: a flooding connection is told invalid_request and closed; another client still subscribes', async () => {
    const server = await startTestServer({ settings: { secret: SECRET, limits: { maxInvalidFrames: 10 } } });
    const flooder = await connectClient(server.url);
    await flooder.welcome();
    for (let i = 0; i < 200 && flooder.ws.readyState === flooder.ws.OPEN; i++) flooder.send('x');

    const other = await connectClient(server.url);
    await other.welcome();
    expect(await subscribe(other, MARKER)).toBe('confirm_subscription');

    await flooder.closed;
    expect(flooder.messages.filter((frame) => (frame as Frame).type !== 'ping')).toEqual([{ type: 'welcome' }, INVALID_REQUEST]);
    expect(other.ws.readyState).toBe(other.ws.OPEN);
    await other.close();
  });
});

describe('cdk-cable dev: limit options', () => {
  test('--max_subscriptions_per_connection and --max_invalid_frames reach the settings; CABLE_* variables too', () => {
    const command = parseCli(['dev', '--max_subscriptions_per_connection=20', '--max_invalid_frames=3'], {});
    if (command.kind !== 'dev') throw new Error('expected dev');
    expect(command.options.settings?.limits).toEqual({ maxSubscriptionsPerConnection: 20, maxInvalidFrames: 3 });

    const fromEnv = parseCli(['dev'], { CABLE_MAX_SUBSCRIPTIONS_PER_CONNECTION: '40', CABLE_MAX_INVALID_FRAMES: '5' });
    if (fromEnv.kind !== 'dev') throw new Error('expected dev');
    expect(fromEnv.options.settings?.limits).toEqual({ maxSubscriptionsPerConnection: 40, maxInvalidFrames: 5 });
  });

  test.each([
    ['--max_subscriptions_per_connection=0', /--max_subscriptions_per_connection must be an integer from 1 to 1000000, got "0"/],
    ['--max_invalid_frames=ten', /--max_invalid_frames must be an integer from 1 to 1000000, got "ten"/],
  ])('%s is refused naming the flag', (flag, message) => {
    expect(() => parseCli(['dev', flag], {})).toThrow(message);
  });

  test('--lambda_assets: the bundles get the limits through the variables the construct writes', () => {
    const env = bundledEnvironment({
      settings: { limits: { maxSubscriptionsPerConnection: 20, maxInvalidFrames: 3 } },
      store: { kind: 'dynamodb', endpoint: 'http://127.0.0.1:1', connectionsTable: 'c', subscriptionsTable: 's' },
      callbackUrl: 'http://127.0.0.1:1/cable',
      httpUrl: 'http://127.0.0.1:1',
      logLevel: 'warn',
    });
    expect(env).toMatchObject({ CABLE_MAX_SUBSCRIPTIONS_PER_CONNECTION: '20', CABLE_MAX_INVALID_FRAMES: '3' });
  });
});
