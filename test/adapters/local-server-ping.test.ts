import { bundledEnvironment } from '../../lambda/local/bundled-handlers';
import { parseCli } from '../../lambda/local/cli-options';
import { closeServers, connectClient, eventually, memoryStores, startTestServer, TestClient } from '../support/local-server';

afterEach(closeServers);

function isPing(frame: unknown): boolean {
  return (frame as { type?: string }).type === 'ping';
}

/** When each ping reaches this client (epoch ms), recorded as it arrives. */
function pingArrivals(client: TestClient): number[] {
  const arrivals: number[] = [];
  client.ws.on('message', (data) => {
    if (isPing(JSON.parse(data.toString()))) arrivals.push(Date.now());
  });
  return arrivals;
}

/** Mean time between consecutive arrivals. */
function meanInterval(arrivals: number[]): number {
  return (arrivals[arrivals.length - 1] - arrivals[0]) / (arrivals.length - 1);
}

describe('local server: pinger', () => {
  // Timing margins, explicit: the pinger runs once a second here, so a 1 s client averages ~1,000 ms
  // between pings and a 2 s one ~2,000 ms. Averages over several intervals absorb a round that a
  // loaded machine runs late (the next one comes early), and the bands stay apart at 1.5 s.
  const FAST_MEAN_MS = { min: 700, max: 1_400 } as const;
  const SLOW_MEAN_MS = { min: 1_600, max: 2_800 } as const;

  test('pings: a raw client gets {"type":"ping","message":<unix seconds>} every interval; ?pi= sets its own', async () => {
    const server = await startTestServer({ settings: { secret: 's', ping: { intervalSeconds: 1, minClientIntervalSeconds: 1 } } });
    const [fast, slow] = await Promise.all([connectClient(server.url), connectClient(`${server.url}?pi=2`)]);
    const [fastPings, slowPings] = [pingArrivals(fast), pingArrivals(slow)];
    await Promise.all([fast.welcome(), slow.welcome()]);

    // Five pings (four intervals) at 1 s, three (two intervals) at 2 s: about 4-6 s either way.
    await eventually(() => {
      expect(fastPings.length).toBeGreaterThanOrEqual(5);
      expect(slowPings.length).toBeGreaterThanOrEqual(3);
    }, 12_000);

    expect(fast.messages.filter(isPing)).toEqual(fastPings.map(() => ({ type: 'ping', message: expect.any(Number) })));
    const fastMean = meanInterval(fastPings.slice(0, 5));
    const slowMean = meanInterval(slowPings.slice(0, 3));
    expect(fastMean).toBeGreaterThanOrEqual(FAST_MEAN_MS.min);
    expect(fastMean).toBeLessThanOrEqual(FAST_MEAN_MS.max);
    expect(slowMean).toBeGreaterThanOrEqual(SLOW_MEAN_MS.min);
    expect(slowMean).toBeLessThanOrEqual(SLOW_MEAN_MS.max);
    expect([...memoryStores(server).connections.records.values()].map((r) => r.pingIntervalSeconds).sort()).toEqual([2, undefined]);
  }, 20_000);

  test('close: the minute-long in-process period is cut short (close does not wait for it)', async () => {
    const server = await startTestServer({ settings: { secret: 's', ping: { intervalSeconds: 30 } } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('cdk-cable dev: ping options', () => {
  test('--ping_interval and friends, with anycable-go\'s name for the interval, reach the settings', () => {
    const command = parseCli([
      'dev', '--ping_interval=30', '--ping_min_client_interval=10', '--ping_max_client_interval=300', '--ping_max_per_second=100', '--max_connection_age=3600',
    ], {});
    if (command.kind !== 'dev') throw new Error('expected dev');
    expect(command.options.settings).toMatchObject({
      ping: { intervalSeconds: 30, minClientIntervalSeconds: 10, maxClientIntervalSeconds: 300, maxPerSecond: 100 },
      maxConnectionAgeSeconds: 3600,
    });
  });

  test('CABLE_PING_INTERVAL=0 (the same variable the Lambda functions read) turns pings off', () => {
    const command = parseCli(['dev'], { CABLE_PING_INTERVAL: '0' });
    if (command.kind !== 'dev') throw new Error('expected dev');
    expect(command.options.settings?.ping?.intervalSeconds).toBe(0);
  });

  test.each([
    ['--ping_interval=541', /--ping_interval must be an integer from 0 to 540, got "541"/],
    ['--ping_max_client_interval=0', /--ping_max_client_interval must be an integer from 1 to 540/],
    ['--max_connection_age=7201', /--max_connection_age must be an integer from 1 to 7200/],
  ])('%s is refused naming the flag', (flag, message) => {
    expect(() => parseCli(['dev', flag], {})).toThrow(message);
  });

  test('--lambda_assets: the bundles get the ping settings, and a period of one tick', () => {
    const env = bundledEnvironment({
      settings: { ping: { intervalSeconds: 30, minClientIntervalSeconds: 5 }, maxConnectionAgeSeconds: 600 },
      store: { kind: 'dynamodb', endpoint: 'http://127.0.0.1:1', connectionsTable: 'c', subscriptionsTable: 's' },
      callbackUrl: 'http://127.0.0.1:1/cable',
      httpUrl: 'http://127.0.0.1:1',
      logLevel: 'warn',
    });
    expect(env).toMatchObject({
      CABLE_PING_INTERVAL: '30',
      CABLE_PING_MIN_CLIENT_INTERVAL: '5',
      CABLE_PING_MAX_CLIENT_INTERVAL: '540',
      CABLE_PING_MAX_PER_SECOND: '5000',
      CABLE_PING_SEGMENTS: '4',
      CABLE_PING_PERIOD: '5',
      CABLE_MAX_CONNECTION_AGE: '600',
    });
  });
});
