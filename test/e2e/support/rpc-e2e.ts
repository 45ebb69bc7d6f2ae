import { ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ActionCable from '@rails/actioncable';
import { RawData, WebSocket } from 'ws';
import { installNodeConsumer } from './browser-globals';
import { bundleWithTask } from './bundle-task';
import { LocalCableServerOptions, LocalRpcOptions } from '../../../lambda/local/local-cable-server';
import { CABLE_FUNCTIONS, FUNCTION_BUNDLE_FILE, FUNCTIONS_DIR, functionBundleName } from '../../../src/contract/functions';
import { RecordedRpcCall, RunningServerlessApp, startServerlessApp } from '../../support/anycable-app/serverless-app';
import { eventually, SECRET, startTestServer } from '../../support/local-server';

/*
 * The cable server and the app's RPC (test/support/anycable-app) wired to each other, and the
 * stock @rails/actioncable consumer that drives them, for test/e2e/anycable-rpc.test.ts.
 */

/** Derived here as anycable-rails derives them, not by the code under test: hex(HMAC-SHA256(secret, purpose)). */
export const RPC_SECRET = createHmac('sha256', SECRET).update('rpc-cable').digest('hex');
export const BROADCAST_KEY = createHmac('sha256', SECRET).update('broadcast-cable').digest('hex');

/** What every consumer's socket sends besides the handshake: a cookie (proxied to the app) and a header that is not. */
export const CLIENT_HEADERS = { 'cookie': 'theme=dark', 'x-api-key': 'not-for-the-app' };

/** `ws` as the consumer's WebSocket, sending `CLIENT_HEADERS` and keeping every frame the consumer receives. */
export class RecordingWebSocket extends WebSocket {
  readonly frames: string[] = [];

  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols, { headers: CLIENT_HEADERS });
    this.on('message', (data: RawData) => this.frames.push(data.toString()));
  }
}

/** The parts of the consumer these tests look at that its type definitions leave out. */
export interface ConsumerInternals {
  readonly connection: {
    readonly webSocket?: RecordingWebSocket;
    readonly monitor: { isRunning(): boolean };
    isOpen(): boolean;
  };
}

export type RecordingConsumer = ActionCable.Consumer & ConsumerInternals;

/** Installs the browser globals and `RecordingWebSocket` as the consumer's WebSocket; returns the undo. */
export function installRecordingConsumer(): () => void {
  return installNodeConsumer(RecordingWebSocket);
}

const consumers: ActionCable.Consumer[] = [];

/** A consumer, not yet connected; `disconnectConsumers()` in `afterEach` stops it. */
export function createConsumer(url: string): RecordingConsumer {
  const consumer = ActionCable.createConsumer(url) as RecordingConsumer;
  consumers.push(consumer);
  return consumer;
}

export function disconnectConsumers(): void {
  consumers.splice(0).forEach((consumer) => consumer.disconnect());
}

/** Decoded frames the consumer's current socket received. */
export function framesOf(consumer: RecordingConsumer): { type?: string; identifier?: string; message?: unknown; sid?: string }[] {
  return (consumer.connection.webSocket?.frames ?? []).map((frame) => JSON.parse(frame));
}

/** Connects and waits for the welcome, which it returns. */
export async function welcomedConsumer(url: string): Promise<{ consumer: RecordingConsumer; welcome: { type?: string; sid?: string } }> {
  const consumer = createConsumer(url);
  consumer.connect();
  let welcome: { type?: string; sid?: string } | undefined;
  await eventually(() => {
    expect(consumer.connection.isOpen()).toBe(true);
    welcome = framesOf(consumer).find((frame) => frame.type === 'welcome');
    expect(welcome).toBeDefined();
  });
  return { consumer, welcome: welcome! };
}

export { subscribe } from './subscription';
export type { Outcome } from './subscription';

/** The calls of one RPC method, oldest first. */
export function callsTo(app: RunningServerlessApp, method: 'connect' | 'command' | 'disconnect'): RecordedRpcCall[] {
  return app.calls.filter((call) => call.rpcMethod === method);
}

/** Resolves once the app has received `count` calls in all: at once, before it answers the last one. */
export async function receivedCalls(app: RunningServerlessApp, count: number, timeoutMs = 5_000): Promise<RecordedRpcCall[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the app received ${app.calls.length} calls, not ${count}, within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([app.waitForCalls(count), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The JSON body of a call, typed loosely for assertions. */
export function bodyOf(call: RecordedRpcCall): Record<string, unknown> & { env: { url: string; headers: Record<string, string> } } {
  return call.body as Record<string, unknown> & { env: { url: string; headers: Record<string, string> } };
}

const apps = new Set<RunningServerlessApp>();

/** The chat app, broadcasting to a cable server that will listen on `broadcastPort`; `closeApps()` closes it. */
export async function startChatApp(broadcastPort: number): Promise<RunningServerlessApp> {
  const app = await startServerlessApp({
    broadcastUrl: `http://127.0.0.1:${broadcastPort}/_broadcast`,
    broadcastKey: BROADCAST_KEY,
    rpcSecret: RPC_SECRET,
  });
  apps.add(app);
  return app;
}

/** Run after the cable servers are closed: their `$disconnect` still calls the app. */
export async function closeApps(): Promise<void> {
  const running = [...apps];
  apps.clear();
  await Promise.all(running.map((app) => app.close()));
}

/** A port free a moment ago: the app must know the cable server's broadcast URL before the server knows the app's RPC URL. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The in-process local server (settings `{ secret: SECRET }`) with the chat app as its RPC, and the app broadcasting back to it. */
export async function startCableWithApp(rpc: Omit<LocalRpcOptions, 'url'> = {}, options: LocalCableServerOptions = {}) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const app = await startChatApp(port);
    try {
      const server = await startTestServer({ ...options, port, rpc: { url: app.url, ...rpc } });
      return { server, app };
    } catch (error) {
      apps.delete(app);
      await app.close();
      // Someone took the port meanwhile.
      if ((error as { code?: unknown }).code !== 'EADDRINUSE' || attempt >= 3) throw error;
    }
  }
}

/** The handler bundles the local server loads, beside the CLI, built from the current sources by the projen bundle tasks. */
export function bundleLambdaAssets(): { handlers: string; cli: string } {
  const root = mkdtempSync(join(tmpdir(), 'cdk-cable-rpc-e2e-'));
  // Without a ping bundle, the server pings in-process (loadBundledHandlers); pings do not involve the app.
  for (const name of CABLE_FUNCTIONS.filter((n) => n !== 'ping')) {
    bundleWithTask(`bundle:${FUNCTIONS_DIR}/${functionBundleName(name)}`, join(root, 'handlers', functionBundleName(name), FUNCTION_BUNDLE_FILE));
  }
  const cli = join(root, 'cli', 'cdk-cable.mjs');
  bundleWithTask('bundle:lambda/local/cli', cli);
  return { handlers: join(root, 'handlers'), cli };
}

export interface RunningCli {
  readonly url: string;
  output(): string;
  stop(): Promise<void>;
}

/** Runs `node <cli> dev <args>` and waits for its banner's WebSocket URL. */
export async function startCli(cli: string, args: string[]): Promise<RunningCli> {
  const child: ChildProcess = spawn(process.execPath, [cli, 'dev', '--demo=false', '--log_level=warn', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' },
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const url = await new Promise<string>((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /WebSocket: +(ws:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]);
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    void exited.then(() => reject(new Error(`the CLI exited before listening: ${output}`)));
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { url, output: () => output, stop };
}
