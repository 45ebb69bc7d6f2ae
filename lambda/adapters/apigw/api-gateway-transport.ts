import { ApiGatewayManagementApiClient, DeleteConnectionCommand, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { ConnectionGoneError } from '../../core/errors';
import { Transport } from '../../core/ports';

/**
 * Posts frames through API Gateway's `@connections` API; its client's `endpoint` must be the
 * stage's callback URL (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`).
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html
 */
export class ApiGatewayTransport implements Transport {
  constructor(private readonly client: ApiGatewayManagementApiClient) {}

  async send(connectionId: string, data: string): Promise<void> {
    try {
      await this.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(data, 'utf8') }));
    } catch (error) {
      if (isGone(error)) throw new ConnectionGoneError(connectionId);
      throw error;
    }
  }

  async close(connectionId: string): Promise<void> {
    try {
      await this.client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    } catch (error) {
      // The goal (no open socket) is already reached.
      if (!isGone(error)) throw error;
    }
  }
}

/** By name or status rather than instanceof, which fails when a bundle holds two SDK copies. */
function isGone(error: unknown): boolean {
  const candidate = error as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | undefined;
  return candidate?.name === 'GoneException' || candidate?.$metadata?.httpStatusCode === 410;
}
