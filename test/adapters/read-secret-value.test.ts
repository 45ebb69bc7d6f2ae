import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readSecretValue } from '../../lambda/adapters/secrets/read-secret-value';
import { CableConfigError } from '../../lambda/core/errors';

/** A stand-in for Secrets Manager's JSON 1.1 API: GetSecretValue by id. */
class FakeSecretsManager {
  readonly requests: Array<{ target: string | undefined; body: Record<string, unknown>; headers: IncomingHttpHeaders }> = [];
  readonly secrets = new Map<string, { SecretString?: string; SecretBinary?: string }>();
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      const target = req.headers['x-amz-target'] as string | undefined;
      this.requests.push({ target, body, headers: req.headers });
      const secret = this.secrets.get(body.SecretId);
      if (target !== 'secretsmanager.GetSecretValue' || !secret) {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' })
          .end(JSON.stringify({ __type: 'ResourceNotFoundException', Message: "Secrets Manager can't find the specified secret." }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' })
        .end(JSON.stringify({ ARN: body.SecretId, Name: body.SecretId, VersionId: 'v1', ...secret }));
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('readSecretValue', () => {
  const fake = new FakeSecretsManager();
  let client: SecretsManagerClient;

  beforeAll(async () => {
    client = new SecretsManagerClient({ endpoint: await fake.start(), region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  });

  afterAll(async () => {
    client.destroy();
    await fake.stop();
  });

  test('readSecretValue: returns the SecretString as is, even when it looks like JSON', async () => {
    fake.secrets.set('cable/plain', { SecretString: 'k3y-with-ünïcode' });
    fake.secrets.set('cable/json', { SecretString: '{"not":"parsed"}' });
    expect(await readSecretValue(client, 'cable/plain')).toBe('k3y-with-ünïcode');
    expect(await readSecretValue(client, 'cable/json')).toBe('{"not":"parsed"}');
    expect(fake.requests.at(-1)).toMatchObject({ target: 'secretsmanager.GetSecretValue', body: { SecretId: 'cable/json' } });
  });

  test('readSecretValue: a binary-only secret is a configuration error naming the secret', async () => {
    fake.secrets.set('cable/binary', { SecretBinary: Buffer.from('key').toString('base64') });
    const read = readSecretValue(client, 'cable/binary');
    await expect(read).rejects.toThrow(CableConfigError);
    await expect(readSecretValue(client, 'cable/binary')).rejects.toThrow(/cable\/binary has no SecretString/);
  });

  test('readSecretValue: a missing secret propagates the service error', async () => {
    await expect(readSecretValue(client, 'cable/missing')).rejects.toThrow(/can't find the specified secret/);
  });
});
