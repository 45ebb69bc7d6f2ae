import { Token } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CableRpcBinding } from './rpc-binding';

export interface IdentificationSecrets {
  /** Secrets beyond the common one that identification reads (JWT key, RPC key). */
  readonly secrets: secretsmanager.ISecret[];
  readonly rpc?: CableRpcBinding;
}

/** The environment of JWT identification and RPC (names: lambda/handlers/environment.ts). */
export function identificationEnvironment(props: {
  readonly rpc?: CableRpcBinding;
  readonly jwtSecret?: secretsmanager.ISecret;
  readonly jwtParam?: string;
  readonly enforceJwt?: boolean;
}): IdentificationSecrets & { readonly environment: Record<string, string> } {
  const { rpc, jwtSecret, jwtParam, enforceJwt } = props;
  if (jwtParam !== undefined && !Token.isUnresolved(jwtParam) && !/^[A-Za-z0-9_-]+$/.test(jwtParam)) {
    throw new Error(`\`jwtParam\` must be a query parameter and header name of letters, digits, "_" or "-", got "${jwtParam}"`);
  }
  const rpcSecret = rpc?.secret;
  return {
    rpc,
    secrets: [jwtSecret, rpcSecret].filter((secret): secret is secretsmanager.ISecret => secret !== undefined),
    environment: {
      ...rpc?.environment,
      ...(rpcSecret ? { CABLE_HTTP_RPC_SECRET_ARN: rpcSecret.secretArn } : {}),
      ...(jwtSecret ? { CABLE_JWT_SECRET_ARN: jwtSecret.secretArn } : {}),
      ...(jwtParam !== undefined ? { CABLE_JWT_PARAM: jwtParam } : {}),
      ...(enforceJwt !== undefined ? { CABLE_ENFORCE_JWT: String(enforceJwt) } : {}),
    },
  };
}
