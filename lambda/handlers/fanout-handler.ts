import { guarded } from './guard';
import { LambdaContext, withLogContext } from './log-context';
import { emitMetrics } from '../adapters/emf-metrics';
import { ShardEvent } from '../adapters/lambda/lambda-shard-dispatcher';
import { fanOut, FanOutDeps, FanOutResult } from '../core/broadcast';

/** The fan-out worker: one shard of a large stream per asynchronous invocation. */
export function makeFanOutHandler(deps: () => Promise<FanOutDeps>) {
  return async (event: ShardEvent, context?: LambdaContext): Promise<FanOutResult> => {
    let resolved: FanOutDeps | undefined;
    return guarded('fanout', undefined, () => resolved?.logger, async () => {
      if (event?.kind !== 'cable.shard') throw new Error('fanout: unknown event (expected a cable.shard invocation)');
      resolved = withLogContext(await deps(), { requestId: context?.awsRequestId });
      const { broadcast, cursor, limit } = event.shard;
      const result = await fanOut(resolved, broadcast, { cursor, limit });
      const counts = { Delivered: result.delivered, GoneConnections: result.gone, FanOutFailures: result.failed };
      emitMetrics(resolved.logger, process.env.CABLE_API_ID, counts);
      return result;
    });
  };
}
