import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

/**
 * Broadcasting from code in the same AWS account: invoke the cable's broadcast function directly
 * (allowed by `cable.grantBroadcast(fn)`), no HTTP and no broadcast key. Shipped as
 * `cdk-cable/runtime/broadcast`; it uses the `@aws-sdk/client-lambda` of the Lambda runtime.
 *
 * @example
 * import { broadcast } from 'cdk-cable/runtime/broadcast';
 * await broadcast('chat:1', '<turbo-stream action="append" target="messages">…</turbo-stream>');
 */

export interface BroadcastOptions {
  /** The broadcast function's name or ARN. Default: the `CABLE_BROADCAST_FUNCTION` environment variable. */
  readonly functionName?: string;
  /** A client to reuse. Default: one client per process, for the function's region. */
  readonly client?: LambdaClient;
}

export interface StreamMessage {
  readonly stream: string;
  /** Any JSON value; it is JSON-encoded, as `ActionCable.server.broadcast(stream, message)` does. */
  readonly message: unknown;
}

/** The event the broadcast function accepts from direct invocations. */
export interface DirectBroadcastEvent {
  readonly kind: 'cable.broadcast';
  readonly broadcasts: ReadonlyArray<{ readonly stream: string; readonly data: string }>;
}

/** The event the broadcast function accepts for AnyCable's remote disconnect, from direct invocations. */
export interface DirectDisconnectEvent {
  readonly kind: 'cable.disconnect';
  /** The connection's identifiers JSON, as `identified_by` values serialize (matched exactly). */
  readonly identifier: string;
  readonly reconnect: boolean;
}

let sharedClient: LambdaClient | undefined;

/** Broadcasts `message` to every subscriber of `stream`; resolves once delivered (or sharded). */
export async function broadcast(stream: string, message: unknown, options: BroadcastOptions = {}): Promise<void> {
  await broadcastAll([{ stream, message }], options);
}

/** Several broadcasts in one invocation, delivered in order. */
export async function broadcastAll(messages: readonly StreamMessage[], options: BroadcastOptions = {}): Promise<void> {
  const functionName = resolveFunctionName(options);
  const event: DirectBroadcastEvent = {
    kind: 'cable.broadcast',
    broadcasts: messages.map(({ stream, message }) => {
      if (typeof stream !== 'string' || stream.length === 0) throw new Error(`cdk-cable broadcast: stream must be a non-empty string, got ${JSON.stringify(stream)}`);
      const data = JSON.stringify(message);
      if (data === undefined) throw new Error(`cdk-cable broadcast: the message to ${stream} cannot be JSON-encoded`);
      return { stream, data };
    }),
  };
  await invoke(functionName, event, options);
}

/**
 * Closes every connection identified by `identifier` (AnyCable's remote disconnect, as
 * `ActionCable.server.remote_connections.where(...).disconnect` does through anycable-rails):
 * each gets `{"type":"disconnect","reason":"remote","reconnect":<reconnect>}`. Resolves with how
 * many connections matched (only connections identified by a JWT or the app's RPC `connect` can).
 */
export async function disconnectRemote(identifier: string, reconnect = false, options: BroadcastOptions = {}): Promise<number> {
  if (typeof identifier !== 'string' || identifier.length === 0) throw new Error('cdk-cable disconnect: identifier must be a non-empty identifiers JSON string');
  const event: DirectDisconnectEvent = { kind: 'cable.disconnect', identifier, reconnect };
  const answer = await invoke(resolveFunctionName(options), event, options) as { connections?: number };
  return answer.connections ?? 0;
}

function resolveFunctionName(options: BroadcastOptions): string {
  const functionName = options.functionName ?? process.env.CABLE_BROADCAST_FUNCTION;
  if (!functionName) throw new Error('cdk-cable broadcast: set CABLE_BROADCAST_FUNCTION (cable.broadcastHandler.functionName) or pass functionName');
  return functionName;
}

/** RequestResponse: errors surface here, and consecutive calls stay ordered. */
async function invoke(functionName: string, event: unknown, options: BroadcastOptions): Promise<unknown> {
  const client = options.client ?? (sharedClient ??= new LambdaClient({}));
  const result = await client.send(new InvokeCommand({
    FunctionName: functionName,
    InvocationType: 'RequestResponse',
    Payload: Buffer.from(JSON.stringify(event), 'utf8'),
  }));
  const text = result.Payload ? Buffer.from(result.Payload).toString('utf8') : '';
  if (result.FunctionError) throw new Error(`cdk-cable broadcast: ${functionName} failed (${result.FunctionError}): ${text}`);
  return text ? JSON.parse(text) : undefined;
}
