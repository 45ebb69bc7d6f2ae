import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { RpcTarget } from '../contract/environment';

/** What the handlers need to reach the app's RPC; `CableRpc._bind()` resolves it. */
export interface CableRpcBinding {
  /** Where the app is (a URL, or a Lambda function by its unqualified ARN) and the call's tuning. */
  readonly target: RpcTarget;
  /** Handshake headers passed to the app. */
  readonly headers?: string[];
  /** Cookies passed to the app. */
  readonly cookies?: string[];
  /** The RPC key, when given (else derived from the common secret). */
  readonly secret?: secretsmanager.ISecret;
}
