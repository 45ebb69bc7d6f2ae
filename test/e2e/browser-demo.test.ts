import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Page } from 'puppeteer-core';
import { signStream } from '../../lambda/core/signed-stream';
import { DEMO_STREAM } from '../../lambda/local/demo/demo-html';
import { DEMO_BUILD_COMMAND } from '../../lambda/local/demo/demo-routes';
import { InspectableLocalCableServer } from '../../lambda/local/local-cable-server';
import { railsBroadcastKey } from '../core/anycable-rails-request';
import { HeadlessChromium, launchChromium } from './support/chromium';
import { closeServers, eventually, memoryStores, SECRET, startTestServer } from '../support/local-server';

/**
 * The demo page (`cdk-cable dev`'s `GET /`) in headless Chromium, Debian's package driven by
 * puppeteer-core: the stock Turbo and @rails/actioncable of the page's bundle against the local
 * server. Functions run in the page are given as strings: jest's coverage instruments functions,
 * and an instrumented function cannot run in the browser.
 */

const ROOT = join(__dirname, '..', '..');
const SCRIPT = join(ROOT, 'assets', 'lambda', 'local', 'demo', 'demo-page', 'demo-page.js');
const SCREENSHOT = join(ROOT, 'test-reports', 'demo.png');
/** The stock client reconnects once the connection is 6 s stale and was lost over 6 s ago, polling every 6-14 s. */
const RECONNECT_MS = 30_000;
/** waitForFunction polls on animation frames by default, which hidden tabs do not get. */
const POLL_MS = 50;

let chromium: HeadlessChromium;
/** Per test: pages and uncaught page errors. */
let pages: Page[] = [];
let pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(SCRIPT)) throw new Error(`the demo page script is not built (${SCRIPT}): run "${DEMO_BUILD_COMMAND}" (npx projen test builds it first)`);
  chromium = await launchChromium();
});

afterEach(async () => {
  await Promise.all(pages.splice(0).map((page) => page.close()));
  await closeServers();
  expect(pageErrors.splice(0)).toEqual([]);
});

afterAll(async () => {
  await chromium?.close();
});

/** A page on the demo, with the WebSocket frames it receives; resolves once its stream source is subscribed. */
async function openDemo(server: InspectableLocalCableServer): Promise<{ page: Page; frames: string[] }> {
  const page = await chromium.browser.newPage();
  pages.push(page);
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  const frames: string[] = [];
  const cdp = await page.createCDPSession();
  await cdp.send('Network.enable');
  cdp.on('Network.webSocketFrameReceived', (event) => frames.push(event.response.payloadData));
  await page.goto(`${server.httpUrl}/`);
  await page.waitForSelector('turbo-cable-stream-source[connected]');
  return { page, frames };
}

/**
 * Brings the page to the front (a person types in the visible tab; the others are hidden), types
 * into the form and sends it; resolves once the page has cleared the field (the server answered 204).
 */
async function send(page: Page, text: string): Promise<void> {
  await page.bringToFront();
  await page.type('#message-text', text);
  await page.click('button[type=submit]');
  await page.waitForFunction('document.querySelector("#message-text").value === ""', { polling: POLL_MS });
  expect(await page.evaluate('document.querySelector("#form-status").textContent')).toBe('');
}

async function waitForMessage(page: Page, text: string): Promise<void> {
  await page.waitForFunction(`[...document.querySelectorAll("#messages .message")].some((m) => m.textContent.endsWith(${JSON.stringify(text)}))`, { polling: POLL_MS, timeout: 5_000 });
}

/** The text of each appended message, without its time. */
async function messages(page: Page): Promise<string[]> {
  const texts = await page.evaluate('[...document.querySelectorAll("#messages .message")].map((m) => m.textContent)') as string[];
  return texts.map((text) => text.replace(/^\d\d:\d\d:\d\d /, ''));
}

function demoSubscriptions(server: InspectableLocalCableServer): number {
  return memoryStores(server).subscriptions.all().filter((row) => row.stream === DEMO_STREAM).length;
}

describe('demo page in Chromium', () => {
  test('form: a message sent from one page is appended in every open page, as text', async () => {
    const server = await startTestServer({ demo: true });
    const a = await openDemo(server);
    const b = await openDemo(server);
    expect(demoSubscriptions(server)).toBe(2);

    await send(a.page, 'Hello from page A');
    await waitForMessage(b.page, 'Hello from page A');
    await waitForMessage(a.page, 'Hello from page A');
    const markup = '<b>not bold</b> & "quoted"';
    await send(b.page, markup);
    await waitForMessage(a.page, markup);
    await waitForMessage(b.page, markup);

    for (const { page } of [a, b]) {
      expect(await messages(page)).toEqual(['Hello from page A', markup]);
      expect(await page.evaluate('document.querySelectorAll("#messages b").length')).toBe(0);
    }
    mkdirSync(join(ROOT, 'test-reports'), { recursive: true });
    await b.page.bringToFront();
    await b.page.screenshot({ path: SCREENSHOT });
  });

  test('signed-stream-name: a forged one is rejected, and a broadcast to its stream shows nothing', async () => {
    const server = await startTestServer({ demo: true });
    const { page, frames } = await openDemo(server);

    // A stream source the server did not sign, added as a page's own markup would add it.
    const forged = signStream('other-room', 'not-the-server-secret');
    await page.evaluate(`(() => {
      const source = document.createElement("turbo-cable-stream-source");
      source.id = "forged";
      source.setAttribute("channel", "Turbo::StreamsChannel");
      source.setAttribute("signed-stream-name", ${JSON.stringify(forged)});
      document.body.append(source);
    })()`);
    const identifier = JSON.stringify({ channel: 'Turbo::StreamsChannel', signed_stream_name: forged });
    await eventually(() => expect(frames.map((f) => JSON.parse(f) as unknown)).toContainEqual({ type: 'reject_subscription', identifier }));
    expect(await page.$('#forged[connected]')).toBeNull();
    expect(memoryStores(server).subscriptions.all().map((row) => row.stream)).toEqual([DEMO_STREAM]);

    // The server's key, from outside the page: the stream gets a Turbo Stream nobody should see.
    const response = await fetch(server.broadcastUrl, {
      method: 'POST',
      headers: { 'Authorization': `Bearer ${railsBroadcastKey(SECRET)}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        stream: 'other-room',
        data: JSON.stringify('<turbo-stream action="append" target="messages"><template><p class="message">forged</p></template></turbo-stream>'),
      }),
    });
    expect(response.status).toBe(201);
    expect(((await response.json()) as { subscribers: number }).subscribers).toBe(0);
    // Frames reach a socket in order: once this later message is shown, the forged one would have been.
    await send(page, 'after the forged broadcast');
    await waitForMessage(page, 'after the forged broadcast');
    expect(await messages(page)).toEqual(['after the forged broadcast']);
  });

  test('restart: the pages reconnect to a server started again on the same port and receive again', async () => {
    const first = await startTestServer({ demo: true });
    const a = await openDemo(first);
    const b = await openDemo(first);
    await send(a.page, 'before the restart');
    await waitForMessage(b.page, 'before the restart');

    await first.close();
    for (const { page } of [a, b]) await page.waitForFunction('!document.querySelector("turbo-cable-stream-source[connected]")', { polling: POLL_MS });
    const second = await startTestServer({ demo: true, port: Number(new URL(first.httpUrl).port) });

    for (const { page } of [a, b]) await page.waitForSelector('turbo-cable-stream-source[connected]', { timeout: RECONNECT_MS });
    await eventually(() => expect(demoSubscriptions(second)).toBe(2));
    await send(b.page, 'after the restart');
    await waitForMessage(a.page, 'after the restart');
    await waitForMessage(b.page, 'after the restart');
    expect(await messages(a.page)).toEqual(['before the restart', 'after the restart']);
  });
});
