import { Duration, Token } from 'aws-cdk-lib';
import { API_GATEWAY_MAX_CONNECTION_SECONDS } from '../contract/defaults';

/** Synth-time checks: each message starts with the prop name, shows the value and says the fix. */

export function validateStageName(stageName: string): void {
  if (Token.isUnresolved(stageName)) return;
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(stageName)) {
    throw new Error(`\`stageName\` must match /^[A-Za-z0-9_-]{1,128}$/, got "${stageName}"`);
  }
}

export function validateThrottle(rateLimit: number, burstLimit: number): void {
  if (!Token.isUnresolved(rateLimit) && (!Number.isFinite(rateLimit) || rateLimit <= 0)) {
    throw new Error(`\`throttle.rateLimit\` must be a positive number of requests per second, got ${rateLimit}`);
  }
  if (!Token.isUnresolved(burstLimit) && (!Number.isInteger(burstLimit) || burstLimit < 1)) {
    throw new Error(`\`throttle.burstLimit\` must be a positive whole number of requests, got ${burstLimit}`);
  }
  if (!Token.isUnresolved(rateLimit) && !Token.isUnresolved(burstLimit) && burstLimit < rateLimit) {
    throw new Error(`\`throttle.burstLimit\` (${burstLimit}) must be at least \`throttle.rateLimit\` (${rateLimit}): the token bucket could never reach the rate; raise burstLimit or lower rateLimit`);
  }
}

export function validateConnectionTtl(ttl: Duration): number {
  const seconds = ttl.toSeconds();
  if (!Token.isUnresolved(seconds) && (seconds < API_GATEWAY_MAX_CONNECTION_SECONDS || !Number.isInteger(seconds))) {
    throw new Error(`\`connectionTtl\` must be at least 2 hours (API Gateway's maximum connection duration) in whole seconds, got ${ttl.toHumanString()}`);
  }
  return seconds;
}

export function validateMemorySize(memorySize: number): void {
  if (Token.isUnresolved(memorySize)) return;
  if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10240) {
    throw new Error(`\`memorySize\` must be a whole number of MB from 128 to 10240, got ${memorySize}`);
  }
}

/** A function's reserved concurrency: a whole number of at least 1 (0 would stop the function). */
export function validateReservedConcurrency(name: string, value: number | undefined): number | undefined {
  if (value === undefined || Token.isUnresolved(value)) return value;
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`\`${name}\` must be a whole number of at least 1 (concurrent invocations), got ${value}; leave it unset to share the account's unreserved concurrency`);
  }
  return value;
}

export function validateAllowedOrigins(origins: string[]): void {
  if (origins.length === 0) {
    throw new Error('`allowedOrigins` must list at least one origin, got []; omit it to allow any origin');
  }
  for (const origin of origins) {
    if (Token.isUnresolved(origin)) continue;
    if (!/^https?:\/\/[^/\s,]+$/.test(origin)) {
      throw new Error(`\`allowedOrigins\` entries must be origins like "https://app.example.com" (scheme and host, optional port, no path or trailing slash), got "${origin}"`);
    }
  }
}
