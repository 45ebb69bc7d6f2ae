import { Agent } from 'node:http';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Local endpoints accept any credentials; the SDK insists on signing with some. */
export const BENCH_CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const REGION = 'us-east-1';

/**
 * The SDK's own default HTTP handler keeps sockets alive with at most 50 per origin
 * (@smithy/node-http-handler). The naive designs use it, as samples do.
 */
export const SDK_DEFAULT_MAX_SOCKETS = 50;

export interface SdkClients {
  readonly dynamo: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly api: ApiGatewayManagementApiClient;
  destroy(): void;
}

export interface ClientOptions {
  /**
   * Sockets of the `@connections` client's keep-alive agent.
   * @default - the SDK's default handler (keep-alive, 50 sockets)
   */
  readonly apiMaxSockets?: number;
  /**
   * Attempts of the `@connections` client (1: the SDK does not retry).
   * @default - the SDK's default (3)
   */
  readonly apiMaxAttempts?: number;
}

/** A DynamoDB document client and an `@connections` SDK client pointed at the local stand-ins. */
export function sdkClients(endpoints: { store: string; connections: string }, options: ClientOptions = {}): SdkClients {
  const dynamo = new DynamoDBClient({ endpoint: endpoints.store, region: REGION, credentials: BENCH_CREDENTIALS });
  const doc = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const api = new ApiGatewayManagementApiClient({
    endpoint: endpoints.connections,
    region: REGION,
    credentials: BENCH_CREDENTIALS,
    ...(options.apiMaxAttempts === undefined ? {} : { maxAttempts: options.apiMaxAttempts }),
    ...(options.apiMaxSockets === undefined ? {} : {
      requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: options.apiMaxSockets }) },
    }),
  });
  return {
    dynamo,
    doc,
    api,
    destroy: () => {
      api.destroy();
      dynamo.destroy();
    },
  };
}
