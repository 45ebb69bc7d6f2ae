import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/** API Gateway's WebSocket metric names (namespace `AWS/ApiGateway`, dimensions `ApiId`, `Stage`). */
export const WEBSOCKET_METRICS = {
  connectCount: 'ConnectCount',
  messageCount: 'MessageCount',
  integrationError: 'IntegrationError',
  clientError: 'ClientError',
  executionError: 'ExecutionError',
  integrationLatency: 'IntegrationLatency',
} as const;

export function webSocketMetric(
  metricName: string,
  dimensions: { apiId: string; stage: string },
  statistic: string,
  props?: cloudwatch.MetricOptions,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/ApiGateway',
    metricName,
    dimensionsMap: { ApiId: dimensions.apiId, Stage: dimensions.stage },
    statistic,
    period: Duration.minutes(5),
    ...props,
  });
}

/** cdk-cable's own metrics (namespace `cdk-cable`, dimension `ApiId`), written by the handlers as Embedded Metric Format logs. */
export const CABLE_METRICS = {
  namespace: 'cdk-cable',
  broadcasts: 'Broadcasts',
  delivered: 'Delivered',
  fanOutFailures: 'FanOutFailures',
  goneConnections: 'GoneConnections',
  handlerErrors: 'HandlerErrors',
  pings: 'Pings',
  pingFailures: 'PingFailures',
  maxAgeDisconnects: 'MaxAgeDisconnects',
  rpcErrors: 'RpcErrors',
} as const;

export function cableMetric(metricName: string, apiId: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: CABLE_METRICS.namespace,
    metricName,
    dimensionsMap: { ApiId: apiId },
    statistic: 'Sum',
    period: Duration.minutes(5),
    ...props,
  });
}

/** The sum of one AWS/Lambda metric over several functions, as one expression. */
export function lambdaSum(
  functions: Array<{ metric(name: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric }>,
  metricName: string,
  label: string,
  props?: cloudwatch.MetricOptions,
): cloudwatch.MathExpression {
  const usingMetrics: Record<string, cloudwatch.IMetric> = {};
  functions.forEach((fn, i) => {
    usingMetrics[`m${i}`] = fn.metric(metricName, { statistic: 'Sum', period: Duration.minutes(5), ...props });
  });
  return new cloudwatch.MathExpression({
    expression: Object.keys(usingMetrics).join(' + '),
    usingMetrics,
    label,
    period: props?.period ?? Duration.minutes(5),
  });
}
