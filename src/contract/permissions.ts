import { SecretName } from './environment';
import { CableFunctionName } from './functions';
import { CONNECTIONS_TABLE, SUBSCRIPTIONS_TABLE } from './table-schema';

/**
 * The permission manifest: for each function, the AWS actions its code performs and on what.
 * The construct grants from this and nowhere else (src/private/permissions.ts), and
 * `npx projen iam:check` proves it against the calls the bundled functions really make
 * (test/iam/): every recorded call must be allowed by the synthesized role, and every grant
 * must be exercised by a scenario or say here why no scenario can reach it (`unexercised`).
 */

/** When a need applies; unset: always. */
export type PermissionCondition =
  /** The app's AnyCable RPC is configured (`rpc`). */
  | 'rpc'
  /** The RPC is a Lambda function (`CableRpc.fromFunction`). */
  | 'rpcFunction'
  /** Every connection must be identified: `rpc`, or `enforceJwt`. */
  | 'identification';

/** What a need targets, named by role; the construct resolves it to an ARN. */
export type PermissionResource =
  | { readonly kind: 'table'; readonly table: 'connections' | 'subscriptions'; readonly index?: string }
  /** `execute-api:ManageConnections` on this stage's `@connections/*` with one HTTP method. */
  | { readonly kind: 'connections'; readonly method: 'POST' | 'DELETE' }
  | { readonly kind: 'function'; readonly function: CableFunctionName }
  /** The app's RPC function (its unqualified ARN). */
  | { readonly kind: 'rpcFunction' };

export interface PermissionNeed {
  readonly actions: readonly string[];
  readonly resource: PermissionResource;
  readonly when?: PermissionCondition;
  /** The code path that makes the call. */
  readonly why: string;
  /** Why no scenario of the proof reaches this call; unset: a scenario must exercise it. */
  readonly unexercised?: string;
}

/** A secret a function reads (`secretsmanager:GetSecretValue`) when it is configured. */
export interface SecretNeed {
  readonly secret: SecretName;
  readonly when?: PermissionCondition;
  readonly why: string;
  readonly unexercised?: string;
}

export interface FunctionPermissions {
  readonly needs: readonly PermissionNeed[];
  /** Each secret's ARN goes into the function's environment only when it is listed here. */
  readonly secrets: readonly SecretNeed[];
}

const connections = (index?: string): PermissionResource => ({ kind: 'table', table: 'connections', ...(index ? { index } : {}) });
const subscriptions = (index?: string): PermissionResource => ({ kind: 'table', table: 'subscriptions', ...(index ? { index } : {}) });
const byConnection = subscriptions(SUBSCRIPTIONS_TABLE.byConnectionIndex);

/** Removing a gone connection's rows (lambda/core/forget-connection.ts): its subscriptions, then its row. */
const forgetConnection = (who: string): PermissionNeed[] => [
  { actions: ['dynamodb:Query'], resource: byConnection, why: `${who}: finds a gone connection's subscriptions` },
  { actions: ['dynamodb:BatchWriteItem'], resource: subscriptions(), why: `${who}: deletes a gone connection's subscriptions` },
  { actions: ['dynamodb:DeleteItem'], resource: connections(), why: `${who}: deletes a gone connection's row (ALL_OLD tells the app once)` },
  // Presence (lambda/core/presence.ts): what the session joined, in its own partition, expires after the presence TTL.
  { actions: ['dynamodb:Query'], resource: subscriptions(), why: `${who}: reads what a gone connection's session joined (its presence partition)` },
  { actions: ['dynamodb:UpdateItem'], resource: subscriptions(), why: `${who}: sets the presence TTL on what a gone connection joined` },
  { actions: ['dynamodb:PutItem'], resource: subscriptions(), why: `${who}: lists what a gone connection joined under the time it expires, for the pinger's sweep` },
];

/** The coordinator announces the leave of gone sessions' expired presence (lambda/core/presence-expiry.ts). */
const sweepPresence: PermissionNeed[] = [
  { actions: ['dynamodb:Query'], resource: subscriptions(), why: 'ping: reads the presence expiries due (one reserved partition) and whether another session holds the id' },
  { actions: ['dynamodb:DeleteItem'], resource: subscriptions(), why: 'ping: removes an expired presence record once (conditional delete) and its expiry' },
  {
    actions: ['lambda:InvokeFunction'],
    resource: { kind: 'function', function: 'fanout' },
    why: 'ping: hands the leave of expired presence to the fan-out function (asynchronous invoke), as a live leave goes',
  },
];

/** With RPC, whoever deletes a connection row tells the app (`disconnect`), signed with the RPC key. */
const tellTheApp = (who: string): { needs: PermissionNeed[]; secrets: SecretNeed[] } => ({
  needs: [{ actions: ['lambda:InvokeFunction'], resource: { kind: 'rpcFunction' }, when: 'rpcFunction', why: `${who}: calls the app's RPC on Lambda` }],
  secrets: [
    { secret: 'secret', when: 'rpc', why: `${who}: derives the RPC key from the common secret` },
    { secret: 'httpRpcSecret', when: 'rpc', why: `${who}: signs RPC calls with the given RPC key` },
  ],
});

function merge(...parts: Array<{ needs?: PermissionNeed[]; secrets?: SecretNeed[] }>): FunctionPermissions {
  return { needs: parts.flatMap((p) => p.needs ?? []), secrets: parts.flatMap((p) => p.secrets ?? []) };
}

/** The pinger's lease and claims: one reserved partition of the subscriptions table (table-schema.ts `PINGER_STATE`). */
const pingerState = subscriptions();

/** `$connect` starts a pinger when none holds the lease (lambda/core/ping-lease.ts). */
const startPinger: PermissionNeed[] = [
  { actions: ['dynamodb:GetItem'], resource: pingerState, why: 'connect: reads the pinger\'s lease (a pinger running?)' },
  { actions: ['dynamodb:UpdateItem'], resource: pingerState, why: 'connect: takes the pinger\'s lease when no pinger holds it (conditional write)' },
  { actions: ['lambda:InvokeFunction'], resource: { kind: 'function', function: 'ping' }, why: 'connect: starts the ping function when it had gone idle (asynchronous invoke)' },
];

/** The pinger claims its period and share, records what it found, and starts workers (lambda/core/ping-invocation.ts). */
const pingWorkers: PermissionNeed[] = [
  { actions: ['dynamodb:UpdateItem'], resource: pingerState, why: 'ping: claims the period on the lease, records the connections found, releases it when idle' },
  { actions: ['dynamodb:PutItem'], resource: pingerState, why: 'ping: a worker claims its share of a period (conditional put), so a duplicate delivery exits' },
  { actions: ['lambda:InvokeFunction'], resource: { kind: 'function', function: 'ping' }, why: 'ping: the coordinator starts the period\'s other workers (asynchronous invoke of itself)' },
];

export const PERMISSIONS: Readonly<Record<CableFunctionName, FunctionPermissions>> = {
  connect: merge({ needs: startPinger }, {
    needs: [
      { actions: ['dynamodb:PutItem'], resource: connections(), why: 'connect: stores the connection row' },
      { actions: ['dynamodb:DeleteItem'], resource: connections(), why: 'connect: removes its own row when the welcome cannot be handed to the deliver function' },
      { actions: ['lambda:InvokeFunction'], resource: { kind: 'function', function: 'deliver' }, why: 'connect: hands the welcome to the deliver function (asynchronous invoke)' },
      { actions: ['lambda:InvokeFunction'], resource: { kind: 'rpcFunction' }, when: 'rpcFunction', why: 'connect: identifies the client through the app\'s RPC connect' },
      // Session restore (lambda/core/session-restore.ts), in the subscriptions table's session partitions.
      { actions: ['dynamodb:DeleteItem'], resource: subscriptions(), why: 'connect: takes the session an ext client restores (ALL_OLD: a sid restores once)' },
      { actions: ['dynamodb:PutItem'], resource: subscriptions(), why: 'connect: stores a restored session\'s subscriptions, held until the client has its history' },
      { actions: ['dynamodb:UpdateItem'], resource: connections(), why: 'connect: counts a restored session\'s subscriptions against the cap' },
    ],
    secrets: [
      { secret: 'secret', why: 'connect: the JWT key and the RPC key default to (or derive from) the common secret' },
      { secret: 'jwtSecret', why: 'connect: verifies JWT identification tokens' },
      { secret: 'httpRpcSecret', when: 'rpc', why: 'connect: signs RPC connect calls' },
      // Origin verification (a CloudFront distribution or originVerification): configured or not at all.
      { secret: 'originSecret', why: 'connect: refuses requests that lack the origin header the distribution adds' },
    ],
  }),
  message: merge({
    needs: [
      { actions: ['dynamodb:PutItem'], resource: subscriptions(), why: 'message: stores a subscription' },
      {
        actions: ['dynamodb:GetItem'],
        resource: subscriptions(),
        why: 'message: reads a subscription\'s row before a subscribe (a re-sent one takes no slot of the cap) and a whisper (its sender must hold it)',
      },
      {
        actions: ['dynamodb:DeleteItem'],
        resource: subscriptions(),
        why: 'message: deletes a built-in channel\'s subscription on unsubscribe (ALL_OLD: its slot is given back once)',
      },
      {
        actions: ['dynamodb:UpdateItem'],
        resource: connections(),
        why: 'message: counts the connection\'s subscriptions (the cap) and invalid frames on its row; with RPC, the state app channels keep there',
      },
      { actions: ['dynamodb:BatchWriteItem'], resource: subscriptions(), when: 'rpc', why: 'message: deletes an app channel\'s streams on unsubscribe or stop_streams' },
      { actions: ['dynamodb:Query'], resource: byConnection, when: 'rpc', why: 'message: finds an app channel\'s subscriptions on unsubscribe' },
      { actions: ['execute-api:ManageConnections'], resource: { kind: 'connections', method: 'POST' }, why: 'message: answers the client (confirm, reject, transmissions)' },
      { actions: ['execute-api:ManageConnections'], resource: { kind: 'connections', method: 'DELETE' }, why: 'message: closes a connection the app disconnects or that sent what it must not' },
      {
        actions: ['dynamodb:GetItem'],
        resource: connections(),
        why: 'message: reads the connection row before a subscribe (its sid: the ext protocol; with identification, no row: refused) and for app channel commands',
      },
      { actions: ['dynamodb:Query'], resource: subscriptions(), why: 'message: reads a stream\'s history after an offset for an ext client\'s subscribe (docs/reliable-streams.md)' },
      { actions: ['dynamodb:UpdateItem'], resource: subscriptions(), why: 'message: releases a history replay\'s hold on an ext subscriber\'s row (liveFrom)' },
      { actions: ['lambda:InvokeFunction'], resource: { kind: 'rpcFunction' }, when: 'rpcFunction', why: 'message: runs app channel commands through the app\'s RPC' },
      {
        actions: ['lambda:InvokeFunction'],
        resource: { kind: 'function', function: 'fanout' },
        why: 'message: hands a whisper to the fan-out function (asynchronous invoke; lambda/core/whisper.ts)',
      },
    ],
    secrets: [
      { secret: 'secret', why: 'message: verifies signed stream names (Turbo, $pubsub) with the common secret by default' },
      { secret: 'turboStreamsSecret', why: 'message: verifies Turbo signed stream names with their own key' },
      { secret: 'streamsSecret', why: 'message: verifies $pubsub signed stream names with their own key' },
      { secret: 'httpRpcSecret', when: 'rpc', why: 'message: signs RPC command calls' },
    ],
  }),
  disconnect: merge(
    {
      needs: [
        { actions: ['dynamodb:DeleteItem'], resource: connections(), why: 'disconnect: deletes the connection row (ALL_OLD: the row comes back for the app)' },
        { actions: ['dynamodb:Query'], resource: byConnection, why: 'disconnect: finds the connection\'s subscriptions' },
        { actions: ['dynamodb:BatchWriteItem'], resource: subscriptions(), why: 'disconnect: deletes the connection\'s subscriptions' },
        { actions: ['dynamodb:PutItem'], resource: subscriptions(), why: 'disconnect: keeps an ext client\'s session for restore (lambda/core/session-restore.ts)' },
        ...forgetConnection('disconnect').slice(3),
      ],
    },
    tellTheApp('disconnect'),
  ),
  deliver: merge({
    needs: [
      { actions: ['execute-api:ManageConnections'], resource: { kind: 'connections', method: 'POST' }, why: 'deliver: posts the welcome once the socket is open' },
      { actions: ['execute-api:ManageConnections'], resource: { kind: 'connections', method: 'DELETE' }, why: 'deliver: closes a connection whose identification was rejected, after telling it why' },
    ],
  }),
  broadcast: merge(
    {
      needs: [
        { actions: ['dynamodb:Query'], resource: subscriptions(), why: 'broadcast: reads a stream\'s subscribers page by page, and its presence set (GET /api/presence/:stream/users)' },
        { actions: ['dynamodb:UpdateItem'], resource: subscriptions(), why: 'broadcast: takes the stream\'s next offset (its history counter)' },
        { actions: ['dynamodb:PutItem'], resource: subscriptions(), why: 'broadcast: stores the message in the stream\'s history' },
        { actions: ['dynamodb:GetItem'], resource: subscriptions(), why: 'broadcast: re-reads an ext subscriber\'s row held by a history replay until it is released' },
        { actions: ['execute-api:ManageConnections'], resource: { kind: 'connections', method: 'POST' }, why: 'broadcast: posts the frame to each subscriber' },
        { actions: ['lambda:InvokeFunction'], resource: { kind: 'function', function: 'fanout' }, why: 'broadcast: hands the shards of a large stream to the fan-out function' },
        { actions: ['dynamodb:Query'], resource: connections(CONNECTIONS_TABLE.byIdentifiersIndex), why: 'broadcast: remote disconnect finds the connections of one identifiers JSON' },
        { actions: ['execute-api:ManageConnections'], resource: { kind: 'connections', method: 'DELETE' }, why: 'broadcast: remote disconnect closes them' },
        {
          actions: ['dynamodb:UpdateItem'],
          resource: connections(),
          why: 'broadcast: remote disconnect marks the rows of the connections it closes, so their sessions are not kept for restore',
        },
        ...forgetConnection('broadcast'),
      ],
      secrets: [
        { secret: 'secret', why: 'broadcast: derives the broadcast key from the common secret' },
        { secret: 'broadcastKey', why: 'broadcast: checks the bearer key of POST /_broadcast' },
      ],
    },
    tellTheApp('broadcast'),
  ),
  fanout: merge(
    {
      needs: [
        { actions: ['dynamodb:Query'], resource: subscriptions(), why: 'fanout: reads its shard of a stream\'s subscribers' },
        { actions: ['dynamodb:GetItem'], resource: subscriptions(), why: 'fanout: re-reads an ext subscriber\'s row held by a history replay until it is released' },
        { actions: ['execute-api:ManageConnections'], resource: { kind: 'connections', method: 'POST' }, why: 'fanout: posts the frame to each subscriber of its shard' },
        ...forgetConnection('fanout'),
      ],
    },
    tellTheApp('fanout'),
  ),
  ping: merge(
    {
      needs: [
        { actions: ['dynamodb:Scan'], resource: connections(CONNECTIONS_TABLE.pingsIndex), why: 'ping: reads the connections due a ping from the slim pings index' },
        { actions: ['execute-api:ManageConnections'], resource: { kind: 'connections', method: 'POST' }, why: 'ping: posts pings and the server_restart disconnect' },
        { actions: ['execute-api:ManageConnections'], resource: { kind: 'connections', method: 'DELETE' }, why: 'ping: closes connections at the maximum age, before API Gateway\'s 2-hour cut' },
        ...forgetConnection('ping'),
        ...pingWorkers,
        ...sweepPresence,
      ],
    },
    tellTheApp('ping'),
  ),
};

const TABLE_READS = new Set(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan']);

/**
 * What DynamoDB asks of the caller's KMS permissions when a customer managed key encrypts the
 * table: reads need `kms:Decrypt`, writes `kms:GenerateDataKey` too. Named exactly rather than
 * `kms:GenerateDataKey*`: DynamoDB calls GenerateDataKey, never the WithoutPlaintext or pair
 * variants the wildcard would also allow.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.usagenotes.html
 */
export function tableKeyActions(actions: readonly string[]): string[] {
  const writes = actions.some((action) => !TABLE_READS.has(action));
  return writes ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'];
}
