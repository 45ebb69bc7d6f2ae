import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DeferredDelivery, DeliveryRequest } from '../../core/ports';

/**
 * Hands frames to the deliver function with an asynchronous (`Event`) invocation, so `$connect`
 * can return (API Gateway opens the socket only then) while the deliver function retries posts.
 */
export class LambdaDeferredDelivery implements DeferredDelivery {
  constructor(private readonly client: LambdaClient, private readonly functionName: string) {}

  async deliverLater(request: DeliveryRequest): Promise<void> {
    await this.client.send(new InvokeCommand({
      FunctionName: this.functionName,
      InvocationType: 'Event',
      Payload: Buffer.from(JSON.stringify(request), 'utf8'),
    }));
  }
}
