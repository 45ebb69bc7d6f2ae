import { Token } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CableRpcBinding } from './rpc-binding';

/** What each handler needs for identification; each gets only its own part (least privilege). */
export interface Identification {
  readonly rpc?: CableRpcBinding;
  /** RPC settings and key: connect, message and disconnect, when there is RPC. */
  readonly rpcEnvironment: Record<string, string>;
  readonly rpcSecrets: secretsmanager.ISecret[];
  /** JWT settings and key: connect only. */
  readonly jwtEnvironment: Record<string, string>;
  readonly jwtSecrets: secretsmanager.ISecret[];
}

/** The environment of JWT identification and RPC (names: lambda/handlers/environment.ts). */
export function identification(props: {
  readonly rpc?: CableRpcBinding;
  readonly jwtSecret?: secretsmanager.ISecret;
  readonly jwtParam?: string;
  readonly enforceJwt?: boolean;
}): Identification {
  const { rpc, jwtSecret, jwtParam, enforceJwt } = props;
  if (jwtParam !== undefined && !Token.isUnresolved(jwtParam) && !/^[A-Za-z0-9_-]+$/.test(jwtParam)) {
    throw new Error(`\`jwtParam\` must be a query parameter and header name of letters, digits, "_" or "-", got "${jwtParam}"`);
  }
  const rpcSecret = rpc?.secret;
  return {
    rpc,
    rpcEnvironment: rpc ? { ...rpc.environment, ...(rpcSecret ? { CABLE_HTTP_RPC_SECRET_ARN: rpcSecret.secretArn } : {}) } : {},
    rpcSecrets: rpcSecret ? [rpcSecret] : [],
    jwtEnvironment: {
      ...(jwtSecret ? { CABLE_JWT_SECRET_ARN: jwtSecret.secretArn } : {}),
      ...(jwtParam !== undefined ? { CABLE_JWT_PARAM: jwtParam } : {}),
      ...(enforceJwt !== undefined ? { CABLE_ENFORCE_JWT: String(enforceJwt) } : {}),
    },
    jwtSecrets: jwtSecret ? [jwtSecret] : [],
  };
}
