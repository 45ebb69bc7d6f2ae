import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { localPingPeriodSeconds } from './local-ping-schedule';
import { LocalStoreOptions } from './local-runtime';
import { environmentVariableNames, writeEnvironment } from '../../src/contract/environment';
import { CableFunctionName, FUNCTION_BUNDLE_FILE, FUNCTIONS_DIR, functionBundleName } from '../../src/contract/functions';
import { BroadcastHttpRequest, BroadcastHttpResponse } from '../core/broadcast-http';
import { CableSettings, resolveConfig } from '../core/config';
import { CableConfigError } from '../core/errors';
import { DeliveryRequest, Logger } from '../core/ports';
import { FunctionUrlEvent, FunctionUrlResult } from '../handlers/broadcast-handler';
import { WebSocketEvent, WebSocketResult } from '../handlers/events';
import { ScheduledEvent } from '../handlers/ping-handler';

/** The Lambda functions exactly as shipped: `assets/lambda/aws/<name>-function/index.mjs`. */
export interface BundledHandlers {
  readonly connect: (event: WebSocketEvent) => Promise<WebSocketResult>;
  readonly message: (event: WebSocketEvent) => Promise<WebSocketResult>;
  readonly disconnect: (event: WebSocketEvent) => Promise<WebSocketResult>;
  readonly deliver: (event: DeliveryRequest) => Promise<unknown>;
  readonly broadcast: (event: FunctionUrlEvent) => Promise<FunctionUrlResult>;
  readonly fanout: (event: unknown) => Promise<unknown>;
  /** Optional, so that asset directories built before the pinger still load: the server then pings in-process. */
  readonly ping?: (event: ScheduledEvent) => Promise<unknown>;
  /** Releases what runs the bundles (worker threads), once the server has stopped calling them. */
  close?(): Promise<void>;
}

/** Function names the bundles invoke (through the server's Lambda Invoke emulation). */
export const LOCAL_DELIVER_FUNCTION = 'cdk-cable-local-deliver';
export const LOCAL_FANOUT_FUNCTION = 'cdk-cable-local-fanout';
/** `$connect` starts the pinger under this name when none holds the lease, and the pinger its workers (AWS_LAMBDA_FUNCTION_NAME). */
export const LOCAL_PING_FUNCTION = 'cdk-cable-local-ping';

const NAMES = ['connect', 'message', 'disconnect', 'deliver', 'broadcast', 'fanout'] as const;
const OPTIONAL_NAMES = ['ping'] as const;

/**
 * Lambda's asynchronous invocations, in-process: `invoke` returns at once and the function runs
 * on a later turn of the event loop; a failure is logged (Lambda would retry it).
 */
export class AsyncInvoker {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly functions: Readonly<Record<string, (payload: unknown) => Promise<unknown>>>, private readonly logger: Logger) {}

  has(functionName: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.functions, functionName);
  }

  invoke(functionName: string, payload: unknown): void {
    const task: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.functions[functionName](payload))
      .then(() => undefined, (error: unknown) => this.logger.warn('local.invocation_failed', { functionName, error }))
      .finally(() => this.pending.delete(task));
    this.pending.add(task);
  }

  /** Resolves once every invocation has finished, including ones started meanwhile. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}

/** A broadcast request as the bundled broadcast function receives it from its Function URL. */
export function toFunctionUrlEvent(request: BroadcastHttpRequest): FunctionUrlEvent {
  return {
    version: '2.0',
    rawPath: request.path,
    headers: Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value])),
    body: request.body,
    isBase64Encoded: false,
    requestContext: { http: { method: request.method } },
  };
}

export function fromFunctionUrlResult(result: FunctionUrlResult): BroadcastHttpResponse {
  return { status: result.statusCode, headers: result.headers, body: result.body };
}

/** Each bundle's file (the pinger's only when present); throws naming a missing one. */
export function bundleFiles(dir: string): Array<{ readonly name: CableFunctionName; readonly file: string }> {
  const bundleFile = (name: CableFunctionName) => path.resolve(dir, functionBundleName(name), FUNCTION_BUNDLE_FILE);
  const present = OPTIONAL_NAMES.filter((name) => fs.existsSync(bundleFile(name)));
  return [...NAMES, ...present].map((name) => {
    const file = bundleFile(name);
    if (!fs.existsSync(file)) {
      throw new CableConfigError(`lambdaAssets: ${file} does not exist (run "npx projen bundle", or point at assets/${FUNCTIONS_DIR})`);
    }
    return { name, file };
  });
}

/**
 * Imports the bundles (the pinger's only when present). They read their configuration from `process.env` as in AWS, so this
 * mode is one per process (`loadBundledHandlersInWorkers` gives each its own environment instead).
 */
export async function loadBundledHandlers(dir: string): Promise<BundledHandlers> {
  const entries = await Promise.all(bundleFiles(dir).map(async ({ name, file }) => {
    // A real dynamic import of an ES module, which TypeScript's CommonJS output would turn into require().
    const module = await (new Function('url', 'return import(url)') as (url: string) => Promise<{ handler?: unknown }>)(pathToFileURL(file).href);
    if (typeof module.handler !== 'function') throw new CableConfigError(`lambdaAssets: ${file} exports no handler function`);
    return [name, module.handler] as const;
  }));
  return Object.fromEntries(entries) as unknown as BundledHandlers;
}

/**
 * The environment the construct gives the functions, pointed at this server: its `@connections`
 * endpoint, its Lambda Invoke emulation, and the DynamoDB endpoint.
 */
export interface BundledEnvironmentProps {
  readonly settings: CableSettings;
  readonly store: Extract<LocalStoreOptions, { kind: 'dynamodb' }>;
  readonly callbackUrl: string;
  readonly httpUrl: string;
  readonly logLevel: string;
  readonly rpc?: { readonly url: string; readonly timeoutMs?: number; readonly maxAttempts?: number };
}

export function bundledEnvironment(props: BundledEnvironmentProps): Record<string, string> {
  const { settings, store } = props;
  const { ping, maxConnectionAgeSeconds } = resolveConfig(settings);
  const secret = (value: string | undefined) => ({ value });
  const written = writeEnvironment({
    connectionsTable: store.connectionsTable,
    subscriptionsTable: store.subscriptionsTable,
    dynamodbEndpoint: store.endpoint,
    callbackUrl: props.callbackUrl,
    lambdaEndpoint: props.httpUrl,
    deliverFunction: LOCAL_DELIVER_FUNCTION,
    fanOutFunction: LOCAL_FANOUT_FUNCTION,
    pingFunction: LOCAL_PING_FUNCTION,
    turboStreams: settings.turboStreams ?? true,
    publicStreams: settings.publicStreams ?? false,
    streamsWhisper: settings.streamsWhisper ?? false,
    streamsPresence: settings.streamsPresence ?? false,
    presenceTtlSeconds: settings.presenceTtlSeconds,
    allowedOrigins: settings.allowedOrigins,
    ttlSeconds: settings.ttlSeconds,
    logLevel: props.logLevel,
    ping: {
      intervalSeconds: ping.enabled ? ping.intervalSeconds : 0,
      minClientIntervalSeconds: ping.minClientIntervalSeconds,
      maxClientIntervalSeconds: ping.maxClientIntervalSeconds,
      maxPerSecond: ping.maxPerSecond,
      segments: ping.segments,
    },
    pingPeriodSeconds: localPingPeriodSeconds(ping),
    maxConnectionAgeSeconds,
    delivery: settings.delivery,
    jwtParam: settings.jwtParam,
    enforceJwt: settings.enforceJwt,
    rpcHeaders: settings.rpcHeaders,
    rpcCookies: settings.rpcCookies,
    limits: settings.limits,
    history: settings.history,
    rpc: props.rpc ? { kind: 'http', ...props.rpc } : undefined,
    originHeader: settings.originHeader,
    secrets: {
      secret: secret(settings.secret),
      turboStreamsSecret: secret(settings.turboStreamsSecret),
      streamsSecret: secret(settings.streamsSecret),
      broadcastKey: secret(settings.broadcastKey),
      httpRpcSecret: secret(settings.httpRpcSecret),
      jwtSecret: secret(settings.jwtSecret),
      originSecret: secret(settings.originSecret),
    },
  });
  // Every variable is set, empty when unused: a previous server in this process may have left others in process.env.
  return { ...Object.fromEntries(environmentVariableNames().map((name) => [name, ''])), ...written };
}
