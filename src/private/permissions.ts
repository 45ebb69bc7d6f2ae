import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { CableApi, connectionsArn } from './api';
import type { CableFunctions } from './functions';
import { Identification, jwtSecrets, rpcSecrets } from './identification';
import { acknowledgeConnectionsWildcard } from './nag';
import type { CableSecrets } from './secrets';
import type { CableTables } from './tables';
import { CONNECTIONS_TABLE, SUBSCRIPTIONS_TABLE } from '../contract/table-schema';

/*
 * Every IAM permission of the cable, in one place: each function gets only the table actions,
 * connection operations, invocations and secrets it uses, on this cable's resources only.
 */

export interface PermissionsWiring {
  readonly functions: CableFunctions;
  readonly tables: CableTables;
  readonly api: CableApi;
  readonly secrets: CableSecrets;
  readonly identification: Identification;
}

export function create(_scope: Construct, wiring: PermissionsWiring): void {
  grantRouteFunctions(wiring);
  grantBroadcastFunctions(wiring);
  grantPinger(wiring);
  allowTellingTheApp(wiring);
}

/** Lets `grantee` broadcast by invoking the broadcast function directly (`grantBroadcast`). */
export function grantBroadcast(functions: CableFunctions, grantee: iam.IGrantable): iam.Grant {
  return functions.broadcast.grantInvoke(grantee);
}

/** Lets `grantee` post to, inspect and close the stage's connections (`grantManageConnections`). */
export function grantManageConnections(api: CableApi, grantee: iam.IGrantable): iam.Grant {
  return api.stage.grantManagementApiAccess(grantee);
}

function allow(fn: lambda.Function, actions: string[], resources: string[]): void {
  fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
}

function readSecrets(fn: lambda.Function, secrets: (secretsmanager.ISecret | undefined)[]): void {
  for (const secret of secrets) secret?.grantRead(fn);
}

/** Lets `fn` reach the app's RPC: invoke the app's function (its unqualified ARN, not every version and alias). */
function reachTheApp(fn: lambda.Function, identification: Identification): void {
  const target = identification.rpc?.target;
  if (target?.kind !== 'lambda') return;
  iam.Grant.addToPrincipal({ grantee: fn, actions: ['lambda:InvokeFunction'], resourceArns: [target.functionName] });
}

/** `$connect`, `$default` and `$disconnect`, and the deliver function `$connect` starts. */
function grantRouteFunctions(wiring: PermissionsWiring): void {
  const { functions: { connect, message, disconnect, deliver }, tables, api, secrets, identification } = wiring;
  const connectionsTable = tables.connections.tableArn;
  const subscriptionsTable = tables.subscriptions.tableArn;
  const byConnection = `${subscriptionsTable}/index/${SUBSCRIPTIONS_TABLE.byConnectionIndex}`;

  allow(connect, ['dynamodb:PutItem'], [connectionsTable]);
  allow(connect, ['lambda:InvokeFunction'], [deliver.functionArn]);

  allow(message, ['dynamodb:PutItem', 'dynamodb:BatchWriteItem'], [subscriptionsTable]);
  allow(message, ['dynamodb:Query'], [byConnection]);

  allow(disconnect, ['dynamodb:DeleteItem'], [connectionsTable]);
  allow(disconnect, ['dynamodb:BatchWriteItem'], [subscriptionsTable]);
  allow(disconnect, ['dynamodb:Query'], [byConnection]);

  allow(message, ['execute-api:ManageConnections'], [connectionsArn(api, 'POST'), connectionsArn(api, 'DELETE')]);
  allow(deliver, ['execute-api:ManageConnections'], [connectionsArn(api, 'POST')]);
  acknowledgeConnectionsWildcard(message);
  acknowledgeConnectionsWildcard(deliver);

  // The message handler verifies signed stream names; `$connect` verifies tokens (JWT, keyed by
  // `secret` by default) and, like the others with RPC, signs its requests.
  readSecrets(message, [secrets.secret, secrets.turboStreamsSecret, secrets.streamsSecret]);
  readSecrets(connect, [secrets.secret, ...jwtSecrets(identification), ...rpcSecrets(identification)]);
  if (!identification.rpc) return;
  readSecrets(message, rpcSecrets(identification));
  readSecrets(disconnect, [secrets.secret, ...rpcSecrets(identification)]);
  // App channels keep their streams and state on the connection row.
  // The disconnect handler's row comes back from its DeleteItem (ALL_OLD): no GetItem.
  allow(message, ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [connectionsTable]);
  for (const fn of [connect, message, disconnect]) reachTheApp(fn, identification);
}

/** The broadcast entry point and the fan-out worker. */
function grantBroadcastFunctions(wiring: PermissionsWiring): void {
  const { functions: { broadcast, fanout }, tables, api, secrets } = wiring;
  const subscriptionsTable = tables.subscriptions.tableArn;
  for (const fn of [broadcast, fanout]) {
    allow(fn, ['dynamodb:Query', 'dynamodb:BatchWriteItem'], [subscriptionsTable]);
    // A connection found gone (410) is cleaned up: its subscriptions through the index, then its row.
    allow(fn, ['dynamodb:Query'], [`${subscriptionsTable}/index/${SUBSCRIPTIONS_TABLE.byConnectionIndex}`]);
    allow(fn, ['dynamodb:DeleteItem'], [tables.connections.tableArn]);
    allow(fn, ['execute-api:ManageConnections'], [connectionsArn(api, 'POST')]);
    acknowledgeConnectionsWildcard(fn);
  }
  allow(broadcast, ['lambda:InvokeFunction'], [fanout.functionArn]);
  // AnyCable's remote disconnect: find the connections of an identifiers JSON, then close them.
  allow(broadcast, ['dynamodb:Query'], [`${tables.connections.tableArn}/index/${CONNECTIONS_TABLE.byIdentifiersIndex}`]);
  allow(broadcast, ['execute-api:ManageConnections'], [connectionsArn(api, 'DELETE')]);
  readSecrets(broadcast, [secrets.secret, secrets.turboStreamsSecret, secrets.streamsSecret, secrets.broadcastKey]);
}

/** The pinger scans only the slim `pings` index, posts pings and closes old connections. */
function grantPinger(wiring: PermissionsWiring): void {
  const { functions: { ping }, tables, api } = wiring;
  allow(ping, ['dynamodb:Scan'], [`${tables.connections.tableArn}/index/${CONNECTIONS_TABLE.pingsIndex}`]);
  allow(ping, ['dynamodb:DeleteItem'], [tables.connections.tableArn]);
  allow(ping, ['dynamodb:BatchWriteItem'], [tables.subscriptions.tableArn]);
  allow(ping, ['dynamodb:Query'], [`${tables.subscriptions.tableArn}/index/${SUBSCRIPTIONS_TABLE.byConnectionIndex}`]);
  allow(ping, ['execute-api:ManageConnections'], [connectionsArn(api, 'POST'), connectionsArn(api, 'DELETE')]);
  acknowledgeConnectionsWildcard(ping);
}

/**
 * With RPC, the functions that may find a connection gone before its `$disconnect` (broadcast,
 * fan-out, ping) tell the app themselves (lambda/core/forget-connection.ts): they may read the
 * key its requests carry and reach it.
 */
function allowTellingTheApp(wiring: PermissionsWiring): void {
  const { functions: { broadcast, fanout, ping }, secrets, identification } = wiring;
  if (!identification.rpc) return;
  for (const fn of [broadcast, fanout, ping]) {
    readSecrets(fn, [secrets.secret, ...rpcSecrets(identification)]);
    reachTheApp(fn, identification);
  }
}
