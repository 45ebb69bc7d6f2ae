import { guarded } from './guard';
import { ShardEvent } from '../adapters/lambda/lambda-shard-dispatcher';
import { fanOut, FanOutDeps, FanOutResult } from '../core/broadcast';

/** The fan-out worker: one shard of a large stream per asynchronous invocation. */
export function makeFanOutHandler(deps: () => Promise<FanOutDeps>) {
  return async (event: ShardEvent): Promise<FanOutResult> => {
    let resolved: FanOutDeps | undefined;
    return guarded('fanout', undefined, () => resolved?.logger, async () => {
      if (event?.kind !== 'cable.shard') throw new Error('fanout: unknown event (expected a cable.shard invocation)');
      resolved = await deps();
      const { broadcast, cursor, limit } = event.shard;
      return fanOut(resolved, broadcast, { cursor, limit });
    });
  };
}
