import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { bundleWithTask } from './support/bundle-task';
import { CheckReport, CheckStep, runCheck } from '../../lambda/check/check-scenario';
import { deriveKey } from '../../lambda/core/config';
import { CHECK_OPTIONS } from '../../lambda/local/check-options';
import { CliIo, runCli } from '../../lambda/local/cli-main';
import { RailsApp, startRailsApp } from '../conformance/support/rails-app';
import { describeWithRuby } from '../conformance/support/ruby';
import { closeServers, SECRET, startTestServer } from '../support/local-server';

/** A local server pinging every second, so a check that asks for `?pi=1` sees two pings quickly. */
async function fastPingServer(secret = SECRET) {
  const server = await startTestServer({ settings: { secret, ping: { intervalSeconds: 1, minClientIntervalSeconds: 1 } } });
  return { server, url: `${server.url}?pi=1` };
}

const statuses = (report: CheckReport) => Object.fromEntries(report.steps.map((s) => [s.name, s.status]));
const step = (report: CheckReport, name: CheckStep['name']) => report.steps.find((s) => s.name === name)!;

/** `runCli` in-process, its output captured; the check needs no stop signal. */
async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (line) => out.push(line), err: (line) => err.push(line), waitForStop: () => new Promise(() => undefined) };
  const code = await runCli(argv, {}, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

afterEach(closeServers);

describe('check: against the local server', () => {
  test('scenario: every step holds, the broadcast through /_broadcast with the key derived from the secret', async () => {
    const { server, url } = await fastPingServer();
    const report = await runCheck(url, { turboStreamsSecret: SECRET, broadcastUrl: server.broadcastUrl, broadcastKey: deriveKey(SECRET, 'broadcast-cable') });
    expect(statuses(report)).toEqual({
      handshake: 'pass', welcome: 'pass', ping: 'pass', subscribe: 'pass', forged: 'pass', broadcast: 'pass', broadcast_key: 'pass', close: 'pass',
    });
    expect(report.ok).toBe(true);
    expect(report.pingIntervalMs).toEqual(expect.any(Number));
    expect(report.broadcastLatencyMs).toEqual(expect.any(Number));
    expect(step(report, 'broadcast_key').got).toMatch(/^401/);
  });

  test('scenario: without --broadcast_url the broadcast steps are skipped, not failed', async () => {
    const { url } = await fastPingServer();
    const report = await runCheck(url, { turboStreamsSecret: SECRET });
    expect(statuses(report)).toMatchObject({ subscribe: 'pass', broadcast: 'skip', broadcast_key: 'skip', close: 'pass' });
    expect(report.ok).toBe(true);
  });

  test('secret: a server with another secret fails at the subscription, with the hint; exit 1', async () => {
    const { server, url } = await fastPingServer('another-secret');
    const run = await cli(['check', url, `--secret=${SECRET}`, `--broadcast_url=${server.broadcastUrl}`]);
    expect(run.code).toBe(1);
    expect(run.out).toMatch(/^✓ handshake/m);
    expect(run.out).toMatch(/^✗ subscribe .*got reject_subscription/m);
    expect(run.out).toMatch(/signed stream rejected: is Turbo\.signed_stream_verifier_key the cable secret\?/);
    expect(run.out).toMatch(/^✓ forged/m);
    expect(run.out).toMatch(/^FAILED: /m);
  });

  test('broadcast_key: a wrong --broadcast_key fails the broadcast with 401 and says where the key comes from', async () => {
    const { server, url } = await fastPingServer();
    const report = await runCheck(url, { turboStreamsSecret: SECRET, broadcastUrl: server.broadcastUrl, broadcastKey: 'not-the-key' });
    expect(step(report, 'broadcast')).toMatchObject({ status: 'fail', got: expect.stringMatching(/^401/), hint: expect.stringMatching(/broadcast key refused/) });
    expect(report.ok).toBe(false);
  });

  test('--json: the same report as one JSON document', async () => {
    const { url } = await fastPingServer();
    const run = await cli(['check', url, `--secret=${SECRET}`, '--json']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.out) as CheckReport;
    expect(report).toMatchObject({ url, ok: true });
    expect(report.steps.map((s) => s.name)).toEqual(['handshake', 'welcome', 'ping', 'subscribe', 'forged', 'broadcast', 'broadcast_key', 'close']);
  });
});

describe('check: a WebSocket server that does not echo the subprotocol', () => {
  let wss: WebSocketServer;
  afterEach(() => new Promise<void>((resolve) => wss.close(() => resolve())));

  test('handshake: fails at step 1 naming actioncable-v1-json, the rest is not run; exit 1', async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => false });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/cable`;
    const run = await cli(['check', url, '--secret=s', '--json']);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.out) as CheckReport;
    expect(step(report, 'handshake')).toMatchObject({ status: 'fail', got: '101 without Sec-WebSocket-Protocol', hint: expect.stringMatching(/did not echo the actioncable-v1-json subprotocol/) });
    expect(report.steps.slice(1).every((s) => s.status === 'skip')).toBe(true);
  });
});

describeWithRuby('check: against Rails ActionCable (test/conformance/rails on puma)', () => {
  const TURBO_SECRET = 'rails-check-secret';
  let rails: RailsApp;
  beforeAll(async () => {
    rails = await startRailsApp({ turboStreamsSecret: TURBO_SECRET, allowedOrigin: 'https://allowed.example' });
  });
  afterAll(() => rails?.close());

  test('scenario: the protocol steps pass against Rails itself; without a broadcast URL those steps are skipped', async () => {
    const report = await runCheck(rails.url, { turboStreamsSecret: TURBO_SECRET });
    expect(statuses(report)).toEqual({
      handshake: 'pass', welcome: 'pass', ping: 'pass', subscribe: 'pass', forged: 'pass', broadcast: 'skip', broadcast_key: 'skip', close: 'pass',
    });
  });

  test('origin: a refused Origin fails the handshake with 404 from Rails and names --origin', async () => {
    const report = await runCheck(rails.restrictedUrl, { turboStreamsSecret: TURBO_SECRET, origin: 'https://other.example' });
    expect(step(report, 'handshake')).toMatchObject({ status: 'fail', got: expect.stringMatching(/^HTTP 404/), hint: expect.stringMatching(/--origin https:\/\/other\.example/) });
  });
});

describe('check: usage', () => {
  test.each([
    [['check'], /missing the cable URL/],
    [['check', 'http://example.com/cable'], /must be ws:\/\/ or wss:\/\//],
    [['check', 'ws://a/cable', 'ws://b/cable'], /unexpected argument "ws:\/\/b\/cable"/],
    [['check', 'ws://a/cable', '--secret=s', '--secret_arn=arn:aws:secretsmanager:us-east-1:1:secret:x'], /--secret and --secret_arn are alternatives/],
    [['check', 'ws://a/cable', '--broadcast_url=ftp://x'], /--broadcast_url must be an http:\/\/ or https:\/\/ URL/],
    [['check', 'ws://a/cable', '--timeout=0'], /--timeout must be an integer from 1 to 600/],
    [['check', 'ws://a/cable', '--origin=example.com'], /--origin takes a full origin/],
    [['check', 'ws://a/cable', '--port=1'], /unknown option --port/],
    [['check', 'ws://a/cable', '--secret'], /--secret needs a value/],
  ])('usage: %j exits 2 naming the problem', async (argv, message) => {
    const run = await cli(argv);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(message);
    expect(run.err).toMatch(/Run "cdk-cable check --help"/);
    expect(run.out).toBe('');
  });

  test('--help: documents every option and the steps, and exits 0', async () => {
    const run = await cli(['check', '--help']);
    expect(run.code).toBe(0);
    for (const option of CHECK_OPTIONS) expect(run.out).toContain(`--${option.name}`);
    expect(run.out).toMatch(/actioncable-v1-json/);
    expect(run.out).toMatch(/Exit codes: 0 .* 1 .* 2 bad usage/);
  });
});

describe('check: the bundled CLI', () => {
  let cliFile: string;
  let secretsManager: Server | undefined;
  beforeAll(() => {
    cliFile = join(mkdtempSync(join(tmpdir(), 'cdk-cable-check-')), 'cdk-cable.mjs');
    bundleWithTask('bundle:lambda/local/cli', cliFile);
  });
  afterEach(() => new Promise<void>((resolve) => (secretsManager ? secretsManager.close(() => resolve()) : resolve())));

  test('--secret_arn: the secret is read from Secrets Manager with the SDK\'s default credentials; every step holds, exit 0', async () => {
    const { server, url } = await fastPingServer();
    const requests: { target?: string; body: string }[] = [];
    secretsManager = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      request.on('end', () => {
        requests.push({ target: request.headers['x-amz-target'] as string | undefined, body });
        response.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify({ ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cable-AbCdEf', Name: 'cable', SecretString: SECRET }));
      });
    });
    await new Promise<void>((resolve) => secretsManager!.listen(0, '127.0.0.1', () => resolve()));
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cable-AbCdEf';

    const child = spawn(process.execPath, [cliFile, 'check', url, `--secret_arn=${arn}`, `--broadcast_url=${server.broadcastUrl}`], {
      env: {
        PATH: process.env.PATH,
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'secret',
        AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(secretsManager.address() as AddressInfo).port}`,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    expect({ code, output }).toMatchObject({ code: 0 });
    expect(output).toMatch(/^✓ subscribe/m);
    expect(output).toMatch(/^✓ broadcast /m);
    expect(output).toMatch(/^ok: 8 passed, 0 failed, 0 skipped/m);
    expect(requests).toEqual([{ target: 'secretsmanager.GetSecretValue', body: JSON.stringify({ SecretId: arn }) }]);
  });
});
