import { ApiGatewayManagementApiClient, DeleteConnectionCommand, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { ConnectionGoneError, TransientSendError } from '../../core/errors';
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
      if (isTransient(error)) throw new TransientSendError(connectionId, error);
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

const TRANSIENT_NAMES = new Set(['ThrottlingException', 'LimitExceededException', 'TooManyRequestsException', 'InternalServerErrorException', 'ServiceUnavailableException']);

/** Throttling (429), server errors (5xx) and network failures (no HTTP status) may pass on a retry. */
function isTransient(error: unknown): boolean {
  const candidate = error as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | undefined;
  const status = candidate?.$metadata?.httpStatusCode;
  if (typeof candidate?.name === 'string' && TRANSIENT_NAMES.has(candidate.name)) return true;
  if (typeof status === 'number') return status === 429 || status >= 500;
  return error instanceof Error && /ECONNRESET|ETIMEDOUT|EPIPE|ECONNREFUSED|socket hang up/i.test(`${(error as { code?: string }).code ?? ''} ${error.message}`);
}
