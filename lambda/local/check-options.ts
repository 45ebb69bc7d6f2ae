import { parseArgs } from 'node:util';
import { DEFAULT_CHECK_TIMEOUT_MS } from '../check/check-scenario';

/** A mistake in the command line: the CLI prints it and exits with 2. */
export class CheckUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckUsageError';
  }
}

/** What `cdk-cable check` was asked to do. */
export interface CheckCommandOptions {
  readonly url: string;
  readonly secret?: string;
  readonly secretArn?: string;
  readonly turboStreamsSecret?: string;
  readonly broadcastUrl?: string;
  readonly broadcastKey?: string;
  readonly origin?: string;
  readonly timeoutMs: number;
  readonly json: boolean;
}

interface CheckOptionSpec {
  readonly name: string;
  readonly value?: string;
  readonly description: string;
}

/** anycable-go's names where it has them. Flags only: a CABLE_SECRET exported for `dev` must not leak into a check of a deployment. */
export const CHECK_OPTIONS: readonly CheckOptionSpec[] = [
  { name: 'secret', value: 'S', description: 'The cable secret: signs the Turbo stream name and derives the broadcast key (as anycable-rails does)' },
  { name: 'secret_arn', value: 'ARN', description: 'Read the secret from Secrets Manager (the CableSecretArn output) with the AWS SDK\'s default credentials' },
  { name: 'turbo_streams_secret', value: 'S', description: 'The key Turbo signs stream names with (Turbo.signed_stream_verifier_key), when it is not the secret' },
  { name: 'broadcast_url', value: 'URL', description: 'POST /_broadcast URL (the BroadcastUrl output; locally http://127.0.0.1:8080/_broadcast); without it the broadcast steps are skipped' },
  { name: 'broadcast_key', value: 'K', description: 'Bearer key of the broadcast URL; default hex(HMAC-SHA256(secret, "broadcast-cable"))' },
  { name: 'origin', value: 'URL', description: 'Origin header of the upgrade, e.g. https://app.example.com (one of allowedOrigins); default none' },
  { name: 'timeout', value: 'SECONDS', description: `Seconds to wait for each answer (default ${DEFAULT_CHECK_TIMEOUT_MS / 1000})` },
  { name: 'json', description: 'Print the report as one JSON document' },
];

/** `argv` after the word `check`. Throws `CheckUsageError`; undefined for `--help`. */
export function parseCheckCli(argv: readonly string[]): CheckCommandOptions | undefined {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const o of CHECK_OPTIONS) options[o.name] = { type: o.value ? 'string' : 'boolean' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    const option = /'(-[^' ]+)/.exec(message ?? '')?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) throw new CheckUsageError(`unknown option ${option}`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
      throw new CheckUsageError(`${option} ${/argument missing/.test(message ?? '') ? 'needs a value' : 'takes no value'}`);
    }
    throw new CheckUsageError(message ?? String(error));
  }
  const { values, positionals } = parsed;
  if (values.help === true) return undefined;
  if (positionals.length === 0) throw new CheckUsageError('missing the cable URL: cdk-cable check <ws(s)://…/cable> (the Url output)');
  if (positionals.length > 1) throw new CheckUsageError(`unexpected argument "${positionals[1]}": the check takes one URL`);
  const string = (name: string): string | undefined => {
    const value = values[name];
    if (typeof value !== 'string') return undefined;
    if (value === '') throw new CheckUsageError(`--${name} is empty`);
    return value;
  };

  const url = positionals[0];
  if (!/^wss?:\/\/[^/]+/i.test(url) || !canParse(url)) {
    throw new CheckUsageError(`the cable URL must be ws:// or wss:// (the Url output, e.g. wss://abc123.execute-api.us-east-1.amazonaws.com/cable), got "${url}"`);
  }
  if (string('secret') !== undefined && string('secret_arn') !== undefined) {
    throw new CheckUsageError('--secret and --secret_arn are alternatives: give one');
  }
  const broadcastUrl = string('broadcast_url');
  if (broadcastUrl !== undefined && (!/^https?:\/\/[^/]+/i.test(broadcastUrl) || !canParse(broadcastUrl))) {
    throw new CheckUsageError(`--broadcast_url must be an http:// or https:// URL (the BroadcastUrl output, ending in /_broadcast), got "${broadcastUrl}"`);
  }
  const origin = string('origin');
  if (origin !== undefined && !/^[a-z][a-z0-9+.-]*:\/\/[^/]+$/i.test(origin)) {
    throw new CheckUsageError(`--origin takes a full origin such as https://app.example.com (scheme and host, no path), got "${origin}"`);
  }
  const timeout = string('timeout');
  if (timeout !== undefined && (!/^\d+$/.test(timeout) || Number(timeout) < 1 || Number(timeout) > 600)) {
    throw new CheckUsageError(`--timeout must be an integer from 1 to 600 (seconds), got "${timeout}"`);
  }
  return {
    url,
    secret: string('secret'),
    secretArn: string('secret_arn'),
    turboStreamsSecret: string('turbo_streams_secret'),
    broadcastUrl,
    broadcastKey: string('broadcast_key'),
    origin,
    timeoutMs: timeout === undefined ? DEFAULT_CHECK_TIMEOUT_MS : Number(timeout) * 1000,
    json: values.json === true,
  };
}

export function checkHelpText(): string {
  const rows = CHECK_OPTIONS.map((o) => [`  --${o.name}${o.value ? ` ${o.value}` : ''}`, o.description]);
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return [
    'Usage: cdk-cable check <ws(s)://…/cable> [options]',
    '',
    'Checks a running cable as a Rails client and app would use it, printing one line per step',
    '(✓ or ✗, what was expected, what came back, milliseconds) and, for a failure, the likely cause and fix:',
    '  1. handshake      the server echoes the actioncable-v1-json subprotocol',
    '  2. welcome        {"type":"welcome"} within 1 s of open',
    '  3. ping           two pings at the expected interval (3 s, or ?pi=<seconds> on the URL)',
    '  4. subscribe      a Turbo stream signed with the secret is confirmed;',
    '     forged         one with a forged signature is rejected',
    '  5. broadcast      (with --broadcast_url) POST /_broadcast with the key: 201, and the frame arrives;',
    '     broadcast_key  a wrong key gets 401',
    '  6. close          unsubscribe and close',
    'Exit codes: 0 every step held (skipped steps do not fail), 1 a step failed, 2 bad usage.',
    '',
    'Options:',
    ...rows.map(([flag, description]) => `${flag.padEnd(width)}${description}`),
    `  --help, -h${''.padEnd(width - 12)}Print this help`,
    '',
    'After cdk deploy:',
    '  npx cdk-cable check <ActionCableUrl> --secret_arn <CableSecretArn> --broadcast_url <BroadcastUrl>',
  ].join('\n');
}

function canParse(url: string): boolean {
  try {
    new URL(url);
    return true;
  } catch {
    return false;
  }
}
