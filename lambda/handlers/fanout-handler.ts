import { guarded, HandlerOptions } from './guard';
import { LambdaContext, withLogContext } from './log-context';
import { CABLE_METRIC_NAMES as M } from '../../src/contract/metric-names';
import { emitMetrics } from '../adapters/emf-metrics';
import { ShardEvent } from '../adapters/lambda/lambda-shard-dispatcher';
import { fanOut, FanOutDeps, FanOutResult } from '../core/broadcast';

/** The fan-out worker: one shard of a large stream per asynchronous invocation. */
export function makeFanOutHandler(deps: () => Promise<FanOutDeps>, options: HandlerOptions = {}) {
  return async (event: ShardEvent, context?: LambdaContext): Promise<FanOutResult> => {
    let resolved: FanOutDeps | undefined;
    return guarded('fanout', undefined, () => resolved?.logger, options, async () => {
      if (event?.kind !== 'cable.shard') throw new Error('fanout: unknown event (expected a cable.shard invocation)');
      resolved = withLogContext(await deps(), { requestId: context?.awsRequestId });
      const { broadcast, cursor, limit } = event.shard;
      const result = await fanOut(resolved, broadcast, { cursor, limit });
      const counts = { [M.delivered]: result.delivered, [M.goneConnections]: result.gone, [M.fanOutFailures]: result.failed };
      emitMetrics(resolved.logger, options.apiId, counts);
      return result;
    });
  };
}
