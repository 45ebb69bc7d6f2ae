import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveKey } from '../../lambda/core/config';
import { signStream } from '../../lambda/core/signed-stream';
import { CliIo, runCli } from '../../lambda/local/cli-main';
import { envName, parseCli } from '../../lambda/local/cli-options';
import { CLI_OPTIONS } from '../../lambda/local/dev-options';
import { LocalCableServer } from '../../lambda/local/local-cable-server';
import { closeServers, connectClient, startTestServer, subscribeCommand, TestClient } from '../support/local-server';

const ROOT = join(__dirname, '..', '..');

/** `runCli` in-process, with its output captured and its stop signal in the test's hands. */
function runInProcess(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  let stop!: (reason: string) => void;
  let started!: (server: LocalCableServer) => void;
  const server = new Promise<LocalCableServer>((resolve) => (started = resolve));
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  const io: CliIo = { out: (line) => out.push(line), err: (line) => err.push(line), waitForStop: () => stopped, onStarted: started };
  const exitCode = runCli(argv, env, io);
  return { out, err, stop, server, exitCode, text: () => out.join('\n') };
}

async function confirms(client: TestClient, identifier: Record<string, unknown>): Promise<string | undefined> {
  client.send(subscribeCommand(identifier));
  const frame = await client.next((f) => /_subscription$/.test((f as { type?: string }).type ?? ''));
  return (frame as { type?: string }).type;
}

afterEach(closeServers);

describe('cdk-cable dev (in-process)', () => {
  test('dev: prints the endpoints and what is on, then a signal closes sockets with 1001 and exits 0', async () => {
    const run = runInProcess(['dev', '--port=0', '--secret=cli-secret', '--log_level=silent']);
    const server = await run.server;
    expect(run.text()).toContain(`WebSocket:     ${server.url} (subprotocol actioncable-v1-json or actioncable-v1-ext-json)`);
    expect(run.text()).toContain(`@connections:  ${server.callbackUrl}/@connections/{connectionId}`);
    expect(run.text()).toMatch(/Turbo Streams: on/);
    expect(run.text()).toMatch(/\$pubsub: +signed streams on, public streams off/);
    expect(run.text()).toMatch(/Origins: +any/);
    expect(run.text()).toMatch(/Store: +in memory/);
    expect(run.err).toEqual([]);

    const client = await connectClient(server.url);
    await client.welcome();
    expect(await confirms(client, { channel: 'Turbo::StreamsChannel', signed_stream_name: signStream('a', 'cli-secret') })).toBe('confirm_subscription');
    run.stop('SIGTERM');
    expect(await run.exitCode).toBe(0);
    expect(await client.closed).toEqual({ code: 1001, reason: 'Going away' });
  });

  test('env: CABLE_* variables configure the server and flags win over them', async () => {
    const run = runInProcess(['dev', '--port=0'], {
      CABLE_PORT: 'not-a-port',
      CABLE_SECRET: 'env-secret',
      CABLE_PUBLIC: 'true',
      CABLE_ALLOWED_ORIGINS: 'http://localhost:3000',
      CABLE_LOG_LEVEL: 'silent',
    });
    const server = await run.server;
    expect(run.text()).toMatch(/public streams ON \(--public\)/);
    expect(run.text()).toMatch(/Origins: +http:\/\/localhost:3000/);
    const client = await connectClient(server.url, undefined, { origin: 'http://localhost:3000' });
    await client.welcome();
    expect(await confirms(client, { channel: '$pubsub', stream_name: 'lobby' })).toBe('confirm_subscription');
    run.stop('SIGINT');
    expect(await run.exitCode).toBe(0);
  });

  test('secret: without one, a session secret is generated, printed, and used', async () => {
    const run = runInProcess(['dev', '--port=0', '--log_level=silent']);
    const server = await run.server;
    const warning = run.err.join('\n');
    expect(warning).toMatch(/no --secret \(CABLE_SECRET\) given/);
    // The README's recipe: config.turbo.* in config/environments/, which turbo-rails copies after
    // every initializer has run (so an initializer's Turbo.signed_stream_verifier_key is overwritten).
    expect(warning).toMatch(/in config\/environments\/development\.rb/);
    expect(warning).not.toMatch(/config\/initializers\/turbo\.rb/);
    expect(warning).toMatch(/^ {2}config\.turbo\.signed_stream_verifier_key = "[0-9a-f]{64}"$/m);
    const secret = /config\.turbo\.signed_stream_verifier_key = "([0-9a-f]{64})"/.exec(warning)![1];
    const client = await connectClient(server.url);
    await client.welcome();
    expect(await confirms(client, { channel: 'Turbo::StreamsChannel', signed_stream_name: signStream('a', secret) })).toBe('confirm_subscription');
    run.stop('SIGINT');
    expect(await run.exitCode).toBe(0);
  });

  test.each<{ name: string; argv: string[]; env?: NodeJS.ProcessEnv; banner: RegExp; key?: string; status: number }>([
    {
      name: 'broadcast: the key is derived from --secret as anycable-rails derives it',
      argv: ['--secret=s3Krit'],
      banner: /Broadcast: +POST http:\/\/127\.0\.0\.1:\d+\/_broadcast, Authorization: Bearer <key derived from the secret>/,
      key: 'a239a7ca182c90fc32bdedf73703d271388cf433843affffd3a5e757041fc716',
      status: 201,
    },
    {
      name: 'broadcast: --broadcast_key wins, and the banner names where it came from',
      argv: ['--secret=s3Krit', '--broadcast_key=explicit'],
      banner: /Bearer <key from --broadcast_key>/,
      key: 'explicit',
      status: 201,
    },
    {
      name: 'broadcast: CABLE_BROADCAST_KEY sets it too',
      argv: ['--secret=s3Krit'],
      env: { CABLE_BROADCAST_KEY: 'from-env' },
      banner: /Bearer <key from CABLE_BROADCAST_KEY>/,
      key: 'from-env',
      status: 201,
    },
    {
      name: 'broadcast: --public lets broadcasts in without a key, as anycable-go\'s public mode',
      argv: ['--secret=s3Krit', '--public'],
      banner: /_broadcast, no key needed \(--public\)/,
      status: 201,
    },
    {
      name: 'broadcast: a wrong key is 401',
      argv: ['--secret=s3Krit'],
      banner: /_broadcast/,
      key: 'wrong',
      status: 401,
    },
  ])('$name', async ({ argv, env, banner, key, status }) => {
    const run = runInProcess(['dev', '--port=0', '--log_level=silent', ...argv], env);
    const server = await run.server;
    expect(run.text()).toMatch(banner);
    const response = await fetch(`${server.httpUrl}/_broadcast`, {
      method: 'POST',
      headers: key === undefined ? {} : { Authorization: `Bearer ${key}` },
      body: JSON.stringify({ stream: 'lobby', data: '"hi"' }),
    });
    expect(response.status).toBe(status);
    run.stop('SIGTERM');
    expect(await run.exitCode).toBe(0);
  });

  test('broadcast: without a secret, the key derives from the session secret', async () => {
    const run = runInProcess(['dev', '--port=0', '--log_level=silent']);
    const server = await run.server;
    expect(run.text()).toMatch(/Bearer <key derived from the session secret below>/);
    const secret = /config\.turbo\.signed_stream_verifier_key = "([0-9a-f]{64})"/.exec(run.err.join('\n'))![1];
    const response = await fetch(`${server.httpUrl}/_broadcast`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${deriveKey(secret, 'broadcast-cable')}` },
      body: JSON.stringify({ stream: 'lobby', data: '"hi"' }),
    });
    expect(response.status).toBe(201);
    run.stop('SIGTERM');
    expect(await run.exitCode).toBe(0);
  });

  test('banner: says whether app channels (RPC) and JWT identification are on', async () => {
    const off = runInProcess(['dev', '--port=0', '--log_level=silent', '--secret=s3Krit']);
    await off.server;
    expect(off.text()).toMatch(/App channels: +off \(no --rpc_host\)/);
    expect(off.text()).toMatch(/JWT: +on \(\?jid=, X-JID, anycable-token\.<token>\)/);
    off.stop('SIGTERM');
    expect(await off.exitCode).toBe(0);

    const on = runInProcess(['dev', '--port=0', '--log_level=silent', '--secret=s3Krit', '--rpc_host=http://127.0.0.1:9/_anycable', '--enforce_jwt']);
    await on.server;
    expect(on.text()).toMatch(/App channels: +AnyCable RPC at http:\/\/127\.0\.0\.1:9\/_anycable, Authorization: Bearer <key>/);
    expect(on.text()).toMatch(/JWT: +on .*, required/);
    on.stop('SIGTERM');
    expect(await on.exitCode).toBe(0);
  });

  test('banner: names the per-connection limits the flags set', async () => {
    const run = runInProcess(['dev', '--port=0', '--log_level=silent', '--max_subscriptions_per_connection=7', '--max_invalid_frames=3']);
    await run.server;
    expect(run.text()).toMatch(/Limits: +.*, 7 subscriptions per connection, closed after 3 invalid frames/);
    run.stop('SIGTERM');
    expect(await run.exitCode).toBe(0);
  });

  test('banner: --history_limit, --history_ttl and --sessions_ttl reach the config (0 turns history off, and sessions)', async () => {
    const run = runInProcess(['dev', '--port=0', '--log_level=silent', '--history_limit=7', '--history_ttl=60', '--sessions_ttl=90']);
    await run.server;
    expect(run.text()).toMatch(/History: +7 messages per stream for 60 s, for actioncable-v1-ext-json clients/);
    expect(run.text()).toMatch(/Sessions: +a dropped actioncable-v1-ext-json client restores its session with \?sid= for 90 s/);
    run.stop('SIGTERM');
    expect(await run.exitCode).toBe(0);
    const off = runInProcess(['dev', '--port=0', '--log_level=silent', '--history_limit=0', '--sessions_ttl=0']);
    await off.server;
    expect(off.text()).toMatch(/History: +off \(--history_limit=0\)/);
    expect(off.text()).toMatch(/Sessions: +not kept \(--sessions_ttl=0\)/);
    off.stop('SIGTERM');
    expect(await off.exitCode).toBe(0);
  });

  test('--help: prints every option with its environment variable and exits 0', async () => {
    const run = runInProcess(['dev', '--help']);
    expect(await run.exitCode).toBe(0);
    for (const option of CLI_OPTIONS) {
      expect(run.text()).toContain(`--${option.name}`);
      expect(run.text()).toContain(envName(option.name));
    }
  });

  test.each([
    [['dev', '--bogus'], {}, /unknown option --bogus/],
    [['dev', '--port=abc'], {}, /--port must be an integer/],
    [['dev', '--port'], {}, /--port needs a value/],
    [['dev', '--log_level=debug'], {}, /--log_level must be one of/],
    [['dev', '--allowed_origins=example.com'], {}, /--allowed_origins takes full origins/],
    [['dev', '--public_streams=maybe'], {}, /--public_streams must be true or false/],
    [['dev', '--path=cable'], {}, /--path must be/],
    [['dev', '--idle_timeout=0'], {}, /--idle_timeout must be an integer/],
    [['dev', '--dynamodb_endpoint=http://localhost:8000'], {}, /--dynamodb_endpoint needs --connections_table/],
    [['dev', '--rpc_host=localhost:50051'], {}, /--rpc_host must be an http:\/\/ or https:\/\/ URL .*not gRPC/],
    [['dev', '--rpc_host=http://localhost:3000/_anycable', '--rpc_request_timeout=0'], {}, /--rpc_request_timeout must be an integer from 1/],
    [['dev'], { CABLE_ENFORCE_JWT: 'sure' }, /CABLE_ENFORCE_JWT must be true or false/],
    [['dev'], { CABLE_PORT: '99999' }, /CABLE_PORT must be an integer/],
    [['dev'], { CABLE_PUBLIC: 'yes' }, /CABLE_PUBLIC must be true or false/],
    [[], {}, /missing command/],
    [['serve'], {}, /unknown command "serve"/],
  ])('usage: %j %j exits 2 naming the problem', async (argv, env, message) => {
    const run = runInProcess(argv, env);
    expect(await run.exitCode).toBe(2);
    expect(run.err[0]).toMatch(message);
    expect(run.out).toEqual([]);
  });

  test('port: a port in use exits 1 with a message', async () => {
    const busy = await startTestServer();
    const port = new URL(busy.httpUrl).port;
    const run = runInProcess(['dev', `--port=${port}`, '--secret=s', '--log_level=silent']);
    expect(await run.exitCode).toBe(1);
    expect(run.err[0]).toMatch(/already in use/);
  });
});

describe('parseCli', () => {
  test('rpc_host: anycable-go\'s RPC and JWT options reach the server options and settings', () => {
    const command = parseCli([
      'dev', '--rpc_host=http://localhost:3000/_anycable', '--rpc_request_timeout=1500', '--http_rpc_secret=k',
      '--headers=cookie,x-api-token', '--proxy-cookies=_session', '--jwt_param=token', '--enforce_jwt',
    ], { CABLE_JWT_SECRET: 'jwt-key' });
    if (command.kind !== 'dev') throw new Error('expected dev');
    expect(command.options.rpc).toEqual({ url: 'http://localhost:3000/_anycable', timeoutMs: 1500 });
    expect(command.options.settings).toMatchObject({
      httpRpcSecret: 'k', rpcHeaders: ['cookie', 'x-api-token'], rpcCookies: ['_session'], jwtSecret: 'jwt-key', jwtParam: 'token', enforceJwt: true,
    });
    expect(envName('proxy-cookies')).toBe('CABLE_PROXY_COOKIES');
  });

  test('rpc_host: without it there is no RPC', () => {
    const command = parseCli(['dev'], {});
    if (command.kind !== 'dev') throw new Error('expected dev');
    expect(command.options.rpc).toBeUndefined();
  });

  test('turbo_streams: on by default; --turbo_streams=false and --no-turbo_streams turn it off', () => {
    const turbo = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
      const command = parseCli(['dev', ...argv], env);
      return command.kind === 'dev' ? command.options.settings?.turboStreams : undefined;
    };
    expect(turbo([])).toBe(true);
    expect(turbo(['--turbo_streams=false'])).toBe(false);
    expect(turbo(['--no-turbo_streams'])).toBe(false);
    expect(turbo([], { CABLE_TURBO_STREAMS: 'false' })).toBe(false);
    expect(turbo(['--turbo_streams'], { CABLE_TURBO_STREAMS: 'false' })).toBe(true);
  });

  test('store: --dynamodb_endpoint with both tables selects DynamoDB; seconds become milliseconds', () => {
    const command = parseCli(['dev', '--idle_timeout=30', '--max_connection=60'], {
      CABLE_DYNAMODB_ENDPOINT: 'http://localhost:8000',
      CABLE_CONNECTIONS_TABLE: 'c',
      CABLE_SUBSCRIPTIONS_TABLE: 's',
    });
    expect(command).toMatchObject({
      kind: 'dev',
      options: { idleTimeoutMs: 30_000, maxConnectionMs: 60_000, store: { kind: 'dynamodb', endpoint: 'http://localhost:8000', connectionsTable: 'c', subscriptionsTable: 's' } },
    });
  });
});

describe('cdk-cable dev (the bundled file)', () => {
  let cli: string;
  let child: ChildProcess | undefined;

  beforeAll(() => {
    cli = bundleCli();
  });

  afterEach(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  test('bundle: starts under plain node, serves a client, and exits 0 on SIGTERM', async () => {
    child = spawn(process.execPath, [cli, 'dev', '--port=0', '--secret=s', '--log_level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      let output = '';
      child!.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /WebSocket: +(ws:\/\/\S+)/.exec(output);
        if (match) resolve(match[1]);
      });
      void exited.then((code) => reject(new Error(`exited with ${code} before listening: ${output}`)));
    });
    const client = await connectClient(url);
    await client.welcome();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await client.closed).toEqual({ code: 1001, reason: 'Going away' });
  });

  test('bundle: an unknown option exits 2', () => {
    const result = spawnSync(process.execPath, [cli, 'dev', '--bogus'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/unknown option --bogus/);
  });
});

/**
 * Bundles lambda/local/cli.ts with the very esbuild arguments of the projen task that builds
 * assets/lambda/local/cli/cdk-cable.mjs, into a temporary file: the test runs what ships, from
 * the current sources.
 */
function bundleCli(): string {
  const tasks = JSON.parse(readFileSync(join(ROOT, '.projen', 'tasks.json'), 'utf8')) as {
    tasks: Record<string, { steps: { execArgs?: string[] }[] }>;
  };
  const args = tasks.tasks['bundle:lambda/local/cli'].steps[0].execArgs;
  if (!args || args[0] !== 'esbuild') throw new Error('the bundle:lambda/local/cli task no longer runs esbuild first');
  const outfile = join(mkdtempSync(join(tmpdir(), 'cdk-cable-cli-')), 'cdk-cable.mjs');
  const esbuildArgs = args.slice(1).map((arg) => (arg.startsWith('--outfile=') ? `--outfile=${outfile}` : arg));
  const result = spawnSync(join(ROOT, 'node_modules', '.bin', 'esbuild'), [...esbuildArgs, '--log-level=error'], { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`esbuild failed: ${result.stderr}`);
  return outfile;
}
