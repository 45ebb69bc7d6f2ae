import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Identification } from './identification';
import { acknowledgeConnectionsWildcard } from './nag';
import { SUBSCRIPTIONS_TABLE } from '../contract/table-schema';

export interface LeastPrivilegeProps {
  readonly connect: lambda.Function;
  readonly message: lambda.Function;
  readonly disconnect: lambda.Function;
  readonly deliver: lambda.Function;
  readonly connectionsTable: dynamodb.ITable;
  readonly subscriptionsTable: dynamodb.ITable;
  /** `execute-api` ARN of `method` on the stage's `@connections/*`. */
  readonly connectionsArn: (method: string) => string;
  /** The common secret. */
  readonly secret: secretsmanager.ISecret;
  /** Keys of signed stream names, when given apart from the common secret. */
  readonly streamSecrets: (secretsmanager.ISecret | undefined)[];
  readonly identification: Identification;
}

/** Each route function gets only the table actions, connection operations and secrets it uses. */
export function grantLeastPrivilege(props: LeastPrivilegeProps): void {
  const { connect, message, disconnect, deliver, identification } = props;
  const connectionsArn = props.connectionsTable.tableArn;
  const subscriptionsArn = props.subscriptionsTable.tableArn;
  const byConnectionArn = `${subscriptionsArn}/index/${SUBSCRIPTIONS_TABLE.byConnectionIndex}`;
  const allow = (fn: lambda.Function, actions: string[], resources: string[]) =>
    fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));

  allow(connect, ['dynamodb:PutItem'], [connectionsArn]);
  allow(connect, ['lambda:InvokeFunction'], [deliver.functionArn]);

  allow(message, ['dynamodb:PutItem', 'dynamodb:BatchWriteItem'], [subscriptionsArn]);
  allow(message, ['dynamodb:Query'], [byConnectionArn]);

  allow(disconnect, ['dynamodb:DeleteItem'], [connectionsArn]);
  allow(disconnect, ['dynamodb:BatchWriteItem'], [subscriptionsArn]);
  allow(disconnect, ['dynamodb:Query'], [byConnectionArn]);

  allow(message, ['execute-api:ManageConnections'], [props.connectionsArn('POST'), props.connectionsArn('DELETE')]);
  allow(deliver, ['execute-api:ManageConnections'], [props.connectionsArn('POST')]);
  acknowledgeConnectionsWildcard(message);
  acknowledgeConnectionsWildcard(deliver);

  // The message handler verifies signed stream names; `$connect` verifies tokens (JWT, keyed by
  // `secret` by default) and, like the others with RPC, signs its requests.
  for (const secret of [props.secret, ...props.streamSecrets]) secret?.grantRead(message);
  for (const secret of [props.secret, ...identification.jwtSecrets, ...identification.rpcSecrets]) secret.grantRead(connect);
  const { rpc } = identification;
  if (!rpc) return;
  for (const secret of identification.rpcSecrets) secret.grantRead(message);
  for (const secret of [props.secret, ...identification.rpcSecrets]) secret.grantRead(disconnect);
  // App channels keep their streams and state on the connection row.
  // The disconnect handler's row comes back from its DeleteItem (ALL_OLD): no GetItem.
  allow(message, ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [connectionsArn]);
  for (const fn of [connect, message, disconnect]) rpc.grant(fn);
}

/**
 * With RPC, the functions that may find a connection gone before its `$disconnect` (broadcast,
 * fan-out, ping) tell the app themselves (lambda/core/forget-connection.ts): they learn where it
 * is and may read the key its requests carry.
 */
export function allowTellingTheApp(fns: lambda.Function[], secret: secretsmanager.ISecret, identification: Identification): void {
  const { rpc } = identification;
  if (!rpc) return;
  for (const fn of fns) {
    const environment = { CABLE_SECRET_ARN: secret.secretArn, ...identification.rpcEnvironment };
    for (const [name, value] of Object.entries(environment)) fn.addEnvironment(name, value);
    for (const key of [secret, ...identification.rpcSecrets]) key.grantRead(fn);
    rpc.grant(fn);
  }
}
