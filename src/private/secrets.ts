import { RemovalPolicy } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from './nag';
import type { CableWebSocketApiProps } from '../cable-websocket-api-props';

/** The keys of signed stream names and of the broadcast API (JWT and RPC keys: identification.ts). */
export interface CableSecrets {
  /** The common secret, given or generated. */
  readonly secret: secretsmanager.ISecret;
  readonly turboStreamsSecret?: secretsmanager.ISecret;
  readonly streamsSecret?: secretsmanager.ISecret;
  readonly broadcastKey?: secretsmanager.ISecret;
  /** What a fronting distribution sends `$connect` to prove a request came through it; none: no origin verification. */
  readonly originSecret?: secretsmanager.ISecret;
}

export type SecretsSettings = Partial<CableSecrets> & {
  /** Of the generated secret, as of the tables: the Rails app shares its value. */
  readonly removalPolicy: RemovalPolicy;
};

export function settings(props: CableWebSocketApiProps): SecretsSettings {
  const { secret, turboStreamsSecret, streamsSecret, broadcastKey } = props;
  return { secret, turboStreamsSecret, streamsSecret, broadcastKey, removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN };
}

/** The given secrets, with the common secret generated when none is given. */
export function create(scope: Construct, options: SecretsSettings): CableSecrets {
  const { removalPolicy, ...given } = options;
  return { ...given, secret: options.secret ?? generateSecret(scope, removalPolicy) };
}

function generateSecret(scope: Construct, removalPolicy: RemovalPolicy): secretsmanager.Secret {
  const secret = new secretsmanager.Secret(scope, 'Secret', {
    description: 'cdk-cable common secret: Turbo signed stream names and $pubsub signed streams',
    generateSecretString: { passwordLength: 64, excludePunctuation: true },
    removalPolicy,
  });
  acknowledge(secret, [{
    id: 'AwsSolutions-SMG4',
    reason: 'The Rails app signs stream names with the same value; rotating it here alone would reject every page rendered before. Rotate both together by updating the secret.',
  }]);
  return secret;
}
