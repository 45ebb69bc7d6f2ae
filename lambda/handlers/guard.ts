import { ConsoleLogger } from '../adapters/console-logger';
import { Logger } from '../core/ports';

/** The CloudWatch metric every handler failure counts in (Embedded Metric Format, no API call). */
export const HANDLER_ERRORS_METRIC = { namespace: 'cdk-cable', name: 'HandlerErrors', dimension: 'Handler' } as const;

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
    (logger() ?? fallbackLogger).error('handler.failed', {
      handler,
      connectionId,
      error,
      [HANDLER_ERRORS_METRIC.dimension]: handler,
      [HANDLER_ERRORS_METRIC.name]: 1,
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [{
          Namespace: HANDLER_ERRORS_METRIC.namespace,
          Dimensions: [[HANDLER_ERRORS_METRIC.dimension]],
          Metrics: [{ Name: HANDLER_ERRORS_METRIC.name, Unit: 'Count' }],
        }],
      },
    });
    throw error;
  }
}
