import { Logger } from '../core/ports';

/** The CloudWatch namespace of cdk-cable's own metrics. */
export const METRICS_NAMESPACE = 'cdk-cable';

/** RPC calls to the app that gave no usable answer or an ERROR, per `ApiId` and per `ApiId` and `RpcMethod`. */
export const RPC_ERRORS_METRIC = { name: 'RpcErrors', dimension: 'RpcMethod' } as const;

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
  if (names.length === 0) return;
  const base = apiId ? ['ApiId'] : [];
  const dimensionSets = [base, ...(detail ? [[...base, detail.name]] : [])].filter((set) => set.length > 0);
  logger.info('metrics', {
    ...(apiId ? { ApiId: apiId } : {}),
    ...(detail ? { [detail.name]: detail.value } : {}),
    ...values,
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [{
        Namespace: METRICS_NAMESPACE,
        Dimensions: dimensionSets.length > 0 ? dimensionSets : [[]],
        Metrics: names.map((name) => ({ Name: name, Unit: 'Count' })),
      }],
    },
  });
}
