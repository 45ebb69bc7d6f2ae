import { Token } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CableRpcBinding } from './rpc-binding';
import type { CableWebSocketApiProps } from '../cable-websocket-api-props';

/** How connections are identified: the app's RPC and JWT tokens. Each handler gets only its own part (least privilege). */
export interface Identification {
  /** The app's RPC: connect, message and disconnect, and whoever tells the app of a gone connection. */
  readonly rpc?: CableRpcBinding;
  /** JWT settings and key: connect only. */
  readonly jwtSecret?: secretsmanager.ISecret;
  readonly jwtParam?: string;
  readonly enforceJwt?: boolean;
}

export function settings(props: CableWebSocketApiProps): Identification {
  const { jwtSecret, jwtParam, enforceJwt } = props;
  if (jwtParam !== undefined && !Token.isUnresolved(jwtParam) && !/^[A-Za-z0-9_-]+$/.test(jwtParam)) {
    throw new Error(`\`jwtParam\` must be a query parameter and header name of letters, digits, "_" or "-", got "${jwtParam}"`);
  }
  return { rpc: props.rpc?._bind(), jwtSecret, jwtParam, enforceJwt };
}

/** The RPC key, when given apart from the common secret. */
export function rpcSecrets(identification: Identification): secretsmanager.ISecret[] {
  const secret = identification.rpc?.secret;
  return secret ? [secret] : [];
}

/** The JWT key, when given apart from the common secret. */
export function jwtSecrets(identification: Identification): secretsmanager.ISecret[] {
  return identification.jwtSecret ? [identification.jwtSecret] : [];
}
