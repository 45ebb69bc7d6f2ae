import { API_ID_DIMENSION, CABLE_METRIC_NAMESPACE } from '../../src/contract/metric-names';
import { Logger } from '../core/ports';

/**
 * Writes metrics as a CloudWatch Embedded Metric Format log line: CloudWatch extracts them from
 * the function's logs, so counting costs no API call and no latency. Metrics are published per
 * `ApiId` (one cable among several in an account) and, with `detail`, per `ApiId` and that
 * extra dimension as well.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
export function emitMetrics(
  logger: Logger,
  apiId: string | undefined,
  values: Readonly<Record<string, number>>,
  detail?: { readonly name: string; readonly value: string },
): void {
  const names = Object.keys(values);
  // Nothing to count (an idle pinger's minute): no line, so CloudWatch bills no custom metric for
  // that hour ($0.30 a metric-month when a value arrives every hour; docs/cost.md, "Idle").
  if (names.every((name) => values[name] === 0)) return;
  const base = apiId ? [API_ID_DIMENSION] : [];
  const dimensionSets = [base, ...(detail ? [[...base, detail.name]] : [])].filter((set) => set.length > 0);
  logger.info('metrics', {
    ...(apiId ? { [API_ID_DIMENSION]: apiId } : {}),
    ...(detail ? { [detail.name]: detail.value } : {}),
    ...values,
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [{
        Namespace: CABLE_METRIC_NAMESPACE,
        Dimensions: dimensionSets.length > 0 ? dimensionSets : [[]],
        Metrics: names.map((name) => ({ Name: name, Unit: 'Count' })),
      }],
    },
  });
}
