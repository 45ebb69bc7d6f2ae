import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

/** What the handlers need to reach the app's RPC; `CableRpc._bind()` resolves it. */
export interface CableRpcBinding {
  /** Environment of the connect, message and disconnect functions. */
  readonly environment: Record<string, string>;
  /** The RPC key, when given (else derived from the common secret). */
  readonly secret?: secretsmanager.ISecret;
  /** Lets a function reach the app (invoke, for a Lambda app). */
  readonly grant: (grantee: iam.IGrantable) => void;
}
