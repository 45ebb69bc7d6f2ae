import { Duration, Token } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { DEFAULT_RPC, DEFAULT_RPC_PATH } from './contract/defaults';
import { CableRpcBinding } from './private/rpc-binding';

/**
 * Options common to every way of reaching the app's AnyCable RPC.
 */
export interface CableRpcOptions {
  /**
   * The key sent as `Authorization: Bearer <key>` (anycable-go's `--http_rpc_secret`;
   * anycable-rails' `http_rpc_secret`).
   * @default - derived from the construct's `secret` as anycable-go and anycable-rails derive it: hex(HMAC-SHA256(secret, "rpc-cable"))
   */
  readonly secret?: secretsmanager.ISecret;

  /**
   * How long one RPC call may take, retries included (anycable-go's `--rpc_request_timeout`).
   * A `$connect` waits for it, so the client's handshake does too. At most 8 seconds (the
   * handlers run for 10). An app on Lambda gets the longest: the first call after a cold start
   * waits for the app to boot, which for Rails (Lamby) commonly takes several seconds, and a
   * call that times out refuses the connection.
   * @default - `fromUrl`: Duration.seconds(3) (anycable-go's); `fromFunction`: Duration.seconds(8)
   */
  readonly timeout?: Duration;

  /**
   * Attempts of a call when nothing reached the app (connection refused or reset, Lambda
   * throttled); a timeout or an answer is never retried, the app may have acted on it.
   * @default 3
   */
  readonly maxAttempts?: number;

  /**
   * Request headers of the WebSocket handshake passed to the app in `env.headers`
   * (anycable-go's `--headers`). Add `origin` to check it in the app, `x-api-token` for token auth.
   * @default ['cookie']
   */
  readonly headers?: string[];

  /**
   * Only these cookies are passed (anycable-go's `--proxy-cookies`).
   * @default - every cookie
   */
  readonly cookies?: string[];
}

/**
 * Options for an app reached over HTTP(S).
 */
export interface CableRpcUrlOptions extends CableRpcOptions {}

/**
 * Options for an app that runs on Lambda.
 */
export interface CableRpcFunctionOptions extends CableRpcOptions {
  /**
   * The path the app serves RPC at: the event's `rawPath` is `<path>/connect`, `/command` or
   * `/disconnect`.
   * @default '/_anycable' (anycable-rails' `http_rpc_mount_path`)
   */
  readonly path?: string;

  /**
   * The `Host` header of the event, for apps that route or check by host (Rails' `config.hosts`).
   * @default 'localhost'
   */
  readonly host?: string;
}

/**
 * Where the app's AnyCable RPC endpoints are: cdk-cable then identifies connections with the
 * app's `connect` (`ApplicationCable::Connection#connect`, `current_user`) and runs every channel
 * other than Turbo Streams and `$pubsub` in the app (`subscribed`, `stream_from`, actions),
 * keeping connection and channel state between calls.
 *
 * @example
 * // anycable-rails with `http_rpc: true` (mounted at /_anycable)
 * new CableWebSocketApi(this, 'Cable', { rpc: CableRpc.fromUrl('https://app.example.com/_anycable') });
 * // a Rails app on Lambda (Lamby), invoked directly
 * new CableWebSocketApi(this, 'Cable', { rpc: CableRpc.fromFunction(railsFunction) });
 * @see https://docs.anycable.io/anycable-go/rpc
 */
export abstract class CableRpc {
  /**
   * An app serving AnyCable RPC over HTTP at `url` (`POST <url>/connect`, `/command`,
   * `/disconnect`): anycable-rails' `/_anycable`, or `@anycable/serverless-js` handlers.
   */
  public static fromUrl(url: string, options: CableRpcUrlOptions = {}): CableRpc {
    if (!Token.isUnresolved(url) && !/^https?:\/\/[^/\s]+(\/\S*)?$/.test(url)) {
      throw new Error(`\`rpc\` URL must be an http:// or https:// URL such as https://app.example.com/_anycable, got "${url}"`);
    }
    return new UrlRpc(url, options);
  }

  /**
   * An app running on Lambda (Rails with Lamby, a Node.js app behind a Function URL): invoked
   * synchronously with an API Gateway HTTP API (payload 2.0) event for `<path>/<method>`, so
   * its own routes serve RPC and it needs no public endpoint.
   */
  public static fromFunction(fn: lambda.IFunction, options: CableRpcFunctionOptions = {}): CableRpc {
    const path = options.path ?? DEFAULT_RPC_PATH;
    if (!Token.isUnresolved(path) && !/^\/[^?#\s]*$/.test(path)) {
      throw new Error(`\`rpc\` path must start with "/" and hold no "?", "#" or spaces, got "${path}"`);
    }
    return new FunctionRpc(fn, options, path);
  }

  protected constructor(protected readonly options: CableRpcOptions) {
    const timeout = options.timeout?.toMilliseconds();
    if (timeout !== undefined && !Token.isUnresolved(timeout) && (timeout < 100 || timeout > 8000)) {
      throw new Error(`\`rpc\` timeout must be from 100 ms to 8 s (the handlers run for 10 s), got ${options.timeout!.toHumanString()}`);
    }
    const attempts = options.maxAttempts;
    if (attempts !== undefined && !Token.isUnresolved(attempts) && (!Number.isInteger(attempts) || attempts < 1 || attempts > 10)) {
      throw new Error(`\`rpc\` maxAttempts must be a whole number from 1 to 10, got ${attempts}`);
    }
    for (const name of [...options.headers ?? [], ...options.cookies ?? []]) {
      if (!Token.isUnresolved(name) && !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) {
        throw new Error(`\`rpc\` headers and cookies must be names without spaces or separators, got "${name}"`);
      }
    }
  }

  /** Resolves where the construct's handlers reach the app, and how. @internal */
  public abstract _bind(): CableRpcBinding;
}

type Target = { readonly kind: 'http'; readonly url: string } | { readonly kind: 'lambda'; readonly functionName: string; readonly path: string; readonly host?: string };

/** The binding of `target`, with the options every target shares. */
function bind(target: Target, options: CableRpcOptions): CableRpcBinding {
  const { timeout, maxAttempts, headers, cookies, secret } = options;
  return {
    target: {
      ...target,
      ...(timeout ? { timeoutMs: timeout.toMilliseconds() } : {}),
      ...(maxAttempts !== undefined ? { maxAttempts } : {}),
    },
    headers,
    cookies,
    secret,
  };
}

class UrlRpc extends CableRpc {
  constructor(private readonly url: string, options: CableRpcUrlOptions) {
    super(options);
  }

  public _bind(): CableRpcBinding {
    return bind({ kind: 'http', url: this.url }, this.options);
  }
}

class FunctionRpc extends CableRpc {
  constructor(private readonly fn: lambda.IFunction, private readonly functionOptions: CableRpcFunctionOptions, private readonly path: string) {
    super(functionOptions);
  }

  public _bind(): CableRpcBinding {
    // The unqualified ARN: the handlers invoke it, and are granted exactly it (permissions.ts).
    const timeout = this.options.timeout ?? Duration.millis(DEFAULT_RPC.functionTimeoutMs);
    return bind({ kind: 'lambda', functionName: this.fn.functionArn, path: this.path, host: this.functionOptions.host }, { ...this.options, timeout });
  }
}
