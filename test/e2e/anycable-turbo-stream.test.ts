import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { Page } from 'puppeteer-core';
import { HeadlessChromium, launchChromium } from './support/chromium';
import { codeBlock } from './support/rails-guide-pages';
import { signStream } from '../../lambda/core/signed-stream';
import { InspectableLocalCableServer } from '../../lambda/local/local-cable-server';
import { closeServers, SECRET, startTestServer } from '../support/local-server';

/**
 * AnyCable's Turbo client, `@anycable/turbo-stream` 0.8 on an `@anycable/web` cable speaking
 * `actioncable-v1-ext-json`, in headless Chromium against the local server: what a Rails app gets
 * from `start(cable)` and `<turbo-cable-stream-source>` (docs/reliable-streams.md). Each scenario
 * asserts what the page's DOM shows. Functions run in the page are given as strings: jest's
 * coverage instruments functions, and an instrumented function cannot run in the browser.
 */

const ROOT = join(__dirname, '..', '..');
const BROADCAST_KEY = 'turbo-stream-key';
const STREAM = 'rooms:1';
/** waitForFunction polls on animation frames by default, which hidden tabs do not get. */
const POLL_MS = 50;
/** Reconnects the zero-loss scenario waits for, and the broadcasts it sends after the last one. */
const RECONNECTS = 2;
const TAIL = 10;

/**
 * The app's JavaScript, docs/reliable-streams.md's block (turbo-stream's README's setup: Turbo for
 * `<turbo-stream>` actions, a cable from the `action-cable-url` meta tag asking for the extended
 * protocol, turbo-stream's elements with the `X-Socket-ID` header on Turbo's requests), bundled as
 * jsbundling-rails would. The cable is left on `window` for the test to read.
 */
const APPLICATION_JS = `${codeBlock('docs/reliable-streams.md', '// app/javascript/application.js (@anycable/turbo-stream 0.8.1)')}
window.cable = cable;
`;

let chromium: HeadlessChromium;
let applicationJs: string;
const pages: Page[] = [];
const pageErrors: string[] = [];
const apps: Server[] = [];

beforeAll(async () => {
  applicationJs = buildSync({
    stdin: { contents: APPLICATION_JS, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    format: 'esm',
    write: false,
    logLevel: 'error',
  }).outputFiles[0].text;
  chromium = await launchChromium();
});

afterEach(async () => {
  await Promise.all(pages.splice(0).map((page) => page.close()));
  await Promise.all(apps.splice(0).map((app) => {
    // Chromium keeps its connections alive.
    app.closeAllConnections();
    return new Promise((resolve) => app.close(resolve));
  }));
  await closeServers();
  expect(pageErrors.splice(0)).toEqual([]);
});

afterAll(async () => {
  await chromium?.close();
});

/** The Rails app's side: the page `turbo_stream_from` renders, its JavaScript, and a frame whose requests it records. */
interface App {
  readonly url: string;
  /** The `X-Socket-ID` header of each `/probe` request (undefined when absent). */
  readonly socketIds: (string | undefined)[];
}

async function serveApp(cable: InspectableLocalCableServer): Promise<App> {
  const html = `<!DOCTYPE html>
<html><head>
<meta name="action-cable-url" content="${cable.url}">
<script type="module" src="/assets/application.js"></script>
</head><body>
<turbo-cable-stream-source channel="Turbo::StreamsChannel" signed-stream-name="${signStream(STREAM, SECRET)}"></turbo-cable-stream-source>
<div id="messages"></div>
</body></html>`;
  const socketIds: (string | undefined)[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    if (request.url === '/') return response.writeHead(200, { 'Content-Type': 'text/html' }).end(html);
    if (request.url === '/assets/application.js') return response.writeHead(200, { 'Content-Type': 'text/javascript' }).end(applicationJs);
    if (request.url === '/probe') {
      const header = request.headers['x-socket-id'];
      socketIds.push(Array.isArray(header) ? header.join(',') : header);
      return response.writeHead(200, { 'Content-Type': 'text/html' }).end('<turbo-frame id="probe"><p>probed</p></turbo-frame>');
    }
    return response.writeHead(404).end();
  });
  apps.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, socketIds };
}

/** A page of the app, once its stream source is subscribed. */
async function openPage(app: App): Promise<Page> {
  const page = await chromium.browser.newPage();
  pages.push(page);
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  await page.goto(`${app.url}/`);
  try {
    await page.waitForSelector('turbo-cable-stream-source[connected]', { timeout: 15_000 });
  } catch (error) {
    const state = await page.evaluate('JSON.stringify({ cable: window.cable?.state })');
    throw new Error(`the stream source never connected (${state}; page errors ${JSON.stringify(pageErrors)}): ${String(error)}`);
  }
  return page;
}

/** What the page shows: the text of each appended message, in order. */
async function messages(page: Page): Promise<string[]> {
  return page.evaluate('[...document.querySelectorAll("#messages .message")].map((p) => p.textContent)') as Promise<string[]>;
}

async function waitForMessages(page: Page, count: number, timeout = 5_000): Promise<void> {
  await page.waitForFunction(`document.querySelectorAll("#messages .message").length >= ${count}`, { polling: POLL_MS, timeout });
}

/** `turbo_stream.append "messages"` of one message, broadcast as anycable-rails does, `meta` (exclude_socket) as given. */
async function broadcast(cable: InspectableLocalCableServer, text: string, meta?: Record<string, unknown>): Promise<void> {
  const html = `<turbo-stream action="append" target="messages"><template><p class="message">${text}</p></template></turbo-stream>`;
  const response = await fetch(cable.broadcastUrl, {
    method: 'POST',
    headers: { 'Authorization': `Bearer ${BROADCAST_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ stream: STREAM, data: JSON.stringify(html), ...(meta ? { meta } : {}) }),
  });
  expect(response.status).toBe(201);
}

function startCable(options: { maxConnectionMs?: number } = {}): Promise<InspectableLocalCableServer> {
  return startTestServer({ ...options, settings: { secret: SECRET, broadcastKey: BROADCAST_KEY } });
}

describe('@anycable/turbo-stream 0.8 in Chromium (actioncable-v1-ext-json)', () => {
  test('a broadcast appends to the page, over the extended protocol', async () => {
    const cable = await startCable();
    const page = await openPage(await serveApp(cable));

    await broadcast(cable, 'hello');
    await waitForMessages(page, 1);

    expect(await messages(page)).toEqual(['hello']);
    expect(await page.evaluate('window.cable.transport.ws.protocol')).toBe('actioncable-v1-ext-json');
    // The welcome carried a session id (only the extended protocol's welcome has one).
    expect(await page.evaluate('typeof window.cable.sessionId === "string" && window.cable.sessionId.length > 0')).toBe(true);
  }, 30_000);

  test('cuts: every broadcast is shown exactly once, in order, across forced reconnects', async () => {
    // The memory store; the server cuts every connection after 2 s, as API Gateway does after 2 hours.
    const cable = await startCable({ maxConnectionMs: 2_000 });
    const page = await openPage(await serveApp(cable));
    // Counts reconnects, and for the report the time from each disconnect to the next message shown.
    await page.evaluate(`(() => {
      window.reconnects = 0;
      window.recoveries = [];
      let cutAt;
      window.cable.on('connect', () => { window.reconnects += 1; });
      window.cable.on('disconnect', () => { cutAt = Date.now(); });
      new MutationObserver(() => {
        if (cutAt !== undefined) window.recoveries.push(Date.now() - cutAt);
        cutAt = undefined;
      }).observe(document.getElementById('messages'), { childList: true });
    })()`);

    const sent: string[] = [];
    let tail = 0;
    // Until the page has reconnected RECONNECTS times, then TAIL more; at most 300 (about 40 s).
    for (let n = 0; n < 300 && tail < TAIL; n++) {
      await broadcast(cable, String(n));
      sent.push(String(n));
      if ((await page.evaluate('window.reconnects')) as number >= RECONNECTS) tail++;
      await new Promise((resolve) => setTimeout(resolve, 125));
    }
    await waitForMessages(page, sent.length, 15_000).catch(() => undefined);
    // Room for a late duplicate to show.
    await new Promise((resolve) => setTimeout(resolve, 300));

    expect(await page.evaluate('window.reconnects')).toBeGreaterThanOrEqual(RECONNECTS);
    expect(await messages(page)).toEqual(sent);
    // Figures for the report (not asserted: timing belongs to bench/).
    const recoveries = await page.evaluate('JSON.stringify(window.recoveries)');
    process.stdout.write(`turbo-stream cuts: ${sent.length} broadcasts, ${String(await page.evaluate('window.reconnects'))} reconnects, disconnect to message shown ms ${String(recoveries)}\n`);
  }, 75_000);

  test('broadcast to others: exclude_socket with the X-Socket-ID turbo-stream sent leaves out that page only', async () => {
    const cable = await startCable();
    const app = await serveApp(cable);
    const pageA = await openPage(app);
    const pageB = await openPage(app);

    // A Turbo request from page A, as a form or frame in a Rails app makes: turbo-stream adds the header.
    await pageA.evaluate('document.body.insertAdjacentHTML("beforeend", \'<turbo-frame id="probe" src="/probe"></turbo-frame>\')');
    await pageA.waitForFunction('document.querySelector("#probe p")?.textContent === "probed"', { polling: POLL_MS, timeout: 5_000 });
    const [socketId] = app.socketIds;
    expect(app.socketIds).toEqual([expect.stringMatching(/./)]);
    expect(await pageA.evaluate('window.cable.sessionId')).toBe(socketId);

    // What `broadcast_append_later_to ..., exclude_socket: request.headers["X-Socket-ID"]` sends.
    await broadcast(cable, 'to others', { exclude_socket: socketId });
    await broadcast(cable, 'to all');
    await waitForMessages(pageB, 2);
    await waitForMessages(pageA, 1);

    // Per stream, in order: had A been sent the first, it would be there before the second.
    expect(await messages(pageB)).toEqual(['to others', 'to all']);
    expect(await messages(pageA)).toEqual(['to all']);
  }, 30_000);
});
