import { CABLE_METRIC_DETAIL_DIMENSIONS, CABLE_METRIC_NAMES } from '../../src/contract/metric-names';
import { ConsoleLogger } from '../adapters/console-logger';
import { emitMetrics } from '../adapters/emf-metrics';
import { Logger } from '../core/ports';

/** What a handler factory is given apart from its dependencies, which may fail to build. */
export interface HandlerOptions {
  /** The WebSocket API's id: the `ApiId` dimension of the handler's metrics. @default - no ApiId dimension */
  readonly apiId?: string;
}

const fallbackLogger = new ConsoleLogger();

/**
 * Runs one event: the single place a handler catches (`logger` is read after a failure, as
 * building the handler's dependencies may itself be what failed). A failure is logged once, structured
 * and counted, then rethrown so API Gateway (or Lambda's async retry policy) sees it.
 */
export async function guarded<T>(
  handler: string,
  connectionId: string | undefined,
  logger: () => Logger | undefined,
  options: HandlerOptions,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const log = logger() ?? fallbackLogger;
    log.error('handler.failed', { handler, connectionId, error });
    const perHandler = { name: CABLE_METRIC_DETAIL_DIMENSIONS.handlerErrors, value: handler };
    emitMetrics(log, options.apiId, { [CABLE_METRIC_NAMES.handlerErrors]: 1 }, perHandler);
    throw error;
  }
}
