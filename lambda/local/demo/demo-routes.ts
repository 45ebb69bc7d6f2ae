import { existsSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import {
  appendMessageStream, DEMO_MESSAGES_PATH, DEMO_SCRIPT_PATH, DEMO_STREAM, MAX_DEMO_MESSAGE_CHARS, railsJson, renderDemoPage,
} from './demo-html';
import { CableConfig } from '../../core/config';
import { Logger } from '../../core/ports';
import { signStream } from '../../core/signed-stream';
import { answerWithoutBody, readBody } from '../request-body';
import { isForeignOrigin } from '../same-origin';

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

export interface DemoPageProps {
  /** The server's resolved settings: the Turbo key signs the demo stream; the broadcast key authorizes the form's broadcasts. */
  readonly config: CableConfig;
  /** `/cable`: where the page's ActionCable consumer connects, at the page's own origin. */
  readonly cablePath: string;
  /** `http://127.0.0.1:PORT/_broadcast`: the server's own broadcast endpoint, which the form's posts go through. */
  readonly broadcastUrl: string;
  /** `POST /_broadcast` needs no key (`--public`). */
  readonly publicBroadcasts: boolean;
  readonly logger: Logger;
  /** @default - assets/lambda/local/demo/demo-page, found from the running file (`demoAssetDirs`) */
  readonly assetsDir?: string;
}

/** Builds the page script; `npx projen bundle` and `npx projen test` build it too. */
export const DEMO_BUILD_COMMAND = 'npx projen bundle:lambda/local/demo/demo-page';
const SCRIPT_FILE = 'demo-page.js';
/** A post of the form is a few bytes; anything much bigger is not from the page. */
const MAX_FORM_BYTES = 16 * 1024;

/**
 * The demo page on the local server's port, in front of `next` (the Management API and
 * `/_broadcast`): `GET /` the page, `GET /demo-page.js` (+ `.map`) its bundled script, and
 * `POST /demo/messages`, which turns the form's text into a Turbo Stream and sends it through a
 * real `POST /_broadcast` to this server with the broadcast key, as anycable-rails would. The
 * key stays on the server. Other paths go to `next`.
 */
export function withDemoPage(props: DemoPageProps, next: RequestListener): RequestListener {
  return (request, response) => {
    const pathname = (request.url ?? '/').split('?')[0];
    const route = ROUTES[pathname];
    if (!route) return next(request, response);
    route(props, request, response).catch((error: unknown) => {
      props.logger.error('local.demo_failed', { method: request.method, url: request.url, error });
      if (!response.headersSent) sendJson(response, 500, { message: 'Internal server error' });
      else response.destroy();
    });
  };
}

type Route = (props: DemoPageProps, request: IncomingMessage, response: ServerResponse) => Promise<void>;

const ROUTES: Record<string, Route> = {
  '/': async (props, request, response) => {
    if (!allowMethod(request, response, 'GET')) return;
    const html = renderDemoPage({
      cablePath: props.cablePath,
      signedStreamName: props.config.turboStreamsSecret ? signStream(DEMO_STREAM, props.config.turboStreamsSecret) : undefined,
      notices: notices(props, `http://${request.headers.host ?? ''}`),
    });
    send(response, 200, html, 'text/html; charset=utf-8');
  },
  [DEMO_SCRIPT_PATH]: (props, request, response) => serveScript(props, SCRIPT_FILE, 'text/javascript; charset=utf-8', request, response),
  [`${DEMO_SCRIPT_PATH}.map`]: (props, request, response) => serveScript(props, `${SCRIPT_FILE}.map`, 'application/json', request, response),
  // Browsers ask for it; nothing to show, and no 404 in the console.
  '/favicon.ico': async (_props, _request, response) => {
    response.writeHead(204).end();
  },
  [DEMO_MESSAGES_PATH]: postMessage,
};

/** What would keep the page from working, said on the page itself. */
function notices(props: DemoPageProps, pageOrigin: string): string[] {
  const { config } = props;
  const found: string[] = [];
  if (!findScript(props)) found.push(`The page script is not built: run "${DEMO_BUILD_COMMAND}" and reload.`);
  if (!config.turboStreams) found.push('Turbo Streams are off (--turbo_streams=false): nothing can subscribe to the demo stream.');
  else if (!config.turboStreamsSecret) found.push('No Turbo key (--secret or --turbo_streams_secret): the demo stream cannot be signed.');
  if (!config.broadcastKey && !props.publicBroadcasts) found.push('No broadcast key (--secret or --broadcast_key): POST /_broadcast refuses the messages.');
  if (config.allowedOrigins && !config.allowedOrigins.includes(pageOrigin)) {
    found.push(`This page's origin, ${pageOrigin}, is not in --allowed_origins: the cable refuses its connection.`);
  }
  return found;
}

async function serveScript(props: DemoPageProps, file: string, type: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (!allowMethod(request, response, 'GET')) return;
  const dir = findScript(props);
  if (!dir) {
    const message = `${SCRIPT_FILE} is not built (looked in ${candidateDirs(props).join(', ')}): run "${DEMO_BUILD_COMMAND}"`;
    return send(response, 503, `${message}\n`, 'text/plain; charset=utf-8');
  }
  send(response, 200, await readFile(join(dir, file)), type);
}

/**
 * `POST /demo/messages` with `{"text": "..."}` (the page's script posts the form as JSON): 204 once
 * `POST /_broadcast` has accepted the Turbo Stream (201); 400 for an empty or too long text; 403
 * for a post from another origin and 415 for any other content type, so that only this page may
 * broadcast with the server's key: a page elsewhere can post a form or `text/plain` without a CORS
 * preflight, but not JSON. 502 with `POST /_broadcast`'s answer otherwise.
 */
async function postMessage(props: DemoPageProps, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (!allowMethod(request, response, 'POST')) return;
  if (isForeignOrigin(request)) {
    answerWithoutBody(request, response);
    return sendJson(response, 403, { message: `posts from another origin (${request.headers.origin}) are refused` });
  }
  if (!isJson(request.headers['content-type'])) {
    answerWithoutBody(request, response);
    return sendJson(response, 415, { message: `send {"text": "..."} as application/json, not ${request.headers['content-type'] ?? 'no content type'}` });
  }
  const read = await readBody(request, response, { maxBytes: MAX_FORM_BYTES, tooLarge: `the form is over ${MAX_FORM_BYTES} bytes` });
  if (!read.ok) return sendJson(response, read.status, { message: read.message });
  const text = textOf(read.body);
  if (text === undefined) return sendJson(response, 400, { message: 'the body is not {"text": "<string>"}' });
  if (text.length === 0) return sendJson(response, 400, { message: 'text is empty' });
  if (text.length > MAX_DEMO_MESSAGE_CHARS) return sendJson(response, 400, { message: `text is over ${MAX_DEMO_MESSAGE_CHARS} characters` });

  // What Rails sends for broadcast_append_to: ActionCable JSON-encodes the <turbo-stream> string
  // into `data`, and anycable-rails' HTTP adapter posts {stream, data} with the broadcast key.
  const publication = railsJson({ stream: DEMO_STREAM, data: railsJson(appendMessageStream(text, new Date())) });
  const key = props.config.broadcastKey;
  let answer: Response;
  try {
    answer = await fetch(props.broadcastUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(key ? { Authorization: `Bearer ${key}` } : {}) },
      body: publication,
    });
  } catch (error) {
    props.logger.warn('local.demo_broadcast_failed', { error });
    return sendJson(response, 502, { message: `POST /_broadcast failed: ${error instanceof Error ? error.message : String(error)}` });
  }
  const reply = await answer.text();
  if (answer.status === 201) {
    response.writeHead(204).end();
    return;
  }
  props.logger.warn('local.demo_broadcast_refused', { status: answer.status, body: reply });
  sendJson(response, 502, { message: `POST /_broadcast answered ${answer.status}: ${messageOf(reply)}` });
}

/**
 * Where the bundle (assets/lambda/local/demo/demo-page/) may be, from the running file:
 * lambda/local/demo/ when running the TypeScript sources (ts-jest, ts-node); assets/lambda/local/cli/
 * when running the CLI bundle, an ES module without `__dirname`, found through the script the
 * process started (`npx cdk-cable` starts it through a symbolic link).
 */
export function demoAssetDirs(): string[] {
  const dirs: string[] = [];
  if (typeof __dirname === 'string') dirs.push(join(__dirname, '..', '..', '..', 'assets', 'lambda', 'local', 'demo', 'demo-page'));
  const main = process.argv[1];
  if (main && existsSync(main)) dirs.push(join(dirname(realpathSync(main)), '..', 'demo', 'demo-page'));
  return dirs;
}

function candidateDirs(props: DemoPageProps): string[] {
  return props.assetsDir ? [props.assetsDir] : demoAssetDirs();
}

/** The directory holding the built script, looked up on each request so a build while the server runs is picked up. */
function findScript(props: DemoPageProps): string | undefined {
  return candidateDirs(props).find((dir) => existsSync(join(dir, SCRIPT_FILE)));
}

function allowMethod(request: IncomingMessage, response: ServerResponse, method: 'GET' | 'POST'): boolean {
  if (request.method === method || (method === 'GET' && request.method === 'HEAD')) return true;
  response.writeHead(405, { Allow: method === 'GET' ? 'GET, HEAD' : 'POST' }).end();
  return false;
}

function isJson(contentType: string | undefined): boolean {
  return contentType?.split(';')[0].trim().toLowerCase() === 'application/json';
}

/** The trimmed `text` of `{"text": "..."}`; undefined for any other body. */
function textOf(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { text?: unknown };
    return typeof parsed?.text === 'string' ? parsed.text.trim() : undefined;
  } catch {
    return undefined;
  }
}

function messageOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: the text itself
  }
  return body.slice(0, 200);
}

function send(response: ServerResponse, status: number, body: string | Buffer, contentType: string): void {
  response.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' }).end(body);
}

function sendJson(response: ServerResponse, status: number, body: { message: string }): void {
  send(response, status, JSON.stringify(body), 'application/json');
}
