import { Token } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { CableApi } from './api';
import { DeliverySettings, deliveryEnvironment } from './broadcast';
import type { CableFunctions } from './functions';
import type { Identification } from './identification';
import { secretsRead } from './permissions';
import { PingerSettings, pingEnvironment } from './pinger';
import type { CableSecrets } from './secrets';
import type { CableTables } from './tables';
import type { CableWebSocketApiProps } from '../cable-websocket-api-props';
import { DEFAULT_HISTORY, DEFAULT_LIMITS, DEFAULT_PRESENCE_TTL_SECONDS } from '../contract/defaults';
import type { CableFunctionEnvironment } from '../contract/environment';
import type { CableFunctionName } from '../contract/functions';

/*
 * What each function is told (src/contract/environment.ts writes it): the settings every function
 * shares, plus only the parts it uses (least privilege: a function learns no secret it does not read).
 */

export interface StreamsSettings {
  readonly turboStreams: boolean;
  readonly publicStreams: boolean;
  /** Whispers on signed `$pubsub` streams: the `message` function applies it. */
  readonly streamsWhisper: boolean;
  /** Presence on signed `$pubsub` streams: the `message` function applies it. */
  readonly streamsPresence: boolean;
  /** Seconds a gone connection's presence stays: the `disconnect` function applies it. */
  readonly presenceTtlSeconds: number;
}

export function settings(props: CableWebSocketApiProps): StreamsSettings {
  const presenceTtl = props.presenceTtl;
  const presenceTtlSeconds = presenceTtl === undefined ? DEFAULT_PRESENCE_TTL_SECONDS : presenceTtl.toSeconds({ integral: false });
  if (!Token.isUnresolved(presenceTtlSeconds) && (!Number.isInteger(presenceTtlSeconds) || presenceTtlSeconds < 0)) {
    throw new Error(`\`presenceTtl\` must be a whole number of seconds (0: a gone connection's presence goes at once), got ${presenceTtl?.toHumanString()}; e.g. Duration.seconds(15)`);
  }
  return {
    turboStreams: props.turboStreams ?? true,
    publicStreams: props.publicStreams ?? false,
    streamsWhisper: props.streamsWhisper ?? false,
    streamsPresence: props.streamsPresence ?? false,
    presenceTtlSeconds,
  };
}

/** What one connection may hold and send: the `message` function applies them. */
export interface LimitsSettings {
  readonly maxSubscriptionsPerConnection: number;
  readonly maxInvalidFrames: number;
}

export function limitsSettings(props: CableWebSocketApiProps): LimitsSettings {
  const limits = {
    maxSubscriptionsPerConnection: props.maxSubscriptionsPerConnection ?? DEFAULT_LIMITS.maxSubscriptionsPerConnection,
    maxInvalidFrames: props.maxInvalidFrames ?? DEFAULT_LIMITS.maxInvalidFrames,
  };
  for (const [name, value] of Object.entries(limits)) {
    if (!Token.isUnresolved(value) && (!Number.isInteger(value) || value < 1)) {
      throw new Error(`\`${name}\` must be a whole number of at least 1, got ${value}; leave it unset for the default (${DEFAULT_LIMITS[name as keyof LimitsSettings]})`);
    }
  }
  return limits;
}

/**
 * Stream history for ext clients: the `message` (replays) and `broadcast` (stores) functions use it;
 * resumable sessions: `$disconnect` keeps them, `$connect` restores them.
 */
export interface HistorySettings {
  readonly limit: number;
  readonly ttlSeconds: number;
  readonly sessionsTtlSeconds: number;
}

export function historySettings(props: CableWebSocketApiProps): HistorySettings {
  const limit = props.historyLimit ?? DEFAULT_HISTORY.limit;
  if (!Token.isUnresolved(limit) && (!Number.isInteger(limit) || limit < 0)) {
    throw new Error(`\`historyLimit\` must be a whole number of at least 0 (0 keeps no history), got ${limit}; leave it unset for anycable-go's default (${DEFAULT_HISTORY.limit})`);
  }
  const ttl = props.historyTtl;
  const ttlSeconds = ttl === undefined ? DEFAULT_HISTORY.ttlSeconds : ttl.toSeconds({ integral: false });
  if (!Token.isUnresolved(ttlSeconds) && (!Number.isInteger(ttlSeconds) || ttlSeconds < 1)) {
    throw new Error(`\`historyTtl\` must be a whole number of seconds of at least 1, got ${ttl?.toHumanString()}; e.g. Duration.minutes(5)`);
  }
  const sessionsTtl = props.sessionsTtl;
  const sessionsTtlSeconds = sessionsTtl === undefined ? DEFAULT_HISTORY.sessionsTtlSeconds : sessionsTtl.toSeconds({ integral: false });
  if (!Token.isUnresolved(sessionsTtlSeconds) && (!Number.isInteger(sessionsTtlSeconds) || sessionsTtlSeconds < 0)) {
    throw new Error(`\`sessionsTtl\` must be a whole number of seconds (0 restores no session), got ${sessionsTtl?.toHumanString()}; e.g. Duration.minutes(5)`);
  }
  return { limit, ttlSeconds, sessionsTtlSeconds };
}

export interface EnvironmentWiring {
  readonly streams: StreamsSettings;
  readonly limits: LimitsSettings;
  readonly history: HistorySettings;
  readonly ttlSeconds: number;
  readonly pinger: PingerSettings;
  readonly delivery: DeliverySettings;
  /** The allowed origins; undefined: any origin. */
  readonly allowedOrigins?: string[];
  readonly tables: CableTables;
  readonly api: CableApi;
  readonly secrets: CableSecrets;
  readonly identification: Identification;
  /** The header the origin secret comes in; undefined: no origin verification. */
  readonly originHeader?: string;
}

type Part =
  | 'delivery' // how frames reach many connections
  | 'deliverFunction' | 'fanOutFunction' // the functions it starts
  | 'pingFunction' // `$connect` starts the pinger when it had gone idle
  | 'jwt' // the JWT settings (the keys a function reads come from the permission manifest)
  | 'rpc' // the app's RPC, when there is one
  | 'limits' // what one connection may hold and send
  | 'history' // stream history for ext clients (docs/reliable-streams.md)
  | 'whisper' // which streams clients may whisper on (docs/whispers.md)
  | 'presence' // which streams clients may join presence on (docs/presence.md)
  | 'presenceTtl' // how long a forgotten connection's presence stays (forget-connection.ts)
  | 'tellsTheApp' // with RPC only: the app's RPC and the common secret, to tell of gone connections
  | 'originVerification'; // the header a fronting distribution proves itself with (its secret: the manifest)

const PARTS: Record<CableFunctionName, Part[]> = {
  // `$connect` restores sessions (their TTL, under `history`) and counts restored subscriptions.
  connect: ['deliverFunction', 'pingFunction', 'jwt', 'rpc', 'history', 'limits'],
  // A whisper is fanned out by the fan-out function (lambda/core/whisper.ts).
  message: ['rpc', 'limits', 'history', 'whisper', 'presence', 'fanOutFunction'],
  // Without RPC, `$disconnect` tells no one and reads no secret; it keeps ext clients' sessions.
  disconnect: ['tellsTheApp', 'history', 'presenceTtl'],
  deliver: [],
  broadcast: ['delivery', 'fanOutFunction', 'tellsTheApp', 'history', 'presenceTtl'],
  fanout: ['delivery', 'tellsTheApp', 'presenceTtl'],
  // Ping rounds post to every connection with the same concurrency and retries as broadcasts; the
  // leave of expired presence goes through the fan-out function (lambda/core/presence-expiry.ts).
  ping: ['delivery', 'tellsTheApp', 'presenceTtl', 'fanOutFunction'],
};
// Only `$connect` sees the upgrade request, so only it verifies where the request came from.
PARTS.connect.push('originVerification');

/** The environment of `name`; `created` holds the functions created before it. */
export function environmentOf(name: CableFunctionName, wiring: EnvironmentWiring, created: Partial<CableFunctions>): CableFunctionEnvironment {
  const { tables, api, identification } = wiring;
  const rpc = identification.rpc;
  const parts = new Set(PARTS[name]);
  if (parts.has('tellsTheApp') && rpc) parts.add('rpc');
  return {
    connectionsTable: tables.connections.tableName,
    subscriptionsTable: tables.subscriptions.tableName,
    callbackUrl: api.stage.callbackUrl,
    apiId: api.webSocketApi.apiId,
    ttlSeconds: wiring.ttlSeconds,
    turboStreams: wiring.streams.turboStreams,
    publicStreams: wiring.streams.publicStreams,
    allowedOrigins: wiring.allowedOrigins,
    ...pingEnvironment(wiring.pinger),
    ...(parts.has('delivery') ? deliveryEnvironment(wiring.delivery) : {}),
    deliverFunction: parts.has('deliverFunction') ? createdBefore(created, 'deliver', name).functionName : undefined,
    fanOutFunction: parts.has('fanOutFunction') ? createdBefore(created, 'fanout', name).functionName : undefined,
    pingFunction: parts.has('pingFunction') ? createdBefore(created, 'ping', name).functionName : undefined,
    ...(parts.has('jwt') ? { jwtParam: identification.jwtParam, enforceJwt: identification.enforceJwt } : {}),
    ...(parts.has('rpc') && rpc ? { rpc: rpc.target, rpcHeaders: rpc.headers, rpcCookies: rpc.cookies } : {}),
    ...(parts.has('limits') ? { limits: wiring.limits } : {}),
    ...(parts.has('history') ? { history: wiring.history } : {}),
    ...(parts.has('whisper') ? { streamsWhisper: wiring.streams.streamsWhisper } : {}),
    ...(parts.has('presence') ? { streamsPresence: wiring.streams.streamsPresence } : {}),
    ...(parts.has('presenceTtl') ? { presenceTtlSeconds: wiring.streams.presenceTtlSeconds } : {}),
    ...(parts.has('originVerification') && wiring.originHeader !== undefined ? { originHeader: wiring.originHeader } : {}),
    // The keys it reads, as the permission manifest lists them: told of exactly what it may read.
    secrets: Object.fromEntries([...secretsRead(name, wiring.secrets, identification)].map(([key, secret]) => [key, { arn: secret.secretArn }])),
  };
}

function createdBefore(created: Partial<CableFunctions>, needed: CableFunctionName, by: CableFunctionName): lambda.Function {
  const fn = created[needed];
  if (!fn) throw new Error(`the ${needed} function must be created before the ${by} function, whose environment names it`);
  return fn;
}
