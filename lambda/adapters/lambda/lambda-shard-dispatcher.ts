import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ShardDispatcher, ShardRequest } from '../../core/ports';

/** The event a fan-out worker receives for one shard. */
export interface ShardEvent {
  readonly kind: 'cable.shard';
  readonly shard: ShardRequest;
}

/** Async-invokes the fan-out function once per shard, so shards are delivered in parallel. */
export class LambdaShardDispatcher implements ShardDispatcher {
  constructor(private readonly client: LambdaClient, private readonly functionName: string) {}

  async dispatch(shard: ShardRequest): Promise<void> {
    const event: ShardEvent = { kind: 'cable.shard', shard };
    await this.client.send(new InvokeCommand({
      FunctionName: this.functionName,
      InvocationType: 'Event',
      Payload: Buffer.from(JSON.stringify(event), 'utf8'),
    }));
  }
}
