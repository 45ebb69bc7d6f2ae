import * as path from 'node:path';
import { IamConfiguration, RPC_FUNCTION_NAME, RPC_URL_IN_TEMPLATE } from './configurations';
import { RecordedCall, RecordingProxy } from './recording-proxy';
import { ACCOUNT, REGION, SynthesizedCable } from './template';
import { LOCAL_DELIVER_FUNCTION, LOCAL_FANOUT_FUNCTION, LOCAL_PING_FUNCTION } from '../../lambda/local/bundled-handlers';
import { InspectableLocalCableServer, startInspectableServer } from '../../lambda/local/local-cable-server';
import { loadBundledHandlersInWorkers } from '../../lambda/local/worker-bundled-handlers';
import { ENVIRONMENT_VARIABLES as V } from '../../src/contract/environment';
import { CABLE_FUNCTIONS, CableFunctionName, FUNCTIONS_DIR } from '../../src/contract/functions';
import { BROADCAST_KEY, RPC_SECRET, startChatApp } from '../e2e/support/rpc-e2e';
import { createChatApp, lambdaRpcHandler, RunningServerlessApp } from '../support/anycable-app/serverless-app';
import { TestDynamo } from '../support/dynalite';
import { SECRET } from '../support/local-server';

/*
 * One run of the shipped bundles behind the local server, each bundle in its own worker with the
 * environment the synthesized template gives its function, its tokens resolved to local values:
 * tables → dynalite tables, function names → the server's invoke names, the callback URL and
 * every AWS endpoint → that function's recording proxy, secret ARNs kept (the proxy serves them).
 */

export const ASSETS = path.join(__dirname, '..', '..', 'assets', FUNCTIONS_DIR);
export const JWT_SECRET = 'iam-check-jwt-secret';
/** What the local run serves for the generated origin secret (what the distribution would send). */
export const ORIGIN_SECRET = 'iam-check-origin-secret';
export { BROADCAST_KEY, SECRET };

/** Changes to a function's environment for one run (timing that AWS's limits keep slow); each is named in the report. */
export type EnvironmentOverrides = Partial<Record<CableFunctionName, Readonly<Record<string, string>>>>;

export interface CableRun {
  readonly server: InspectableLocalCableServer;
  readonly app?: RunningServerlessApp;
  readonly tables: { readonly connectionsTable: string; readonly subscriptionsTable: string };
  readonly environments: Readonly<Record<CableFunctionName, Readonly<Record<string, string>>>>;
  /** While true, the proxies answer invocations of the deliver function with 429. */
  refuseWelcomes: boolean;
  stop(): Promise<void>;
}

export async function startCableRun(props: {
  readonly configuration: IamConfiguration;
  readonly cable: SynthesizedCable;
  readonly dynamo: TestDynamo;
  readonly calls: RecordedCall[];
  readonly overrides?: EnvironmentOverrides;
  readonly port: number;
}): Promise<CableRun> {
  const { configuration, cable, dynamo, calls } = props;
  const tables = await dynamo.createTables('iam');
  const app = configuration.rpc === 'http' ? await startChatApp(props.port) : undefined;
  const logicalIdOf = (variable: string) => cable.functions.connect.environment[variable] ?? cable.functions.message.environment[variable];
  const connectionsId = logicalIdOf(V.connectionsTable);
  const subscriptionsId = logicalIdOf(V.subscriptionsTable);
  const deliverId = cable.functions.deliver.logicalId;
  const fanoutId = cable.functions.fanout.logicalId;
  const pingId = cable.functions.ping.logicalId;
  const callbackUrl = `https://${cable.apiId}.execute-api.${REGION}.amazonaws.com/${cable.stageName}`;
  const rpcArn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${RPC_FUNCTION_NAME}`;

  const secrets = new Map<string, string>();
  for (const [id, resource] of cable.resources) {
    if (resource.type !== 'AWS::SecretsManager::Secret') continue;
    const value = id.startsWith('JwtSecret') ? JWT_SECRET : id.startsWith('CableSecret') ? SECRET : id.startsWith('CableOriginSecret') ? ORIGIN_SECRET : `iam-check-${id}`;
    secrets.set(resource.ref, value);
  }

  const proxies: RecordingProxy[] = [];
  const run: CableRun = {
    refuseWelcomes: false,
  } as CableRun;
  const environments = {} as Record<CableFunctionName, Record<string, string>>;

  const server = await startInspectableServer({
    port: props.port,
    path: `/${cable.stageName}`,
    lambdaAssets: ASSETS,
    logLevel: 'silent',
    settings: { secret: SECRET },
    store: { kind: 'dynamodb', endpoint: dynamo.endpoint, ...tables },
  }, {
    loadBundles: async (dir, serverEnvironment) => {
      const serverUrl = serverEnvironment[V.lambdaEndpoint];
      for (const name of CABLE_FUNCTIONS) {
        proxies.push(await new RecordingProxy(name, {
          dynamodbEndpoint: dynamo.endpoint,
          serverUrl,
          stageArn: `arn:aws:execute-api:${REGION}:${ACCOUNT}:${cable.apiId}/${cable.stageName}`,
          stagePath: `/${cable.stageName}`,
          tables: new Map([
            [tables.connectionsTable, cable.resources.get(connectionsId)!.arn!],
            [tables.subscriptionsTable, cable.resources.get(subscriptionsId)!.arn!],
          ]),
          functions: new Map([
            [LOCAL_DELIVER_FUNCTION, cable.functions.deliver.arn],
            [LOCAL_FANOUT_FUNCTION, cable.functions.fanout.arn],
            [LOCAL_PING_FUNCTION, cable.functions.ping.arn],
            [RPC_FUNCTION_NAME, rpcArn],
            [rpcArn, rpcArn],
          ]),
          secrets,
          rpcFunction: configuration.rpc === 'lambda'
            ? { names: [RPC_FUNCTION_NAME, rpcArn], handler: lambdaRpcHandler(createChatApp({ broadcastUrl: `${serverUrl}/_broadcast`, broadcastKey: BROADCAST_KEY }), { rpcSecret: RPC_SECRET }) as (event: unknown) => Promise<unknown> }
            : undefined,
          refuseInvoke: (functionName) => run.refuseWelcomes && functionName === LOCAL_DELIVER_FUNCTION,
        }, calls).start());
      }
      const local = new Map<string, string>([
        [connectionsId, tables.connectionsTable],
        [subscriptionsId, tables.subscriptionsTable],
        [deliverId, LOCAL_DELIVER_FUNCTION],
        [fanoutId, LOCAL_FANOUT_FUNCTION],
        [pingId, LOCAL_PING_FUNCTION],
        [RPC_URL_IN_TEMPLATE, app?.url ?? RPC_URL_IN_TEMPLATE],
      ]);
      for (const [index, name] of CABLE_FUNCTIONS.entries()) {
        const proxy = proxies[index].url;
        const fromTemplate = Object.fromEntries(Object.entries(cable.functions[name].environment)
          .filter(([variable]) => variable !== 'NODE_OPTIONS')
          .map(([variable, value]) => [variable, value === callbackUrl ? `${proxy}/${cable.stageName}` : local.get(value) ?? value]));
        checkResolved(name, fromTemplate, new Set([...secrets.keys(), rpcArn]));
        environments[name] = {
          ...fromTemplate,
          // What only the local run adds: credentials, endpoints, the local ping period, quiet logs.
          AWS_REGION: REGION,
          AWS_ACCESS_KEY_ID: 'iam-check',
          AWS_SECRET_ACCESS_KEY: 'iam-check',
          // The SDK's notice that it will need Node.js 22 (which Lambda runs), as test/jest.global-setup.ts quiets it.
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          AWS_ENDPOINT_URL_SECRETS_MANAGER: proxy,
          [V.dynamodbEndpoint]: proxy,
          [V.lambdaEndpoint]: proxy,
          [V.pingPeriodSeconds]: serverEnvironment[V.pingPeriodSeconds],
          // Lambda's own: the name the pinger starts its workers with (lambda/aws/aws-runtime.ts).
          ...(name === 'ping' ? { AWS_LAMBDA_FUNCTION_NAME: LOCAL_PING_FUNCTION } : {}),
          [V.logLevel]: process.env.IAM_CHECK_LOG_LEVEL ?? 'silent',
          ...props.overrides?.[name],
        };
      }
      return loadBundledHandlersInWorkers(dir, (name) => environments[name]);
    },
  });
  return Object.assign(run, {
    server,
    app,
    tables,
    environments,
    stop: async () => {
      await server.close();
      await Promise.all(proxies.map((proxy) => proxy.stop()));
      await app?.close();
    },
  });
}

/**
 * Every value that named something in AWS must have become a local one, or be an ARN the proxies
 * serve (secrets, the app's function): a function given an unknown resource fails here, not later.
 */
function checkResolved(name: CableFunctionName, environment: Readonly<Record<string, string>>, served: ReadonlySet<string>): void {
  for (const [variable, value] of Object.entries(environment)) {
    if (!served.has(value) && /amazonaws\.com|arn:aws:|example\.com/.test(value)) {
      throw new Error(`${name}: ${variable}=${value} from the template has no local counterpart`);
    }
  }
}
