import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleLogger } from '../../lambda/adapters/console-logger';
import { deriveKey, resolveConfig } from '../../lambda/core/config';
import { signStream, verifySignedStream } from '../../lambda/core/signed-stream';
import { CliIo, runCli } from '../../lambda/local/cli-main';
import { DEMO_STREAM } from '../../lambda/local/demo/demo-html';
import { DEMO_BUILD_COMMAND, withDemoPage } from '../../lambda/local/demo/demo-routes';
import { LocalCableServer } from '../../lambda/local/local-cable-server';
import { closeServers, connectClient, SECRET, startTestServer, subscribeCommand, TestClient } from '../support/local-server';
import { bundleWithTask } from './support/bundle-task';

afterEach(closeServers);

const TURBO = 'Turbo::StreamsChannel';

/** A Turbo client subscribed (and confirmed) to the demo stream, as the page's stream source is. */
async function demoSubscriber(server: LocalCableServer, key = SECRET): Promise<TestClient> {
  const client = await connectClient(server.url);
  await client.welcome();
  client.send(subscribeCommand({ channel: TURBO, signed_stream_name: signStream(DEMO_STREAM, key) }));
  await client.next((frame) => (frame as { type?: string }).type === 'confirm_subscription');
  return client;
}

/** The `message` of every broadcast frame the client has received. */
function broadcasts(client: TestClient): unknown[] {
  return client.messages.filter((m) => (m as { message?: unknown }).message !== undefined).map((m) => (m as { message: unknown }).message);
}

function postText(server: LocalCableServer, text: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.httpUrl}/demo/messages`, { method: 'POST', body: JSON.stringify({ text }), headers: { 'Content-Type': 'application/json', ...headers } });
}

describe('demo page (HTTP)', () => {
  test('demo: GET / serves a page subscribed to the demo stream signed with the Turbo key, the cable at the same origin, no key in it', async () => {
    const server = await startTestServer({ demo: true });
    const response = await fetch(`${server.httpUrl}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await response.text();

    expect(html).toContain('<meta name="action-cable-url" content="/cable">');
    expect(html).toContain('<script type="module" src="/demo-page.js"></script>');
    expect(html).toContain('<div id="messages"></div>');
    expect(html).toMatch(/<form id="message-form" action="\/demo\/messages" method="post">/);
    const signed = /<turbo-cable-stream-source channel="Turbo::StreamsChannel" signed-stream-name="([^"]+)">/.exec(html)?.[1];
    expect(signed && verifySignedStream(signed, SECRET)).toBe(DEMO_STREAM);
    expect(html).not.toContain(SECRET);
    expect(html).not.toContain(deriveKey(SECRET, 'broadcast-cable'));
    expect(html).not.toMatch(/class="notice"/);
  });

  test('POST /demo/messages: broadcasts the Turbo Stream broadcast_append_to would, the text escaped, and answers 204', async () => {
    const server = await startTestServer({ demo: true });
    const client = await demoSubscriber(server);

    const response = await postText(server, '  <script>alert("x")</script> & \'q\'  ', { Origin: server.httpUrl });
    expect(response.status).toBe(204);
    const frame = await client.next((f) => (f as { message?: unknown }).message !== undefined) as { identifier: string; message: string };
    expect(JSON.parse(frame.identifier)).toEqual({ channel: TURBO, signed_stream_name: signStream(DEMO_STREAM, SECRET) });
    expect(frame.message).toMatch(new RegExp(
      '^<turbo-stream action="append" target="messages"><template><p class="message">'
      + '<time datetime="\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z">\\d\\d:\\d\\d:\\d\\d</time> '
      + '&lt;script&gt;alert\\(&quot;x&quot;\\)&lt;/script&gt; &amp; &#39;q&#39;'
      + '</p></template></turbo-stream>$',
    ));
  });

  test('POST /demo/messages: an empty or too long text is 400, another origin 403, and none is broadcast', async () => {
    const server = await startTestServer({ demo: true });
    const client = await demoSubscriber(server);

    const empty = await postText(server, '   ');
    expect(empty.status).toBe(400);
    expect(await empty.json()).toEqual({ message: 'text is empty' });
    const long = await postText(server, 'x'.repeat(1_001));
    expect(long.status).toBe(400);
    expect(await long.json()).toEqual({ message: 'text is over 1000 characters' });
    const forged = await postText(server, 'from elsewhere', { Origin: 'http://evil.example' });
    expect(forged.status).toBe(403);
    expect(await forged.json()).toEqual({ message: 'posts from another origin (http://evil.example) are refused' });

    expect((await postText(server, 'the first to arrive')).status).toBe(204);
    await client.next((f) => (f as { message?: unknown }).message !== undefined);
    expect(broadcasts(client)).toHaveLength(1);
    expect(broadcasts(client)[0]).toMatch(/the first to arrive/);
  });

  test('broadcast key: without one the page says so, and a post answers 502 with the 401 of POST /_broadcast', async () => {
    const server = await startTestServer({ demo: true, settings: { turboStreamsSecret: SECRET } });
    const html = await (await fetch(`${server.httpUrl}/`)).text();
    expect(html).toContain('<p class="notice">No broadcast key (--secret or --broadcast_key): POST /_broadcast refuses the messages.</p>');

    const response = await postText(server, 'hello');
    expect(response.status).toBe(502);
    expect(((await response.json()) as { message: string }).message).toMatch(/^POST \/_broadcast answered 401: /);
  });

  test('allowed_origins: a list without the page\'s own origin is named on the page', async () => {
    const server = await startTestServer({ demo: true, settings: { secret: SECRET, allowedOrigins: ['http://localhost:3000'] } });
    const html = await (await fetch(`${server.httpUrl}/`)).text();
    expect(html).toContain(`This page&#39;s origin, ${server.httpUrl}, is not in --allowed_origins`);
  });

  test('demo: off unless asked for: GET / is the server\'s 404', async () => {
    const server = await startTestServer();
    expect((await fetch(`${server.httpUrl}/`)).status).toBe(404);
    expect((await fetch(`${server.httpUrl}/demo-page.js`)).status).toBe(404);
  });
});

describe('demo page script', () => {
  const servers: Server[] = [];
  afterEach(() => servers.splice(0).forEach((server) => server.close()));

  async function serveDemo(assetsDir: string): Promise<string> {
    const props = {
      config: resolveConfig({ secret: SECRET }),
      cablePath: '/cable',
      broadcastUrl: 'http://127.0.0.1:1/_broadcast',
      publicBroadcasts: false,
      logger: new ConsoleLogger('silent'),
      assetsDir,
    };
    const server = createServer(withDemoPage(props, (_request, response) => response.writeHead(404).end()));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  test('demo-page.js: served from the bundle directory, with its source map', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cdk-cable-demo-'));
    writeFileSync(join(dir, 'demo-page.js'), 'console.log("demo")');
    writeFileSync(join(dir, 'demo-page.js.map'), '{}');
    const url = await serveDemo(dir);
    const script = await fetch(`${url}/demo-page.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toBe('console.log("demo")');
    expect((await fetch(`${url}/demo-page.js.map`)).status).toBe(200);
  });

  test('demo-page.js: 503 naming the build command when the bundle is missing, and the page says so', async () => {
    const url = await serveDemo(mkdtempSync(join(tmpdir(), 'cdk-cable-demo-')));
    const script = await fetch(`${url}/demo-page.js`);
    expect(script.status).toBe(503);
    expect(await script.text()).toContain(`run "${DEMO_BUILD_COMMAND}"`);
    expect(await (await fetch(`${url}/`)).text()).toContain(`The page script is not built: run &quot;${DEMO_BUILD_COMMAND}&quot; and reload.`);
  });
});

describe('cdk-cable dev --demo', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  /** `runCli` in-process: resolves once it listens, with what it printed and a way to stop it. */
  async function banner(argv: string[]): Promise<{ text: string; server: LocalCableServer; stop: () => Promise<number> }> {
    const out: string[] = [];
    let stop!: (reason: string) => void;
    let started!: (server: LocalCableServer) => void;
    const stopped = new Promise<string>((resolve) => (stop = resolve));
    const listening = new Promise<LocalCableServer>((resolve) => (started = resolve));
    const io: CliIo = { out: (line) => out.push(line), err: () => undefined, waitForStop: () => stopped, onStarted: started };
    const exitCode = runCli(['dev', '--port=0', `--secret=${SECRET}`, '--log_level=silent', ...argv], {}, io);
    const server = await listening;
    return { text: out.join('\n'), server, stop: () => (stop('SIGTERM'), exitCode) };
  }

  test('demo: on by default, and the banner prints the page URL; --demo=false turns it off', async () => {
    const on = await banner([]);
    expect(on.text).toContain(`  Demo page:     ${on.server.httpUrl}/`);
    expect((await fetch(`${on.server.httpUrl}/`)).status).toBe(200);
    expect(await on.stop()).toBe(0);

    const off = await banner(['--demo=false']);
    expect(off.text).toContain('  Demo page:     off (--demo=false)');
    expect((await fetch(`${off.server.httpUrl}/`)).status).toBe(404);
    expect(await off.stop()).toBe(0);
  });

  test('bundle: the CLI bundle serves demo-page.js from beside it, also started through a symbolic link as npx does', async () => {
    // The package's layout: assets/lambda/local/{cli/cdk-cable.mjs, demo/demo-page/demo-page.js}, and a bin link.
    const root = mkdtempSync(join(tmpdir(), 'cdk-cable-assets-'));
    bundleWithTask('bundle:lambda/local/cli', join(root, 'cli', 'cdk-cable.mjs'));
    bundleWithTask('bundle:lambda/local/demo/demo-page', join(root, 'demo', 'demo-page', 'demo-page.js'));
    mkdirSync(join(root, 'bin'));
    symlinkSync(join('..', 'cli', 'cdk-cable.mjs'), join(root, 'bin', 'cdk-cable'));

    child = spawn(process.execPath, [join(root, 'bin', 'cdk-cable'), 'dev', '--port=0', `--secret=${SECRET}`, '--log_level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    const page = await new Promise<string>((resolve, reject) => {
      let output = '';
      child!.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /Demo page: +(http:\/\/\S+)/.exec(output);
        if (match) resolve(match[1]);
      });
      void exited.then((code) => reject(new Error(`exited with ${code} before listening: ${output}`)));
    });
    const script = await fetch(new URL('/demo-page.js', page));
    expect(script.status).toBe(200);
    expect(await script.text()).toMatch(/turbo-cable-stream-source/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
