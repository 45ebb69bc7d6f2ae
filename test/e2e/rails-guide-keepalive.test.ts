import { Page } from 'puppeteer-core';
import { signStream } from '../../lambda/core/signed-stream';
import { railsBroadcastKey } from '../core/anycable-rails-request';
import { HeadlessChromium, launchChromium } from './support/chromium';
import {
  codeBlock,
  esbuildSetup,
  importmapPinnedSetup,
  importmapTurboMinSetup,
  layout,
  PageSetup,
  serveApp,
} from './support/rails-guide-pages';
import { closeServers, SECRET, startTestServer } from '../support/local-server';

/**
 * docs/rails.md's keepalive recipe, taken from the guide's code blocks, in headless Chromium
 * with `@hotwired/turbo-rails` from node_modules: a Turbo page asking for `?pi=12` stays on one
 * WebSocket while the cable pings it every 12 s, for two and a half intervals, then receives a
 * broadcast through `<turbo-cable-stream-source>`. 12 s is the shortest interval at which a
 * client still on Action Cable's default 6 s threshold surely reconnects: its first check comes
 * 6-12 s after connecting, before the first ping.
 */

const GUIDE = 'docs/rails.md';
const PING_INTERVAL_S = 12;
/** Two and a half intervals: two pings, and two chances for a wrong threshold to reconnect. */
const OBSERVE_MS = 30_000;
const STREAM = 'rooms:1';
const POLL_MS = 50;
const APPEND = '<turbo-stream action="append" target="messages"><template><p class="message">after the pings</p></template></turbo-stream>';

let chromium: HeadlessChromium;
const pages: Page[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
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

/** The page of one setup, with every WebSocket it opened and the frames each received. */
async function openPage(url: string): Promise<{ page: Page; sockets: Map<string, string[]> }> {
  const page = await chromium.browser.newPage();
  pages.push(page);
  page.on('pageerror', (error) => pageErrors.push(`${url}: ${String(error)}`));
  const sockets = new Map<string, string[]>();
  const cdp = await page.createCDPSession();
  await cdp.send('Network.enable');
  cdp.on('Network.webSocketCreated', (event) => sockets.set(event.requestId, []));
  cdp.on('Network.webSocketFrameReceived', (event) => sockets.get(event.requestId)?.push(event.response.payloadData));
  await page.goto(url);
  await page.waitForSelector('turbo-cable-stream-source[connected]');
  return { page, sockets };
}

/** The stale threshold of the monitor that watches Turbo's connection, read through the stream source's subscription. */
async function turboStaleThreshold(page: Page): Promise<unknown> {
  return page.evaluate('document.querySelector("turbo-cable-stream-source").subscription.consumer.connection.monitor.constructor.staleThreshold');
}

describe('rails guide: keepalive', () => {
  test('cable_keepalive.js: a Turbo page at ?pi=12 stays on one WebSocket and receives, bundled by esbuild and through both import maps', async () => {
    const cableKeepalive = codeBlock(GUIDE, '// app/javascript/cable_keepalive.js');
    const importmap = {
      cableKeepalive,
      applicationJs: codeBlock(GUIDE, '// app/javascript/application.js (importmap-rails)'),
      importmapRb: codeBlock(GUIDE, '# config/importmap.rb (importmap-rails, checked against 2.2.2)'),
    };
    const setups: Record<string, PageSetup> = {
      esbuild: esbuildSetup({ cableKeepalive, applicationJs: codeBlock(GUIDE, '// app/javascript/application.js (jsbundling-rails)') }),
      importmapTurboMin: importmapTurboMinSetup(importmap),
      importmapPinned: importmapPinnedSetup(importmap),
    };
    const cable = await startTestServer();
    const cableUrl = `${cable.url}?pi=${PING_INTERVAL_S}`;
    const signed = signStream(STREAM, SECRET);
    const pagesBySetup = Object.entries(setups).map(([name, setup]) => [name, { setup, html: layout(cableUrl, setup, signed) }] as const);
    const app = await serveApp(Object.fromEntries(pagesBySetup));
    try {
      const opened = await Promise.all(Object.keys(setups).map((name) => openPage(`${app.url}/${name}/`)));
      const thresholds = await Promise.all(opened.map(({ page }) => turboStaleThreshold(page)));

      await new Promise((resolve) => setTimeout(resolve, OBSERVE_MS));
      const response = await fetch(cable.broadcastUrl, {
        method: 'POST',
        headers: { 'Authorization': `Bearer ${railsBroadcastKey(SECRET)}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ stream: STREAM, data: JSON.stringify(APPEND) }),
      });
      expect(response.status).toBe(201);
      for (const { page } of opened) await page.waitForFunction('document.querySelector("#messages .message")?.textContent === "after the pings"', { polling: POLL_MS, timeout: 5_000 });

      const seen = Object.fromEntries(Object.keys(setups).map((name, i) => {
        const sockets = [...opened[i].sockets.values()];
        const pings = sockets[0]?.filter((frame) => (JSON.parse(frame) as { type?: string }).type === 'ping').length;
        return [name, { staleThreshold: thresholds[i], sockets: sockets.length, pings }];
      }));
      // Turbo's monitor at the recipe's threshold, one socket each, two pings on it at 12 s and 24 s (not ten, as at the default 3 s).
      const expected = { staleThreshold: 2 * PING_INTERVAL_S + 10, sockets: 1, pings: expect.any(Number) };
      expect(seen).toEqual(Object.fromEntries(Object.keys(setups).map((name) => [name, expected])));
      for (const { pings } of Object.values(seen)) {
        expect(pings).toBeGreaterThanOrEqual(2);
        expect(pings).toBeLessThanOrEqual(3);
      }
    } finally {
      await app.close();
    }
    // 30 s of watching plus three esbuild-served pages in Chromium: 36 s alone, over 60 s once in
    // a full run on a loaded two-core machine.
  }, 150_000);
});
