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
