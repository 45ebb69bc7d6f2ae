import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { Page } from 'puppeteer-core';
import { HeadlessChromium, launchChromium } from './support/chromium';
import { signStream } from '../../lambda/core/signed-stream';
import { InspectableLocalCableServer } from '../../lambda/local/local-cable-server';
import { useDynalite } from '../support/dynalite';
import { closeServers, SECRET, startTestServer } from '../support/local-server';

/**
 * `@anycable/turbo-stream` 0.8's `<turbo-cable-presence-source>` in headless Chromium against the
 * local server (docs/presence.md). What the element does (presence_source_element.js): it
 * subscribes to its `signed-stream-name` (`cable.streamFromSigned`, a `$pubsub` signed stream, so
 * the server needs `streamsPresence`), joins under its `presence-id` with `{ html }` = its first
 * `<template>`'s markup, then renders every id `presence.info()` lists, and each later `join`,
 * by handing that markup to Turbo as a stream message (here a `<turbo-stream action="append">` of
 * an `<li id="<presence id>">`); on `leave` it removes the element whose id is the presence id.
 * It keeps a `present` attribute and a `[data-presence-counter]` text in step with `info`.
 * Functions run in the page are given as strings (jest's coverage instruments functions).
 */

const ROOT = join(__dirname, '..', '..');
const STREAM = 'rooms:presence';
/** Long enough for a page to open within it (expiry is kept in whole seconds: 4 to 5 s). */
const PRESENCE_TTL_SECONDS = 5;
/** The TTL for the closed page's leave: both pages are open before it matters (2 to 3 s in effect). */
const SHORT_PRESENCE_TTL_SECONDS = 2;
/** That leave: the short TTL, then the pinger's next round (every 3 s) sweeps it; with slack for a loaded machine. */
const LEAVE_WAIT_MS = (SHORT_PRESENCE_TTL_SECONDS + 1 + 3 + 6) * 1000;
/** waitForFunction polls on animation frames by default, which hidden tabs do not get. */
const POLL_MS = 50;
const WAIT_MS = 10_000;

/** turbo-stream's README setup, with `presence: true` (start.js defines `<turbo-cable-presence-source>` only then). */
const APPLICATION_JS = `
import '@hotwired/turbo'
import { createCable } from '@anycable/web'
import { start } from '@anycable/turbo-stream'

const cable = createCable({ protocol: 'actioncable-v1-ext-json' })
start(cable, { presence: true })
window.cable = cable
`;

type Store = 'memory' | 'dynalite';

const dynamo = useDynalite();
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
  await Promise.all(pages.splice(0).map((page) => page.isClosed() ? undefined : page.close()));
  await Promise.all(apps.splice(0).map((app) => {
    app.closeAllConnections();
    return new Promise((resolve) => app.close(resolve));
  }));
  await closeServers();
  expect(pageErrors.splice(0)).toEqual([]);
});

afterAll(async () => {
  await chromium?.close();
});

async function startCable(store: Store, presenceTtlSeconds = PRESENCE_TTL_SECONDS): Promise<InspectableLocalCableServer> {
  const tables = store === 'memory' ? undefined : await dynamo.createTables('turbo-presence');
  return startTestServer({
    ...(tables ? { store: { kind: 'dynamodb', endpoint: dynamo.endpoint, ...tables } } : {}),
    settings: { secret: SECRET, streamsPresence: true, presenceTtlSeconds },
  });
}

/**
 * The Rails app: `/?id=<user>` renders the room for that user, the presence source as a
 * `turbo_presence_stream_from` helper (turbo-stream's README) would, and the list it fills.
 */
async function serveApp(cable: InspectableLocalCableServer): Promise<string> {
  const page = (id: string) => `<!DOCTYPE html>
<html><head>
<meta name="action-cable-url" content="${cable.url}">
<script type="module" src="/assets/application.js"></script>
</head><body>
<turbo-cable-presence-source signed-stream-name="${signStream(STREAM, SECRET)}" presence-id="${id}">
<template><turbo-stream action="append" target="people"><template><li id="${id}">${id}</li></template></turbo-stream></template>
<span data-presence-counter></span>
</turbo-cable-presence-source>
<ul id="people"></ul>
</body></html>`;
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://app');
    const id = url.searchParams.get('id') ?? '';
    if (url.pathname === '/' && /^[a-z]+$/.test(id)) return response.writeHead(200, { 'Content-Type': 'text/html' }).end(page(id));
    if (url.pathname === '/assets/application.js') return response.writeHead(200, { 'Content-Type': 'text/javascript' }).end(applicationJs);
    return response.writeHead(404).end();
  });
  apps.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The room page of user `id`, once its presence source is connected and has rendered itself. */
async function openPage(app: string, id: string): Promise<Page> {
  const page = await chromium.browser.newPage();
  pages.push(page);
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  await page.goto(`${app}/?id=${id}`);
  try {
    await page.waitForSelector(`turbo-cable-presence-source[connected][present] ~ #people li#${id}`, { timeout: 15_000 });
  } catch (error) {
    const state = await page.evaluate('JSON.stringify({ cable: window.cable?.state, people: document.getElementById("people")?.innerHTML })');
    throw new Error(`${id}'s presence source never showed itself (${state}; page errors ${JSON.stringify(pageErrors)}): ${String(error)}`);
  }
  return page;
}

/** What the page shows: the ids listed, sorted, and the counter's text. */
async function shown(page: Page): Promise<{ people: string[]; counter: string }> {
  return page.evaluate(`({
    people: [...document.querySelectorAll("#people li")].map((li) => li.id).sort(),
    counter: document.querySelector("[data-presence-counter]").textContent,
  })`) as Promise<{ people: string[]; counter: string }>;
}

/** Waits until the page lists exactly `people` and its counter says so. */
async function waitForPeople(page: Page, people: string[], timeout = WAIT_MS): Promise<void> {
  const expected = JSON.stringify([...people].sort());
  await page.waitForFunction(`(() => {
    const people = JSON.stringify([...document.querySelectorAll("#people li")].map((li) => li.id).sort());
    return people === ${JSON.stringify(expected)} && document.querySelector("[data-presence-counter]").textContent === "${people.length}";
  })()`, { polling: POLL_MS, timeout }).catch(async (error: unknown) => {
    throw new Error(`expected ${expected}, the page shows ${JSON.stringify(await shown(page))}: ${String(error)}`);
  });
}

describe.each<Store>(['memory', 'dynalite'])('@anycable/turbo-stream 0.8 <turbo-cable-presence-source> in Chromium, %s', (store) => {
  test('two pages see each other join; the one whose source is removed is seen leaving', async () => {
    const app = await serveApp(await startCable(store));
    const ann = await openPage(app, 'ann');
    const bob = await openPage(app, 'bob');

    // Bob's page rendered Ann from `info`, Ann's page rendered Bob from his `join` event.
    await waitForPeople(bob, ['ann', 'bob']);
    await waitForPeople(ann, ['ann', 'bob']);

    // Bob navigates away within the page (Turbo replaces the body): the source unsubscribes, which leaves.
    await bob.evaluate('document.querySelector("turbo-cable-presence-source").remove()');
    await waitForPeople(ann, ['ann']);
    expect(await shown(ann)).toEqual({ people: ['ann'], counter: '1' });
    expect(await ann.evaluate('document.querySelector("turbo-cable-presence-source").hasAttribute("present")')).toBe(true);
  }, 60_000);

  test('a closed page stays listed for the presence TTL, then a page opened later does not list it', async () => {
    const cable = await startCable(store);
    const app = await serveApp(cable);
    await openPage(app, 'ann');
    const bob = await openPage(app, 'bob');
    await bob.close();

    // Within the TTL a new page still lists Bob (a reload or reconnect would not be seen leaving).
    const carl = await openPage(app, 'carl');
    await waitForPeople(carl, ['ann', 'bob', 'carl']);
    await new Promise((resolve) => setTimeout(resolve, (PRESENCE_TTL_SECONDS + 1.2) * 1000));
    const dan = await openPage(app, 'dan');
    await waitForPeople(dan, ['ann', 'carl', 'dan']);
  }, 60_000);

  test('a closed page is seen leaving by the others once the presence TTL runs out (the pinger\'s sweep)', async () => {
    const app = await serveApp(await startCable(store, SHORT_PRESENCE_TTL_SECONDS));
    const ann = await openPage(app, 'ann');
    const bob = await openPage(app, 'bob');
    await waitForPeople(bob, ['ann', 'bob']);

    // The tab closes: its socket goes without an unsubscribe or a leave.
    await ann.close();
    await waitForPeople(bob, ['bob'], LEAVE_WAIT_MS);
    expect(await shown(bob)).toEqual({ people: ['bob'], counter: '1' });
  }, 60_000);
});
