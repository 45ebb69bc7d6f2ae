import {
  CableConfig, CableSettings, DEFAULT_DELIVERY_DEADLINE_MS, DEFAULT_DELIVERY, DEFAULT_LIMITS, DEFAULT_MAX_CONNECTION_AGE_SECONDS, DEFAULT_PING,
  DEFAULT_TTL_SECONDS,
  resolveConfig,
} from '../../lambda/core/config';
import { CableConfigError } from '../../lambda/core/errors';

describe('resolveConfig', () => {
  test('resolveConfig: defaults serve Turbo, refuse public streams, allow any origin', () => {
    expect(resolveConfig({})).toEqual<CableConfig>({
      turboStreamsSecret: undefined,
      streamsSecret: undefined,
      turboStreams: true,
      publicStreams: false,
      streamsWhisper: false,
      streamsPresence: false,
      presenceTtlSeconds: 15,
      allowedOrigins: undefined,
      ttlSeconds: DEFAULT_TTL_SECONDS,
      deliveryDeadlineMs: DEFAULT_DELIVERY_DEADLINE_MS,
      broadcastKey: undefined,
      delivery: DEFAULT_DELIVERY,
      ping: DEFAULT_PING,
      maxConnectionAgeSeconds: DEFAULT_MAX_CONNECTION_AGE_SECONDS,
      jwt: undefined,
      rpc: { secret: undefined, proxyHeaders: ['cookie'] },
      limits: DEFAULT_LIMITS,
      history: { limit: 100, ttlSeconds: 300, sessionsTtlSeconds: 300 },
    });
  });

  test('history.sessionsTtlSeconds: 0 keeps no session; a negative or fractional value is refused, naming the setting', () => {
    expect(resolveConfig({ history: { sessionsTtlSeconds: 0 } }).history.sessionsTtlSeconds).toBe(0);
    for (const bad of [-1, 1.5]) {
      expect(() => resolveConfig({ history: { sessionsTtlSeconds: bad } }))
        .toThrow(new CableConfigError(`history.sessionsTtlSeconds must be a non-negative integer (0: no session restore), got ${bad}`));
    }
  });

  test('limits: partial settings keep the other default; invalid values name the setting', () => {
    expect(resolveConfig({ limits: { maxInvalidFrames: 3 } }).limits).toEqual({ ...DEFAULT_LIMITS, maxInvalidFrames: 3 });
    expect(() => resolveConfig({ limits: { maxSubscriptionsPerConnection: 0 } })).toThrow(/limits.maxSubscriptionsPerConnection must be an integer of at least 1, got 0/);
    expect(() => resolveConfig({ limits: { maxInvalidFrames: 1.5 } })).toThrow(/limits.maxInvalidFrames must be an integer of at least 1, got 1.5/);
  });

  test('broadcastKey: derived from secret as anycable-go does, hex(HMAC-SHA256(secret, "broadcast-cable"))', () => {
    // Computed independently: printf 'broadcast-cable' | openssl dgst -sha256 -hmac 's3Krit'
    expect(resolveConfig({ secret: 's3Krit' }).broadcastKey).toBe('a239a7ca182c90fc32bdedf73703d271388cf433843affffd3a5e757041fc716');
  });

  test('broadcastKey: an explicit key wins; without a secret or key there is none', () => {
    expect(resolveConfig({ secret: 's', broadcastKey: 'explicit' }).broadcastKey).toBe('explicit');
    expect(resolveConfig({ streamsSecret: 'p' }).broadcastKey).toBeUndefined();
  });

  test('delivery: partial settings keep the other defaults; invalid values name the setting', () => {
    expect(resolveConfig({ delivery: { concurrency: 8 } }).delivery).toEqual({ ...DEFAULT_DELIVERY, concurrency: 8 });
    expect(() => resolveConfig({ delivery: { shardSize: 0 } })).toThrow(/delivery.shardSize must be an integer of at least 1, got 0/);
  });

  test('ttlSeconds: rows outlive API Gateway\'s 2-hour connection limit by default', () => {
    expect(DEFAULT_TTL_SECONDS).toBeGreaterThan(2 * 60 * 60);
  });

  test.each<{ name: string; settings: CableSettings; turbo: string | undefined; streams: string | undefined }>([
    { name: 'secrets: secret alone keys both', settings: { secret: 's' }, turbo: 's', streams: 's' },
    { name: 'secrets: streamsSecret is preferred to secret for both', settings: { secret: 's', streamsSecret: 'p' }, turbo: 'p', streams: 'p' },
    { name: 'secrets: turboStreamsSecret is preferred for Turbo only', settings: { secret: 's', streamsSecret: 'p', turboStreamsSecret: 't' }, turbo: 't', streams: 'p' },
    { name: 'secrets: turboStreamsSecret with secret leaves streams on secret', settings: { secret: 's', turboStreamsSecret: 't' }, turbo: 't', streams: 's' },
    { name: 'secrets: turboStreamsSecret alone leaves streams unkeyed', settings: { turboStreamsSecret: 't' }, turbo: 't', streams: undefined },
    { name: 'secrets: empty strings count as unset', settings: { secret: 's', streamsSecret: '', turboStreamsSecret: '' }, turbo: 's', streams: 's' },
    { name: 'secrets: none leaves both unkeyed', settings: {}, turbo: undefined, streams: undefined },
  ])('$name', ({ settings, turbo, streams }) => {
    const config = resolveConfig(settings);
    expect(config.turboStreamsSecret).toBe(turbo);
    expect(config.streamsSecret).toBe(streams);
  });

  // Each refusal is matched whole: a pattern like /^ttlSeconds.*got 59/ also matches the
  // "greater than maxConnectionAgeSeconds" refusal, so dropping the "at least 60" check passed.
  test.each<{ name: string; settings: CableSettings; message: string }>([
    { name: 'ttlSeconds: 59 is refused', settings: { ttlSeconds: 59 }, message: 'ttlSeconds must be an integer of at least 60, got 59' },
    {
      name: 'ttlSeconds: 59 is refused even below a shorter maxConnectionAgeSeconds',
      settings: { ttlSeconds: 59, maxConnectionAgeSeconds: 30 },
      message: 'ttlSeconds must be an integer of at least 60, got 59',
    },
    { name: 'ttlSeconds: 0 is refused', settings: { ttlSeconds: 0 }, message: 'ttlSeconds must be an integer of at least 60, got 0' },
    { name: 'ttlSeconds: a negative value is refused', settings: { ttlSeconds: -3600 }, message: 'ttlSeconds must be an integer of at least 60, got -3600' },
    { name: 'ttlSeconds: a fraction is refused', settings: { ttlSeconds: 90.5 }, message: 'ttlSeconds must be an integer of at least 60, got 90.5' },
    { name: 'ttlSeconds: NaN is refused', settings: { ttlSeconds: NaN }, message: 'ttlSeconds must be an integer of at least 60, got NaN' },
    {
      name: 'allowedOrigins: an empty list is refused',
      settings: { allowedOrigins: [] },
      message: 'allowedOrigins must list at least one origin when set, got [] (omit it to allow any origin)',
    },
  ])('$name', ({ settings, message }) => {
    expect(() => resolveConfig(settings)).toThrow(CableConfigError);
    // An Error given to toThrow compares the whole message.
    expect(() => resolveConfig(settings)).toThrow(new CableConfigError(message));
  });

  test('ttlSeconds: 60 is the smallest accepted', () => {
    expect(resolveConfig({ ttlSeconds: 60, maxConnectionAgeSeconds: 59 }).ttlSeconds).toBe(60);
  });

  test('allowedOrigins: a list is kept as given', () => {
    expect(resolveConfig({ allowedOrigins: ['https://a.example.com', 'https://b.example.com'] }).allowedOrigins)
      .toEqual(['https://a.example.com', 'https://b.example.com']);
  });

  test('turboStreams, publicStreams, deliveryDeadlineMs: explicit values are kept', () => {
    expect(resolveConfig({ turboStreams: false, publicStreams: true, deliveryDeadlineMs: 3_000 })).toMatchObject({
      turboStreams: false,
      publicStreams: true,
      deliveryDeadlineMs: 3_000,
    });
  });

  test('ping: partial settings keep the defaults; the client minimum follows the interval unless given', () => {
    expect(resolveConfig({}).ping).toEqual(DEFAULT_PING);
    expect(resolveConfig({ ping: { intervalSeconds: 540 } }).ping)
      .toMatchObject({ intervalSeconds: 540, minClientIntervalSeconds: 540, maxClientIntervalSeconds: 540 });
    expect(resolveConfig({ ping: { intervalSeconds: 30, minClientIntervalSeconds: 3 } }).ping)
      .toMatchObject({ intervalSeconds: 30, minClientIntervalSeconds: 3 });
  });

  test('ping: the smallest values (1) are accepted', () => {
    const smallest = { intervalSeconds: 1, minClientIntervalSeconds: 1, maxClientIntervalSeconds: 1, maxPerSecond: 1, segments: 1 };
    expect(resolveConfig({ ping: smallest }).ping).toEqual({ ...smallest, enabled: true });
  });

  test('ping: intervalSeconds 0 turns pings off, as anycable-go\'s --ping_interval=0; so does enabled: false', () => {
    expect(resolveConfig({ ping: { intervalSeconds: 0 } }).ping.enabled).toBe(false);
    expect(resolveConfig({ ping: { enabled: false } }).ping.enabled).toBe(false);
  });

  test('maxConnectionAgeSeconds: 1 and 7200 (API Gateway\'s limit) are accepted', () => {
    expect(resolveConfig({ maxConnectionAgeSeconds: 1, ttlSeconds: 60 }).maxConnectionAgeSeconds).toBe(1);
    expect(resolveConfig({ maxConnectionAgeSeconds: 7200 }).maxConnectionAgeSeconds).toBe(7200);
  });

  test('rpc.secret: derived from secret as anycable-go does, hex(HMAC-SHA256(secret, "rpc-cable")); an explicit httpRpcSecret wins', () => {
    // Computed independently: printf 'rpc-cable' | openssl dgst -sha256 -hmac 's3Krit'
    expect(resolveConfig({ secret: 's3Krit' }).rpc.secret).toBe('08ac56f1562c6377ddd5d2d55cee2e35e117a55959d6a6ea3a63548ef0a7e559');
    expect(resolveConfig({ secret: 's3Krit', httpRpcSecret: 'explicit' }).rpc.secret).toBe('explicit');
  });

  test('rpcCookies: a list is kept; an empty list means every cookie (no proxyCookies)', () => {
    expect(resolveConfig({ rpcCookies: ['_session_id'] }).rpc.proxyCookies).toEqual(['_session_id']);
    expect('proxyCookies' in resolveConfig({ rpcCookies: [] }).rpc).toBe(false);
  });

  test('jwtParam, rpcHeaders: valid names are kept (headers lower-cased)', () => {
    expect(resolveConfig({ secret: 's', jwtParam: 'x-jid_2' }).jwt).toEqual({ secret: 's', param: 'x-jid_2', enforce: false });
    expect(resolveConfig({ rpcHeaders: ['Cookie', 'X-Api-Key'] }).rpc.proxyHeaders).toEqual(['cookie', 'x-api-key']);
  });

  test('maxConnectionAgeSeconds: two minutes before API Gateway\'s 2-hour cut by default', () => {
    expect(resolveConfig({}).maxConnectionAgeSeconds).toBe(2 * 3600 - 120);
  });

  test.each<{ name: string; settings: CableSettings; message: string }>([
    {
      name: 'ping.intervalSeconds: over 540 is refused',
      settings: { ping: { intervalSeconds: 600 } },
      message: 'ping.intervalSeconds must be an integer from 1 to 540 seconds (0 turns pings off), got 600',
    },
    {
      name: 'ping.intervalSeconds: a fraction is refused',
      settings: { ping: { intervalSeconds: 2.5 } },
      message: 'ping.intervalSeconds must be an integer from 1 to 540 seconds (0 turns pings off), got 2.5',
    },
    {
      name: 'ping.minClientIntervalSeconds: 0 is refused',
      settings: { ping: { minClientIntervalSeconds: 0 } },
      message: 'ping.minClientIntervalSeconds must be an integer from 1 to 540 seconds, got 0',
    },
    {
      name: 'ping.maxClientIntervalSeconds: under the interval is refused',
      settings: { ping: { maxClientIntervalSeconds: 2 } },
      message: 'ping.intervalSeconds (3) must lie between ping.minClientIntervalSeconds (3) and ping.maxClientIntervalSeconds (2)',
    },
    {
      name: 'ping.minClientIntervalSeconds: over the interval is refused',
      settings: { ping: { intervalSeconds: 3, minClientIntervalSeconds: 5 } },
      message: 'ping.intervalSeconds (3) must lie between ping.minClientIntervalSeconds (5) and ping.maxClientIntervalSeconds (540)',
    },
    { name: 'ping.maxPerSecond: 0 is refused', settings: { ping: { maxPerSecond: 0 } }, message: 'ping.maxPerSecond must be an integer of at least 1, got 0' },
    { name: 'ping.segments: 0 is refused', settings: { ping: { segments: 0 } }, message: 'ping.segments must be an integer from 1 to 1000, got 0' },
    {
      name: 'maxConnectionAgeSeconds: over 2 hours is refused',
      settings: { maxConnectionAgeSeconds: 7201 },
      message: 'maxConnectionAgeSeconds must be an integer from 1 to 7200 (API Gateway\'s 2-hour limit), got 7201',
    },
    {
      name: 'maxConnectionAgeSeconds: 0 is refused',
      settings: { maxConnectionAgeSeconds: 0 },
      message: 'maxConnectionAgeSeconds must be an integer from 1 to 7200 (API Gateway\'s 2-hour limit), got 0',
    },
    {
      name: 'maxConnectionAgeSeconds: a fraction is refused',
      settings: { maxConnectionAgeSeconds: 100.5 },
      message: 'maxConnectionAgeSeconds must be an integer from 1 to 7200 (API Gateway\'s 2-hour limit), got 100.5',
    },
    {
      name: 'ttlSeconds: equal to maxConnectionAgeSeconds is refused',
      settings: { ttlSeconds: 3600, maxConnectionAgeSeconds: 3600 },
      message: 'ttlSeconds must be greater than maxConnectionAgeSeconds (3600), got 3600: DynamoDB would expire the rows of connections still open',
    },
    {
      // Invalid in the middle: an unanchored pattern would find a valid run at either end.
      name: 'jwtParam: a name with a space is refused',
      settings: { jwtParam: 'j id' },
      message: 'jwtParam must be a query parameter and header name of letters, digits, "_" or "-", got "j id"',
    },
    {
      name: 'enforceJwt: without jwtSecret or secret is refused',
      settings: { enforceJwt: true, streamsSecret: 'p' },
      message: 'enforceJwt needs a JWT secret: set jwtSecret or secret',
    },
    {
      name: 'rpcHeaders: a name with a space is refused, naming it',
      settings: { rpcHeaders: ['cookie', 'x-api key'] },
      message: 'rpcHeaders must be HTTP header names, got "x-api key"',
    },
    {
      name: 'ttlSeconds: not above maxConnectionAgeSeconds is refused',
      settings: { ttlSeconds: 3600 },
      message: 'ttlSeconds must be greater than maxConnectionAgeSeconds (7080), got 3600: DynamoDB would expire the rows of connections still open',
    },
  ])('$name', ({ settings, message }) => {
    expect(() => resolveConfig(settings)).toThrow(CableConfigError);
    expect(() => resolveConfig(settings)).toThrow(new CableConfigError(message));
  });
});
