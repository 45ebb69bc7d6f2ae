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
  /** Of the generated secrets, as of the tables: the Rails app shares the common secret's value. */
  readonly removalPolicy: RemovalPolicy;
  /** Origin verification is on (`distribution` or `originVerification`): an origin secret is needed. */
  readonly verifiesOrigin: boolean;
};

export function settings(props: CableWebSocketApiProps): SecretsSettings {
  const { secret, turboStreamsSecret, streamsSecret, broadcastKey } = props;
  const verifiesOrigin = props.distribution !== undefined || props.originVerification !== undefined;
  const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
  return { secret, turboStreamsSecret, streamsSecret, broadcastKey, removalPolicy, verifiesOrigin, originSecret: props.originVerification?.secret };
}

/** The given secrets, with the common secret (and the origin secret, when needed) generated when none is given. */
export function create(scope: Construct, options: SecretsSettings): CableSecrets {
  const { removalPolicy, verifiesOrigin, ...given } = options;
  const originSecret = verifiesOrigin ? options.originSecret ?? generateOriginSecret(scope, removalPolicy) : undefined;
  return { ...given, secret: options.secret ?? generateSecret(scope, removalPolicy), ...(originSecret ? { originSecret } : {}) };
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

/**
 * Letters and digits only: CloudFront sends it as a header value, and CloudFormation puts it
 * into the distribution's configuration through a dynamic reference (cloudfront.ts).
 */
function generateOriginSecret(scope: Construct, removalPolicy: RemovalPolicy): secretsmanager.Secret {
  const secret = new secretsmanager.Secret(scope, 'OriginSecret', {
    description: 'cdk-cable origin verification: the header value CloudFront sends $connect',
    generateSecretString: { passwordLength: 64, excludePunctuation: true },
    removalPolicy,
  });
  acknowledge(secret, [{
    id: 'AwsSolutions-SMG4',
    reason: 'The distribution takes the value at deployment (a CloudFormation dynamic reference); a rotation outside a deployment would make $connect refuse every request until the distribution is updated.',
  }]);
  return secret;
}
