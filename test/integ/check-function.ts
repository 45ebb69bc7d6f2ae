import { formatCheckReport } from '../../lambda/check/check-report';
import { runCheck } from '../../lambda/check/check-scenario';
import { readCableSecret } from '../../lambda/check/check-secret';
import { CheckSocket } from '../../lambda/check/check-socket';
import { deriveKey } from '../../lambda/core/config';
import { ACTIONCABLE_SUBPROTOCOL } from '../../lambda/core/protocol';

/** How long the warm-up waits for the pinger: EventBridge starts it at most a minute after the deploy. */
const WARM_UP_MS = 65_000;

/**
 * The integration test's function (test/integ/integ.cable.ts): runs `cdk-cable check`'s scenario
 * against the deployed cable from inside AWS and answers "ok" when every step passed (skipped
 * ones included: the integ test gives it the secret and the broadcast URL, so none should be),
 * or the report's text, which the failed assertion then shows.
 *
 * A warm-up connection first waits for its welcome and its first ping: right after a deploy the
 * deliver function is cold (the check wants the welcome within 1 s) and the pinger has not been
 * started by its once-a-minute schedule yet. A running cable has neither problem.
 */
export async function handler(): Promise<string> {
  const url = required('CHECK_URL');
  const secret = await readCableSecret(required('CHECK_SECRET_ARN'));
  await warmUp(url);
  const report = await runCheck(url, {
    turboStreamsSecret: secret,
    broadcastUrl: required('CHECK_BROADCAST_URL'),
    broadcastKey: deriveKey(secret, 'broadcast-cable'),
  });
  const text = formatCheckReport(report).join('\n');
  console.log(text);
  return report.steps.every((step) => step.status === 'pass') ? 'ok' : text;
}

async function warmUp(url: string): Promise<void> {
  const opened = await CheckSocket.open(url, { subprotocol: ACTIONCABLE_SUBPROTOCOL, timeoutMs: 10_000 });
  if (opened.kind !== 'open') return; // the check's handshake step reports it
  const type = (wanted: string) => (json: unknown) => (json as { type?: unknown } | undefined)?.type === wanted;
  await opened.socket.next(type('welcome'), 15_000);
  await opened.socket.next(type('ping'), WARM_UP_MS);
  await opened.socket.close(5_000);
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}
