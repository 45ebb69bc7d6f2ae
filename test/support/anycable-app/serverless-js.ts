import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildSync } from 'esbuild';

/**
 * The part of `@anycable/serverless-js` 0.1.0 the test app uses, typed here from the `index.d.ts`
 * files under its `dist/`: the package's own types do not resolve from CommonJS (its `.d.ts` files
 * use extensionless ESM imports), so `import type` would give `any`.
 */

export type ServerlessStatus = 0 | 1 | 2;

/** rpc/index.d.ts `Env`: the request's env, which the library also returns as the response's `env`. */
export interface ServerlessEnv {
  url: string;
  headers?: Record<string, string> | null;
  cstate?: Record<string, string> | null;
  istate?: Record<string, string> | null;
}

export type ServerlessIdentifiers = Record<string, unknown>;

/** application/index.d.ts `ConnectionHandle`. */
export interface ServerlessConnectionHandle<I extends ServerlessIdentifiers = ServerlessIdentifiers> {
  readonly id: string | null;
  env: ServerlessEnv;
  identifiers: I | null;
  rejected: boolean;
  reject(): this;
  transmit(data: unknown): this;
  streamFrom(name: string): this;
  stopStreamFrom(name: string): this;
  stopAllStreams(): this;
  close(): this;
  identifiedBy(identifiers: I): this;
}

/** channel/index.d.ts `ChannelHandle`; `state` is `null` unless the request carried one for this identifier. */
export interface ServerlessChannelHandle<I extends ServerlessIdentifiers = ServerlessIdentifiers> {
  readonly identifier: string;
  state: Record<string, unknown> | null;
  rejected: boolean;
  readonly env: ServerlessEnv;
  readonly identifiers: I | null;
  reject(): this;
  streamFrom(name: string): this;
  stopStreamFrom(name: string): this;
  stopAllStreams(): this;
  transmit(data: unknown): this;
}

export type ServerlessChannelParams = Record<string, boolean | number | string>;

/** channel/index.d.ts `Channel`: actions are its other methods, called as `(handle, params, data)`. */
export interface ServerlessChannel {
  subscribed(handle: ServerlessChannelHandle, params: ServerlessChannelParams | null): Promise<void>;
  unsubscribed(handle: ServerlessChannelHandle, params: ServerlessChannelParams | null): Promise<void>;
}

/** application/index.d.ts `Application`. */
export interface ServerlessApplication {
  registerChannel(channelName: string, channel: ServerlessChannel): void;
  connect(handle: ServerlessConnectionHandle): Promise<void>;
  disconnect(handle: ServerlessConnectionHandle): Promise<void>;
}

/** jwt/index.d.ts `identificator`'s result. */
export interface ServerlessIdentificator {
  verify(token: string): Promise<boolean>;
  verifyAndFetch(token: string): Promise<ServerlessIdentifiers | null>;
  generateToken(identifiers: ServerlessIdentifiers): Promise<string>;
}

/** The package's exports (dist/index.js). 0.1.0 has no `signer`: stream signing came in 0.2.0. */
export interface ServerlessJs {
  readonly Status: { readonly ERROR: 0; readonly SUCCESS: 1; readonly FAILURE: 2 };
  readonly Application: new () => ServerlessApplication;
  readonly Channel: new () => ServerlessChannel;
  readonly ChannelHandle: new (
    delegate: ServerlessConnectionHandle, identifier: string, state: Record<string, unknown> | null,
  ) => ServerlessChannelHandle;
  readonly ConnectionHandle: new (id: string | null, env: ServerlessEnv) => ServerlessConnectionHandle;
  /** Dispatches on the last path segment; throws for an unknown one and for whatever the app throws. */
  handler(request: Request, app: ServerlessApplication): Promise<object>;
  broadcaster(url: string, secret: string | undefined): (stream: string, data: unknown) => Promise<void>;
  identificator(secret: string, exp: string | number): ServerlessIdentificator;
}

const PACKAGE = '@anycable/serverless-js';

let bundled: string | undefined;

/**
 * `@anycable/serverless-js` (and jose) re-packed, unchanged, into one CommonJS file: its `dist/` uses
 * extensionless directory imports, which Node's ESM loader refuses (ERR_UNSUPPORTED_DIR_IMPORT) and
 * Jest's CommonJS runtime cannot load. Built once per process, outside the repository.
 */
export function bundleServerlessJs(): string {
  if (bundled) return bundled;
  const entry = require.resolve(PACKAGE);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { version } = require(join(dirname(entry), '..', 'package.json')) as { version: string };
  const outfile = join(tmpdir(), `cdk-cable-serverless-js-${version}-${process.pid}`, 'serverless-js.cjs');
  if (!existsSync(outfile)) {
    mkdirSync(dirname(outfile), { recursive: true });
    buildSync({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      outfile,
      logLevel: 'error',
    });
  }
  bundled = outfile;
  return outfile;
}

let loaded: ServerlessJs | undefined;

export function loadServerlessJs(): ServerlessJs {
  if (loaded) return loaded;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded = require(bundleServerlessJs()) as ServerlessJs;
  return loaded;
}
