import { Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ACCOUNT, REGION } from './template';
import { CableRpc, CableWebSocketApi } from '../../src';

/** The RPC URL the template carries; the check points it at the local app. */
export const RPC_URL_IN_TEMPLATE = 'https://app.example.com/_anycable';
/** The Lambda-hosted app's name; the proxies answer its invocations with the chat app. */
export const RPC_FUNCTION_NAME = 'rails-app';

/** One way to configure the construct, and what its scenarios can exercise. */
export interface IamConfiguration {
  readonly name: string;
  readonly build: (stack: Stack) => CableWebSocketApi;
  /** How the app's RPC is reached, if at all. */
  readonly rpc?: 'http' | 'lambda';
  /** A `jwtSecret` is configured (connections may identify with `?jid=`). */
  readonly jwt?: boolean;
  /** `enforceJwt`: a connection without a valid token is refused. */
  readonly enforceJwt?: boolean;
  /** Origin verification (a distribution): only requests carrying the origin header are served. */
  readonly originVerification?: boolean;
  /** `streamsWhisper`: clients may whisper on signed `$pubsub` streams (the message function invokes fan-out). */
  readonly streamsWhisper?: boolean;
  /** `streamsPresence`: clients may join presence on signed `$pubsub` streams. */
  readonly streamsPresence?: boolean;
}

const jwtSecret = (stack: Stack) => new secretsmanager.Secret(stack, 'JwtSecret');

export const CONFIGURATIONS: readonly IamConfiguration[] = [
  {
    name: 'default props',
    build: (stack) => new CableWebSocketApi(stack, 'Cable'),
  },
  {
    name: 'rpc: CableRpc.fromUrl + jwtSecret',
    rpc: 'http',
    jwt: true,
    build: (stack) => new CableWebSocketApi(stack, 'Cable', { rpc: CableRpc.fromUrl(RPC_URL_IN_TEMPLATE), jwtSecret: jwtSecret(stack) }),
  },
  {
    name: 'rpc: CableRpc.fromFunction',
    rpc: 'lambda',
    build: (stack) => new CableWebSocketApi(stack, 'Cable', {
      rpc: CableRpc.fromFunction(lambda.Function.fromFunctionArn(stack, 'RailsApp', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${RPC_FUNCTION_NAME}`)),
    }),
  },
  {
    name: 'tableEncryptionKey + jwtSecret + enforceJwt + streamsWhisper + streamsPresence',
    jwt: true,
    enforceJwt: true,
    streamsWhisper: true,
    streamsPresence: true,
    build: (stack) => new CableWebSocketApi(stack, 'Cable', {
      tableEncryptionKey: new kms.Key(stack, 'TableKey'),
      jwtSecret: jwtSecret(stack),
      enforceJwt: true,
      streamsWhisper: true,
      streamsPresence: true,
    }),
  },
  {
    // Its own scenarios (ORIGIN_SCENARIOS): the stock consumer cannot send the distribution's header.
    name: 'distribution (origin verification)',
    originVerification: true,
    build: (stack) => new CableWebSocketApi(stack, 'Cable', { distribution: {} }),
  },
];
