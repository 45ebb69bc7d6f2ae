import { Duration } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { API_ID_DIMENSION, CABLE_METRIC_NAMES, CABLE_METRIC_NAMESPACE } from '../contract/metric-names';

/*
 * The metrics behind the construct's `metric*()` methods: API Gateway's own, cdk-cable's (written
 * by the functions, names in src/contract/metric-names.ts), and sums over the cable's functions.
 */

const PERIOD = Duration.minutes(5);

/** API Gateway's WebSocket metrics (namespace `AWS/ApiGateway`, dimensions `ApiId`, `Stage`), each with its statistic. */
const WEBSOCKET_METRICS = {
  connectCount: { name: 'ConnectCount', statistic: 'Sum' },
  messageCount: { name: 'MessageCount', statistic: 'Sum' },
  integrationError: { name: 'IntegrationError', statistic: 'Sum' },
  clientError: { name: 'ClientError', statistic: 'Sum' },
  executionError: { name: 'ExecutionError', statistic: 'Sum' },
  integrationLatency: { name: 'IntegrationLatency', statistic: 'Average' },
} as const;

/** AWS/Lambda metrics summed over the cable's functions, and their labels. */
const LAMBDA_SUMS = {
  errors: { name: 'Errors', label: 'Lambda errors' },
  throttles: { name: 'Throttles', label: 'Lambda throttles' },
} as const;

/** An API Gateway metric of this API's stage. */
export function apiGatewayMetric(
  stage: apigwv2.WebSocketStage, metric: keyof typeof WEBSOCKET_METRICS, props?: cloudwatch.MetricOptions,
): cloudwatch.Metric {
  const { name, statistic } = WEBSOCKET_METRICS[metric];
  return new cloudwatch.Metric({
    namespace: 'AWS/ApiGateway',
    metricName: name,
    dimensionsMap: { ApiId: stage.api.apiId, Stage: stage.stageName },
    statistic,
    period: PERIOD,
    ...props,
  });
}

/** One of cdk-cable's own metrics of this API (a sum; the functions write them as Embedded Metric Format logs). */
export function cableMetric(
  api: apigwv2.IWebSocketApi, metric: keyof typeof CABLE_METRIC_NAMES, props?: cloudwatch.MetricOptions,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: CABLE_METRIC_NAMESPACE,
    metricName: CABLE_METRIC_NAMES[metric],
    dimensionsMap: { [API_ID_DIMENSION]: api.apiId },
    statistic: 'Sum',
    period: PERIOD,
    ...props,
  });
}

/** The sum of one AWS/Lambda metric over several functions, as one expression. */
export function lambdaSum(
  functions: lambda.IFunction[], metric: keyof typeof LAMBDA_SUMS, props?: cloudwatch.MetricOptions,
): cloudwatch.MathExpression {
  const { name, label } = LAMBDA_SUMS[metric];
  const usingMetrics: Record<string, cloudwatch.IMetric> = {};
  functions.forEach((fn, i) => {
    usingMetrics[`m${i}`] = fn.metric(name, { statistic: 'Sum', period: PERIOD, ...props });
  });
  return new cloudwatch.MathExpression({
    expression: Object.keys(usingMetrics).join(' + '),
    usingMetrics,
    label,
    period: props?.period ?? PERIOD,
  });
}
