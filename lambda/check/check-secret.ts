import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readSecretValue } from '../adapters/secrets/read-secret-value';

/**
 * The cable secret from Secrets Manager (the CableSecretArn output), read with the AWS SDK's
 * default credentials. The client's region is the ARN's, so the check needs no AWS_REGION.
 */
export async function readCableSecret(secretArn: string, client?: SecretsManagerClient): Promise<string> {
  const region = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):/.exec(secretArn)?.[1];
  return readSecretValue(client ?? new SecretsManagerClient(region ? { region } : {}), secretArn);
}
