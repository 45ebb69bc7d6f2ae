import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PingLauncher } from '../../core/ping-coordination';
import { PingInvocationEvent } from '../../core/ping-workers';

/** Starts a ping invocation with an asynchronous (`Event`) invoke of the ping function. */
export class LambdaPingLauncher implements PingLauncher {
  constructor(private readonly client: LambdaClient, private readonly functionName: string) {}

  async launch(event: PingInvocationEvent): Promise<void> {
    await this.client.send(new InvokeCommand({
      FunctionName: this.functionName,
      InvocationType: 'Event',
      Payload: Buffer.from(JSON.stringify(event), 'utf8'),
    }));
  }
}
