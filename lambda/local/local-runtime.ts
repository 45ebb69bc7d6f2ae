import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LocalDeferredDelivery } from './local-deferred-delivery';
import { LocalShardDispatcher } from './local-shard-dispatcher';
import { LocalConnections, LocalTransport } from './local-transport';
import { DynamoConnectionStore } from '../adapters/dynamodb/dynamo-connection-store';
import { DynamoPresenceStore } from '../adapters/dynamodb/dynamo-presence-store';
import { DynamoSessionStore } from '../adapters/dynamodb/dynamo-session-store';
import { DynamoStreamHistory } from '../adapters/dynamodb/dynamo-stream-history';
import { DynamoSubscriptionStore } from '../adapters/dynamodb/dynamo-subscription-store';
import { MemoryConnectionStore } from '../adapters/memory/memory-connection-store';
import { MemoryPresenceStore } from '../adapters/memory/memory-presence-store';
import { MemorySessionStore } from '../adapters/memory/memory-session-store';
import { MemoryStreamHistory } from '../adapters/memory/memory-stream-history';
import { MemorySubscriptionStore } from '../adapters/memory/memory-subscription-store';
import { HttpRpcTransport } from '../adapters/rpc/http-rpc-transport';
import { CableConfig, CableSettings, resolveConfig } from '../core/config';
import { Clock, ConnectionStore, Logger, SubscriptionStore, systemClock } from '../core/ports';
import { PresenceStore } from '../core/presence';
import { PresenceExpiryStore } from '../core/presence-expiry';
import { RpcClient } from '../core/rpc-client';
import { SessionStore } from '../core/session-restore';
import { StreamHistoryStore } from '../core/stream-history';
import { makeDeliverHandler } from '../handlers/deliver-handler';

export type LocalStoreOptions =
  | { readonly kind: 'memory' }
  | { readonly kind: 'dynamodb'; readonly endpoint: string; readonly connectionsTable: string; readonly subscriptionsTable: string };

/** Every dependency the handlers take, as `lambdaRuntime()` builds them in AWS, but local. */
export interface LocalRuntime {
  readonly config: CableConfig;
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
  /** Stream positions and history for ext clients. */
  readonly history: StreamHistoryStore;
  /** Gone ext connections' sessions, for restore (the connect and disconnect handlers take them). */
  readonly sessionStore: SessionStore;
  /** Presence records (lambda/core/presence.ts): the message handler joins and leaves, the disconnect handler lets them expire. */
  readonly presence: PresenceStore & PresenceExpiryStore;
  readonly transport: LocalTransport;
  readonly delivery: LocalDeferredDelivery;
  /** Runs the shards of a large stream's broadcast in-process (async Lambda invocations in AWS). */
  readonly shards: LocalShardDispatcher;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The app's RPC, when configured. */
  readonly rpc?: RpcClient;
  /** Releases the DynamoDB client, if any. */
  dispose(): void;
}

export interface LocalRuntimeProps {
  readonly settings: CableSettings;
  readonly store: LocalStoreOptions;
  readonly sockets: LocalConnections;
  /** True once the server is going away: pending deliveries then give up instead of retrying. */
  readonly stopped: () => boolean;
  readonly logger: Logger;
  readonly rpc?: { readonly url: string; readonly timeoutMs?: number; readonly maxAttempts?: number };
  /** Replace a store (tests). */
  readonly connections?: ConnectionStore;
  readonly subscriptions?: SubscriptionStore;
}

export function buildLocalRuntime(props: LocalRuntimeProps): LocalRuntime {
  const config = resolveConfig(props.settings);
  const stores = props.store.kind === 'dynamodb' ? dynamoStores(props.store) : memoryStores();
  const transport = new LocalTransport(props.sockets);
  // Once the server stops, every connection is gone for good; a clock past every deadline makes a
  // delivery still retrying a 410 give up at once rather than keep the process alive for seconds.
  const deliverClock: Clock = { now: () => (props.stopped() ? Number.MAX_SAFE_INTEGER : Date.now()), sleep: systemClock.sleep };
  const deliver = makeDeliverHandler(async () => ({ transport, clock: deliverClock, logger: props.logger }));
  const connections = props.connections ?? stores.connections;
  const rpc = props.rpc ? new RpcClient(new HttpRpcTransport({ ...props.rpc, secret: config.rpc.secret })) : undefined;
  const subscriptions = props.subscriptions ?? stores.subscriptions;
  return {
    config,
    connections,
    subscriptions,
    history: stores.history,
    sessionStore: stores.sessions,
    presence: stores.presence,
    transport,
    delivery: new LocalDeferredDelivery(deliver, props.logger),
    shards: new LocalShardDispatcher({
      config, connections, subscriptions, transport, clock: systemClock, logger: props.logger, ...(rpc ? { rpc } : {}), presence: stores.presence,
    }),
    clock: systemClock,
    logger: props.logger,
    ...(rpc ? { rpc } : {}),
    dispose: stores.dispose,
  };
}

function memoryStores() {
  return {
    connections: new MemoryConnectionStore(),
    subscriptions: new MemorySubscriptionStore(),
    history: new MemoryStreamHistory(),
    sessions: new MemorySessionStore(),
    presence: new MemoryPresenceStore(),
    dispose: () => undefined,
  };
}

/**
 * Tables at a DynamoDB-compatible endpoint (DynamoDB Local, dynalite, LocalStack). Credentials and
 * region come from the usual AWS environment; local endpoints accept any, so dummy ones fill in.
 */
function dynamoStores(store: Extract<LocalStoreOptions, { kind: 'dynamodb' }>) {
  const hasCredentials = Boolean(process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE);
  const client = new DynamoDBClient({
    endpoint: store.endpoint,
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(hasCredentials ? {} : { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  });
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return {
    connections: new DynamoConnectionStore(doc, store.connectionsTable),
    subscriptions: new DynamoSubscriptionStore(doc, store.subscriptionsTable),
    history: new DynamoStreamHistory(doc, store.subscriptionsTable),
    sessions: new DynamoSessionStore(doc, store.subscriptionsTable),
    presence: new DynamoPresenceStore(doc, store.subscriptionsTable),
    dispose: () => client.destroy(),
  };
}
