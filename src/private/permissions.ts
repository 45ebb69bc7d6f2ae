import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { CableApi, connectionsArn } from './api';
import type { CableFunctions } from './functions';
import { Identification } from './identification';
import { acknowledgeConnectionsWildcard } from './nag';
import type { CableSecrets } from './secrets';
import type { CableTables } from './tables';
import type { SecretName } from '../contract/environment';
import { CABLE_FUNCTIONS, CableFunctionName } from '../contract/functions';
import { PERMISSIONS, PermissionCondition, PermissionResource, tableKeyActions } from '../contract/permissions';

/*
 * Every IAM permission of the cable's functions, granted from the manifest
 * (src/contract/permissions.ts) and nowhere else; `npx projen iam:check` proves it against the
 * calls the bundled functions make.
 *
 * Chosen over the tables' and secrets' grant*() methods, which are broader than the code needs:
 * grantReadData/grantWriteData allow a dozen actions on the table and every index, and a
 * secret's grantRead adds secretsmanager:DescribeSecret, which no function calls. The KMS
 * actions a customer managed table key needs are granted here too, per function, from what it
 * does with the table.
 */

export interface PermissionsWiring {
  readonly functions: CableFunctions;
  readonly tables: CableTables;
  readonly api: CableApi;
  readonly secrets: CableSecrets;
  readonly identification: Identification;
}

export function create(scope: Construct, wiring: PermissionsWiring): void {
  for (const name of CABLE_FUNCTIONS) grantFunction(scope, name, wiring);
}

/** Whether a need's condition holds for these props. */
export function applies(when: PermissionCondition | undefined, identification: Identification): boolean {
  const { rpc } = identification;
  switch (when) {
    case undefined: return true;
    case 'rpc': return rpc !== undefined;
    case 'rpcFunction': return rpc?.target.kind === 'lambda';
    case 'identification': return rpc !== undefined || identification.enforceJwt === true;
  }
}

/** The secrets `name` reads, as the manifest lists them, that these props configure. */
export function secretsRead(name: CableFunctionName, secrets: CableSecrets, identification: Identification): Map<SecretName, secretsmanager.ISecret> {
  const read = new Map<SecretName, secretsmanager.ISecret>();
  for (const need of PERMISSIONS[name].secrets) {
    const secret = secretOf(need.secret, secrets, identification);
    if (secret && applies(need.when, identification)) read.set(need.secret, secret);
  }
  return read;
}

/** Lets `grantee` broadcast by invoking the broadcast function directly (`grantBroadcast`). */
export function grantBroadcast(functions: CableFunctions, grantee: iam.IGrantable): iam.Grant {
  return functions.broadcast.grantInvoke(grantee);
}

/** Lets `grantee` post to, inspect and close the stage's connections (`grantManageConnections`). */
export function grantManageConnections(api: CableApi, grantee: iam.IGrantable): iam.Grant {
  return api.stage.grantManagementApiAccess(grantee);
}

function grantFunction(scope: Construct, name: CableFunctionName, wiring: PermissionsWiring): void {
  const fn = wiring.functions[name];
  const keyActions = new Set<string>();
  let postsToConnections = false;
  for (const need of PERMISSIONS[name].needs) {
    if (!applies(need.when, wiring.identification)) continue;
    const resource = arnOf(need.resource, wiring);
    if (resource === undefined) continue;
    const statement = new iam.PolicyStatement({ actions: [...need.actions], resources: [resource] });
    if (need.resource.kind === 'function' && need.resource.function === name) grantOnItself(scope, fn, statement);
    else fn.addToRolePolicy(statement);
    if (need.resource.kind === 'table') tableKeyActions(need.actions).forEach((action) => keyActions.add(action));
    if (need.resource.kind === 'connections') postsToConnections = true;
  }
  // Both tables share one key (tables.ts); DynamoDB uses it on the caller's behalf.
  const key = wiring.tables.connections.encryptionKey;
  if (key && keyActions.size > 0) key.grant(fn, ...[...keyActions].sort());
  if (postsToConnections) acknowledgeConnectionsWildcard(fn);
  for (const secret of secretsRead(name, wiring.secrets, wiring.identification).values()) readSecret(fn, secret);
}

/**
 * A permission on the function itself (the pinger starting its workers), in a policy of its own:
 * in the role's default policy, which the function depends on, its own ARN would be a cycle.
 */
function grantOnItself(scope: Construct, fn: lambda.Function, statement: iam.PolicyStatement): void {
  const id = `${fn.node.id}SelfInvokePolicy`;
  const policy = (scope.node.tryFindChild(id) as iam.Policy | undefined) ?? new iam.Policy(scope, id, { roles: [fn.role!] });
  policy.addStatements(statement);
}

function arnOf(resource: PermissionResource, wiring: PermissionsWiring): string | undefined {
  switch (resource.kind) {
    case 'table': {
      const { tableArn } = wiring.tables[resource.table];
      return resource.index ? `${tableArn}/index/${resource.index}` : tableArn;
    }
    case 'connections': return connectionsArn(wiring.api, resource.method);
    case 'function': return wiring.functions[resource.function].functionArn;
    // The unqualified ARN the handlers invoke, not grantInvoke's `:*` (every version and alias).
    case 'rpcFunction': {
      const target = wiring.identification.rpc?.target;
      return target?.kind === 'lambda' ? target.functionName : undefined;
    }
  }
}

function secretOf(name: SecretName, secrets: CableSecrets, identification: Identification): secretsmanager.ISecret | undefined {
  switch (name) {
    case 'secret': return secrets.secret;
    case 'turboStreamsSecret': return secrets.turboStreamsSecret;
    case 'streamsSecret': return secrets.streamsSecret;
    case 'broadcastKey': return secrets.broadcastKey;
    case 'jwtSecret': return identification.jwtSecret;
    case 'httpRpcSecret': return identification.rpc?.secret;
    case 'originSecret': return secrets.originSecret;
  }
}

/**
 * `secretsmanager:GetSecretValue` only (grantRead adds DescribeSecret, which no function calls).
 * A secret imported by name has no full ARN: Secrets Manager appends six characters to it.
 */
function readSecret(fn: lambda.Function, secret: secretsmanager.ISecret): void {
  const arn = secret.secretFullArn ?? `${secret.secretArn}-??????`;
  iam.Grant.addToPrincipal({ grantee: fn, actions: ['secretsmanager:GetSecretValue'], resourceArns: [arn] });
  secret.encryptionKey?.grantDecrypt(fn);
}
