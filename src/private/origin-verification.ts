import { Token } from 'aws-cdk-lib';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { DEFAULT_ORIGIN_HEADER } from '../contract/defaults';

/*
 * Origin verification: every distribution in front of the cable (the construct's own,
 * addBehaviorTo's, or one configured elsewhere) sends the API a secret header, and `$connect`
 * refuses requests without it (lambda/core/origin-verification.ts). The secret is generated in
 * secrets.ts; the header goes on the cable's origin in cloudfront.ts.
 */

/** The header a distribution sends `$connect` and the secret whose value it carries. */
export interface OriginVerification {
  readonly headerName: string;
  readonly secret: secretsmanager.ISecret;
}

/**
 * `{{resolve:secretsmanager:<arn>:SecretString:::}}`: CloudFront cannot read Secrets Manager
 * when it sends a request, so CloudFormation resolves the value when it deploys the distribution.
 * Secrets Manager's CloudFormation guide allows this dynamic reference in any resource property
 * (OriginCustomHeaders included) and keeps the value out of the template and CloudFormation's
 * logs and console; but CloudFront stores the value in the distribution's configuration, so
 * whoever may read that configuration (`cloudfront:GetDistribution(Config)`, the console) sees
 * the secret, and could then connect to `execute-api` directly. docs/cloudfront.md says so.
 */
export function originSecretValue(secret: secretsmanager.ISecret): string {
  return secret.secretValue.unsafeUnwrap();
}

/** Headers CloudFront cannot add to origin requests, and those the cable reads; never the origin header. */
const RESERVED_HEADERS = new Set([
  'cache-control', 'connection', 'content-length', 'cookie', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range',
  'if-unmodified-since', 'max-forwards', 'pragma', 'proxy-authorization', 'proxy-connection', 'range', 'request-range', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'via', 'x-real-ip', 'origin', 'authorization', 'user-agent',
]);
const RESERVED_PREFIXES = ['x-amz-', 'x-edge-', 'x-forwarded-', 'sec-websocket-', 'cloudfront-'];

/** Synth-time check of `originVerification.headerName`. */
export function validateOriginHeader(name: string): void {
  if (Token.isUnresolved(name)) return;
  if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) {
    throw new Error(`\`originVerification.headerName\` must be an HTTP header name (letters, digits, "-"; no spaces or ":"), got "${name}"`);
  }
  const lower = name.toLowerCase();
  if (RESERVED_HEADERS.has(lower) || RESERVED_PREFIXES.some((prefix) => lower.startsWith(prefix))) {
    throw new Error(`\`originVerification.headerName\` must be a header of its own, got "${name}", which CloudFront cannot add or the cable reads: keep the default ${DEFAULT_ORIGIN_HEADER} or choose another X- name`);
  }
}

/** The header and secret when both exist (verification is on); undefined otherwise. */
export function originVerificationOf(headerName: string | undefined, secret: secretsmanager.ISecret | undefined): OriginVerification | undefined {
  return headerName !== undefined && secret !== undefined ? { headerName, secret } : undefined;
}
