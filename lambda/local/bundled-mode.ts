import { BroadcastService } from './broadcast-endpoint';
import {
  AsyncInvoker, BundledEnvironmentProps, BundledHandlers, bundledEnvironment, fromFunctionUrlResult, loadBundledHandlers,
  LOCAL_DELIVER_FUNCTION, LOCAL_FANOUT_FUNCTION, LOCAL_PING_FUNCTION, toFunctionUrlEvent,
} from './bundled-handlers';
import { LocalStoreOptions } from './local-runtime';
import { RouteHandlers } from './websocket-endpoint';
import { CableConfigError } from '../core/errors';
import { DeliveryRequest, Logger } from '../core/ports';
import { ScheduledEvent } from '../handlers/ping-handler';

/**
 * The local server's `--lambda_assets` mode: the shipped bundles serve the routes, the broadcast
 * URL and the pinger, with the environment the construct would give them pointed at this server.
 */
export interface BundledMode {
  readonly handlers: RouteHandlers;
  readonly invoke: AsyncInvoker;
  readonly serveBroadcast: BroadcastService;
  readonly ping?: (event: ScheduledEvent) => Promise<unknown>;
  readonly bundles: BundledHandlers;
}

/** Loads the bundles, points their environment at this server, and routes their invocations. */
/** Loads the bundles from `dir`, given the environment the server computed for them. */
export type LoadBundles = (dir: string, environment: Readonly<Record<string, string>>) => Promise<BundledHandlers>;

export async function startBundled(props: {
  readonly dir: string;
  readonly store: LocalStoreOptions;
  /** The server's options the bundles' environment follows. */
  readonly options: {
    readonly settings?: BundledEnvironmentProps['settings'];
    readonly rpc?: BundledEnvironmentProps['rpc'];
    readonly logLevel?: string;
    readonly publicBroadcasts?: boolean;
  };
  /** This server's `@connections` endpoint and its Lambda Invoke emulation. */
  readonly callbackUrl: string;
  readonly httpUrl: string;
  readonly logger: Logger;
  readonly loadBundles?: LoadBundles;
}): Promise<BundledMode> {
  const { dir, store, options, logger, loadBundles } = props;
  if (store.kind !== 'dynamodb') throw new CableConfigError('lambdaAssets needs store.kind "dynamodb": the bundles keep state in DynamoDB as in AWS');
  const environment: Record<string, string> = {
    // Local endpoints accept any credentials; the SDK insists on some.
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
    ...bundledEnvironment({
      settings: options.settings ?? {},
      store,
      callbackUrl: props.callbackUrl,
      httpUrl: props.httpUrl,
      logLevel: options.logLevel ?? 'info',
      rpc: options.rpc,
    }),
  };
  if (options.publicBroadcasts) throw new CableConfigError('lambdaAssets runs the broadcast function as in AWS, which has no public mode: drop publicBroadcasts (--public)');
  const bundled = loadBundles ? await loadBundles(dir, environment) : await loadInProcess(dir, environment);
  const invoke = new AsyncInvoker({
    [LOCAL_DELIVER_FUNCTION]: (payload) => bundled.deliver(payload as DeliveryRequest),
    [LOCAL_FANOUT_FUNCTION]: (payload) => bundled.fanout(payload),
    // `$connect` starting an idle pinger, and the pinger its workers.
    ...(bundled.ping ? { [LOCAL_PING_FUNCTION]: (payload: unknown) => bundled.ping!(payload as ScheduledEvent) } : {}),
  }, logger);
  const handlers: RouteHandlers = { connect: bundled.connect, message: bundled.message, disconnect: bundled.disconnect };
  const serveBroadcast: BroadcastService = async (request) => fromFunctionUrlResult(await bundled.broadcast(toFunctionUrlEvent(request)));
  logger.info('local.lambda_assets', { dir, ping: bundled.ping ? 'bundled' : 'in-process (no ping bundle)' });
  return { handlers, invoke, serveBroadcast, ping: bundled.ping, bundles: bundled };
}

/** The default: the bundles in this process, reading `environment` from `process.env` as in AWS. */
async function loadInProcess(dir: string, environment: Readonly<Record<string, string>>): Promise<BundledHandlers> {
  Object.assign(process.env, environment);
  return loadBundledHandlers(dir);
}

