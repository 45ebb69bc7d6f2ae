/** AWS credentials as the SDK's providers return them (`AwsCredentialIdentity`). */
export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** Absent: the credentials do not expire (Lambda's environment credentials, static keys). */
  readonly expiration?: Date;
}

/** Resolves credentials, e.g. `defaultProvider()` of `@aws-sdk/credential-provider-node`. */
export type CredentialsProvider = () => Promise<SigningCredentials>;

/** How long before their expiry credentials are resolved again: the SDK's own margin. */
export const REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * Resolves `provider` once and again only when its credentials expire within `marginMs`, so a
 * request costs no provider call; concurrent callers share one resolution. A failed refresh
 * falls back to the credentials in hand while they are still valid.
 */
export function refreshingCredentials(provider: CredentialsProvider, now = Date.now, marginMs = REFRESH_MARGIN_MS): CredentialsProvider {
  let current: SigningCredentials | undefined;
  let pending: Promise<SigningCredentials> | undefined;
  const expiresWithin = (credentials: SigningCredentials, ms: number) =>
    credentials.expiration !== undefined && credentials.expiration.getTime() - now() <= ms;

  return () => {
    if (current && !expiresWithin(current, marginMs)) return Promise.resolve(current);
    pending ??= provider().then(
      (resolved) => {
        pending = undefined;
        return current = resolved;
      },
      (error: unknown) => {
        pending = undefined;
        if (current && !expiresWithin(current, 0)) return current;
        throw error;
      },
    );
    return pending;
  };
}
