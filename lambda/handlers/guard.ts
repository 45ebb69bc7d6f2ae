import { ConsoleLogger } from '../adapters/console-logger';
import { emitMetrics, METRICS_NAMESPACE } from '../adapters/emf-metrics';
import { Logger } from '../core/ports';

/** The CloudWatch metric every handler failure counts in (Embedded Metric Format, no API call). */
export const HANDLER_ERRORS_METRIC = { namespace: METRICS_NAMESPACE, name: 'HandlerErrors', dimension: 'Handler' } as const;

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
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const log = logger() ?? fallbackLogger;
    log.error('handler.failed', { handler, connectionId, error });
    emitMetrics(log, process.env.CABLE_API_ID, { [HANDLER_ERRORS_METRIC.name]: 1 }, { name: HANDLER_ERRORS_METRIC.dimension, value: handler });
    throw error;
  }
}
