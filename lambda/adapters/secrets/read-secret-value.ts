import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CableConfigError } from '../../core/errors';

/** The secret's current string value, used as is (not parsed as JSON): it is the key itself. */
export async function readSecretValue(client: SecretsManagerClient, secretId: string): Promise<string> {
  const { SecretString: value } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  if (value === undefined) {
    throw new CableConfigError(`secret ${secretId} has no SecretString (binary secrets are not supported): store the key as a plain text secret`);
  }
  return value;
}
