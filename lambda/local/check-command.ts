import { CheckCommandOptions } from './check-options';
import { formatCheckReport } from '../check/check-report';
import { runCheck } from '../check/check-scenario';
import { readCableSecret } from '../check/check-secret';
import { deriveKey } from '../core/config';

/** Where `cdk-cable check` writes. */
export interface CheckIo {
  out(line: string): void;
  err(line: string): void;
}

/** `cdk-cable check`: resolves the secret, runs the scenario, prints it; 0 when every step held, 1 otherwise. */
export async function runCheckCommand(options: CheckCommandOptions, io: CheckIo): Promise<number> {
  let secret = options.secret;
  if (options.secretArn !== undefined) {
    try {
      secret = await readCableSecret(options.secretArn);
    } catch (error) {
      io.err(`cdk-cable check: could not read --secret_arn ${options.secretArn}: ${error instanceof Error ? error.message : String(error)}`);
      io.err('  The secret is read with the AWS SDK\'s default credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, SSO, ...), which need '
        + 'secretsmanager:GetSecretValue on it; or pass its value with --secret');
      return 1;
    }
  }
  const report = await runCheck(options.url, {
    turboStreamsSecret: options.turboStreamsSecret ?? secret,
    broadcastUrl: options.broadcastUrl,
    broadcastKey: options.broadcastKey ?? deriveKey(secret, 'broadcast-cable'),
    origin: options.origin,
    timeoutMs: options.timeoutMs,
  });
  if (options.json) {
    io.out(JSON.stringify(report, undefined, 2));
  } else {
    for (const line of formatCheckReport(report)) io.out(line);
  }
  return report.ok ? 0 : 1;
}
