import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { logicalId, makeStack } from './support';
import { CableRpc, CableWebSocketApi, CableWebSocketApiProps } from '../../src';
import { DEFAULT_DELIVERY, DEFAULT_LIMITS, DEFAULT_MAX_CONNECTION_AGE_SECONDS, DEFAULT_PING, DEFAULT_TTL_SECONDS } from '../../src/contract/defaults';
import { CableFunctionEnvironment, readEnvironment, SecretName } from '../../src/contract/environment';
import { CABLE_FUNCTIONS, CableFunctionName } from '../../src/contract/functions';

/*
 * The round trip: props in, each function's environment read back through the contract's
 * readEnvironment (what the bundled functions do), and compared with what the props asked for.
 */

const CONSTRUCT_IDS: Record<CableFunctionName, string> = {
  connect: 'ConnectHandler',
  message: 'MessageHandler',
  disconnect: 'DisconnectHandler',
  deliver: 'DeliverHandler',
  broadcast: 'BroadcastHandler',
  fanout: 'FanOutHandler',
  ping: 'PingHandler',
};

type Environments = Record<CableFunctionName, CableFunctionEnvironment>;

function environments(props: (stack: ReturnType<typeof makeStack>) => CableWebSocketApiProps): Environments {
  const stack = makeStack();
  new CableWebSocketApi(stack, 'Cable', props(stack));
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources;
  return Object.fromEntries(CABLE_FUNCTIONS.map((name) => {
    const variables = resources[logicalId(template, 'AWS::Lambda::Function', CONSTRUCT_IDS[name])].Properties.Environment.Variables;
    return [name, readEnvironment(variables)];
  })) as Environments;
}

/** The settings of an environment: everything but the deploy-time references (tables, URLs, functions, secrets). */
function settingsOf(env: CableFunctionEnvironment): CableFunctionEnvironment {
  const { connectionsTable, subscriptionsTable, callbackUrl, apiId, deliverFunction, fanOutFunction, pingFunction, secrets, ...settings } = env;
  return settings;
}

/** The secrets a function is told where to find. */
function secretsOf(env: CableFunctionEnvironment): SecretName[] {
  return (Object.entries(env.secrets ?? {}) as Array<[SecretName, { arn?: string } | undefined]>)
    .filter(([, source]) => source?.arn !== undefined).map(([name]) => name).sort();
}

const RPC_URL = 'https://app.example.com/_anycable';
const ORIGINS = ['https://app.example.com', 'http://localhost:3000'];
const secret = (stack: ReturnType<typeof makeStack>, name: string) => secretsmanager.Secret.fromSecretNameV2(stack, name, `cable/${name}`);

describe('environment round trip', () => {
  const envs = environments((stack) => ({
    connectionTtl: Duration.hours(4),
    turboStreams: false,
    publicStreams: true,
    streamsWhisper: true,
    streamsPresence: true,
    presenceTtl: Duration.seconds(30),
    allowedOrigins: ORIGINS,
    pingInterval: Duration.seconds(30),
    minClientPingInterval: Duration.seconds(10),
    maxClientPingInterval: Duration.minutes(5),
    maxPingsPerSecond: 1000,
    maxConnectionAge: Duration.minutes(90),
    broadcastConcurrency: 16,
    broadcastShardSize: 2000,
    broadcastRetry: { maxAttempts: 2, baseDelay: Duration.millis(100), maxDelay: Duration.seconds(2) },
    maxSubscriptionsPerConnection: 50,
    maxInvalidFrames: 4,
    historyLimit: 20,
    historyTtl: Duration.minutes(2),
    sessionsTtl: Duration.minutes(3),
    jwtParam: 'token',
    enforceJwt: true,
    jwtSecret: secret(stack, 'jwt'),
    turboStreamsSecret: secret(stack, 'turbo'),
    streamsSecret: secret(stack, 'streams'),
    broadcastKey: secret(stack, 'broadcast-key'),
    rpc: CableRpc.fromUrl(RPC_URL, {
      secret: secret(stack, 'rpc'),
      timeout: Duration.seconds(2),
      maxAttempts: 2,
      headers: ['cookie', 'x-api-token'],
      cookies: ['_session'],
    }),
  }));

  const shared: CableFunctionEnvironment = {
    ttlSeconds: 4 * 60 * 60,
    turboStreams: false,
    publicStreams: true,
    allowedOrigins: ORIGINS,
    maxConnectionAgeSeconds: 90 * 60,
    ping: { intervalSeconds: 30, minClientIntervalSeconds: 10, maxClientIntervalSeconds: 300, maxPerSecond: 1000 },
    delivery: {},
    limits: {},
    history: {},
  };
  const rpc: CableFunctionEnvironment = {
    rpc: { kind: 'http', url: RPC_URL, timeoutMs: 2000, maxAttempts: 2 },
    rpcHeaders: ['cookie', 'x-api-token'],
    rpcCookies: ['_session'],
  };
  const delivery = { concurrency: 16, shardSize: 2000, maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 2000 };
  const history = { limit: 20, ttlSeconds: 120, sessionsTtlSeconds: 180 };
  const limits = { maxSubscriptionsPerConnection: 50, maxInvalidFrames: 4 };
  const expected: Environments = {
    // Sessions: connect restores them (counting their subscriptions), disconnect keeps them.
    connect: { ...shared, ...rpc, jwtParam: 'token', enforceJwt: true, limits, history },
    // Whispers: which streams allow them (the fan-out function, a reference, delivers them).
    message: { ...shared, ...rpc, limits, history, streamsWhisper: true, streamsPresence: true },
    // Presence: whoever forgets a connection lets what it joined expire after the TTL.
    disconnect: { ...shared, ...rpc, history, presenceTtlSeconds: 30 },
    deliver: shared,
    broadcast: { ...shared, ...rpc, delivery, history, presenceTtlSeconds: 30 },
    fanout: { ...shared, ...rpc, delivery, presenceTtlSeconds: 30 },
    ping: { ...shared, ...rpc, delivery, presenceTtlSeconds: 30 },
  };

  test.each(CABLE_FUNCTIONS)('settings: the %s function gets exactly the settings the props asked for', (name) => {
    expect(settingsOf(envs[name])).toEqual(expected[name]);
  });

  test('broadcastConcurrency, broadcastShardSize, broadcastRetry: reach every function that delivers to many connections (broadcast, fanout, ping)', () => {
    for (const name of ['broadcast', 'fanout', 'ping'] as const) expect(envs[name].delivery).toEqual(delivery);
  });

  test.each([
    ['connect', ['httpRpcSecret', 'jwtSecret', 'secret']],
    ['message', ['httpRpcSecret', 'secret', 'streamsSecret', 'turboStreamsSecret']],
    ['disconnect', ['httpRpcSecret', 'secret']],
    ['deliver', []],
    ['broadcast', ['broadcastKey', 'httpRpcSecret', 'secret']],
    ['fanout', ['httpRpcSecret', 'secret']],
    ['ping', ['httpRpcSecret', 'secret']],
  ] as Array<[CableFunctionName, SecretName[]]>)('secrets: the %s function is told of exactly %j', (name, secrets) => {
    expect(secretsOf(envs[name])).toEqual(secrets);
  });

  test('references: every function knows the tables, the stage and the API; only connect the deliver and ping functions, only broadcast, message (whispers) and ping (expired presence) the fan-out function', () => {
    for (const name of CABLE_FUNCTIONS) {
      const env = envs[name];
      for (const reference of [env.connectionsTable, env.subscriptionsTable, env.callbackUrl, env.apiId]) expect(reference).toBeDefined();
      expect(env.deliverFunction !== undefined).toBe(name === 'connect');
      expect(env.fanOutFunction !== undefined).toBe(name === 'broadcast' || name === 'message' || name === 'ping');
      expect(env.pingFunction !== undefined).toBe(name === 'connect');
    }
  });
});

describe('environment defaults', () => {
  const envs = environments(() => ({}));

  test.each(CABLE_FUNCTIONS)('defaults: the %s function gets the contract\'s defaults', (name) => {
    const delivery = ['broadcast', 'fanout', 'ping'].includes(name)
      ? { concurrency: DEFAULT_DELIVERY.concurrency, shardSize: DEFAULT_DELIVERY.shardSize }
      : {};
    const secrets = { connect: ['secret'], message: ['secret'], broadcast: ['secret'] } as Partial<Record<CableFunctionName, SecretName[]>>;
    expect(settingsOf(envs[name])).toEqual({
      ttlSeconds: DEFAULT_TTL_SECONDS,
      turboStreams: true,
      publicStreams: false,
      maxConnectionAgeSeconds: DEFAULT_MAX_CONNECTION_AGE_SECONDS,
      ping: {
        intervalSeconds: DEFAULT_PING.intervalSeconds,
        minClientIntervalSeconds: DEFAULT_PING.intervalSeconds,
        maxClientIntervalSeconds: DEFAULT_PING.maxClientIntervalSeconds,
        maxPerSecond: DEFAULT_PING.maxPerSecond,
      },
      delivery,
      limits: name === 'message' || name === 'connect' ? DEFAULT_LIMITS : {},
      history: ['message', 'broadcast', 'connect', 'disconnect'].includes(name) ? { limit: 100, ttlSeconds: 300, sessionsTtlSeconds: 300 } : {},
      ...(name === 'message' ? { streamsWhisper: false, streamsPresence: false } : {}),
      ...(['disconnect', 'broadcast', 'fanout', 'ping'].includes(name) ? { presenceTtlSeconds: 15 } : {}),
    });
    expect(secretsOf(envs[name])).toEqual(secrets[name] ?? []);
  });

  test('presenceTtl: not a whole number of seconds is refused, naming the prop', () => {
    expect(() => environments(() => ({ presenceTtl: Duration.millis(1500) }))).toThrow(/`presenceTtl` must be a whole number of seconds/);
  });

  test('maxSubscriptionsPerConnection, maxInvalidFrames: a value that is not a whole number of at least 1 is refused, naming the prop', () => {
    expect(() => environments(() => ({ maxSubscriptionsPerConnection: 0 }))).toThrow(/`maxSubscriptionsPerConnection` must be a whole number of at least 1, got 0/);
    expect(() => environments(() => ({ maxInvalidFrames: 2.5 }))).toThrow(/`maxInvalidFrames` must be a whole number of at least 1, got 2.5/);
  });

  test('historyLimit, historyTtl, sessionsTtl: anycable-go\'s defaults (100, 5 minutes, 5 minutes) reach message, broadcast, connect and disconnect; bad values are refused, naming the prop', () => {
    expect(envs.message.history).toEqual({ limit: 100, ttlSeconds: 300, sessionsTtlSeconds: 300 });
    expect(environments(() => ({ historyLimit: 0 })).broadcast.history).toEqual({ limit: 0, ttlSeconds: 300, sessionsTtlSeconds: 300 });
    const noSessions = environments(() => ({ sessionsTtl: Duration.seconds(0) }));
    expect(noSessions.disconnect.history).toEqual({ limit: 100, ttlSeconds: 300, sessionsTtlSeconds: 0 });
    expect(() => environments(() => ({ sessionsTtl: Duration.millis(500) }))).toThrow(/`sessionsTtl` must be a whole number of seconds \(0 restores no session\), got 500 millis; e\.g\. Duration\.minutes\(5\)/);
    expect(() => environments(() => ({ historyLimit: -1 }))).toThrow(/`historyLimit` must be a whole number of at least 0 .*got -1/);
    expect(() => environments(() => ({ historyTtl: Duration.millis(1500) }))).toThrow(/`historyTtl` must be a whole number of seconds/);
  });

  test('pings: false tells every function the interval is 0', () => {
    const off = environments(() => ({ pings: false }));
    for (const name of CABLE_FUNCTIONS) expect(off[name].ping?.intervalSeconds).toBe(0);
  });
});
