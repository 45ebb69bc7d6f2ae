import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { CableWebSocketApiProps } from '../cable-websocket-api-props';

/** The metrics the alarms and the dashboard watch (the construct's `metric*()` methods). */
interface CableWatchedMetrics {
  readonly handlerErrors: cloudwatch.IMetric;
  readonly lambdaThrottles: cloudwatch.IMetric;
  readonly fanOutFailures: cloudwatch.IMetric;
  readonly integrationErrors: cloudwatch.IMetric;
  readonly executionErrors: cloudwatch.IMetric;
  readonly connects: cloudwatch.IMetric;
  readonly messages: cloudwatch.IMetric;
  readonly broadcasts: cloudwatch.IMetric;
  readonly deliveries: cloudwatch.IMetric;
  readonly goneConnections: cloudwatch.IMetric;
  readonly integrationLatency: cloudwatch.IMetric;
  readonly lambdaErrors: cloudwatch.IMetric;
  /** Only with RPC. */
  readonly rpcErrors?: cloudwatch.IMetric;
  /** The latest a ping round finished past its window (Maximum, ms). */
  readonly pingLag: cloudwatch.IMetric;
}

interface AlarmSpec {
  readonly id: string;
  readonly metric: keyof CableWatchedMetrics;
  readonly threshold: number;
  readonly description: string;
}

/**
 * Sane defaults: any handler failure or throttle is worth a look; a few broadcast posts failing
 * after retries, or a few API Gateway integration errors, happen under load before they matter.
 */
const ALARMS: AlarmSpec[] = [
  { id: 'HandlerErrorsAlarm', metric: 'handlerErrors', threshold: 1, description: 'A cdk-cable handler failed (see "handler.failed" in its logs)' },
  { id: 'LambdaThrottlesAlarm', metric: 'lambdaThrottles', threshold: 1, description: 'A cdk-cable function was throttled (account concurrency)' },
  { id: 'FanOutFailuresAlarm', metric: 'fanOutFailures', threshold: 10, description: 'Broadcast posts failed after their retries' },
  { id: 'IntegrationErrorsAlarm', metric: 'integrationErrors', threshold: 5, description: 'API Gateway could not get an answer from a cdk-cable handler' },
  { id: 'ExecutionErrorsAlarm', metric: 'executionErrors', threshold: 5, description: 'API Gateway failed calling a cdk-cable handler' },
  {
    id: 'RpcErrorsAlarm',
    metric: 'rpcErrors',
    threshold: 5,
    description: 'Calls to the app\'s AnyCable RPC failed (timeout, HTTP error, malformed answer or status 0); see "rpc_failed" and "rpc_error" in the handlers\' logs',
  },
  {
    // A round may end up to a tick after its window's start; a second past its end means pings
    // went out a second late, a third of a stock client's 3 s beat of slack.
    id: 'PingLagAlarm',
    metric: 'pingLag',
    threshold: 1000,
    description: 'Keepalive pings went out over a second late (PingLag, ms): the pinger falls behind; see "ping.understaffed" and "ping.behind" in the ping function\'s logs',
  },
];

export interface AlarmsSettings {
  readonly alarms: boolean;
  readonly action?: cloudwatch.IAlarmAction;
  readonly dashboard: boolean;
}

export function settings(props: CableWebSocketApiProps): AlarmsSettings {
  return { alarms: props.alarms === true || props.alarmAction !== undefined, action: props.alarmAction, dashboard: props.dashboard ?? false };
}

export interface CableMonitoring {
  /** Empty unless `alarms` or `alarmAction` is set. */
  readonly alarms: cloudwatch.Alarm[];
  readonly dashboard?: cloudwatch.Dashboard;
}

/** The construct's `metric*()` methods the alarms and the dashboard watch (CableWebSocketApi has them). */
export interface MetricSource {
  metricHandlerErrors(): cloudwatch.IMetric;
  metricLambdaThrottles(): cloudwatch.IMetric;
  metricLambdaErrors(): cloudwatch.IMetric;
  metricFanOutFailures(): cloudwatch.IMetric;
  metricIntegrationError(): cloudwatch.IMetric;
  metricExecutionError(): cloudwatch.IMetric;
  metricConnectCount(): cloudwatch.IMetric;
  metricMessageCount(): cloudwatch.IMetric;
  metricBroadcasts(): cloudwatch.IMetric;
  metricDeliveries(): cloudwatch.IMetric;
  metricGoneConnections(): cloudwatch.IMetric;
  metricIntegrationLatency(): cloudwatch.IMetric;
  metricRpcErrors(): cloudwatch.IMetric;
  metricPingLag(): cloudwatch.IMetric;
}

/** The alarms and the dashboard over the cable's `metric*()` methods; the RPC alarm and graph exist only with `rpc`. */
export interface AlarmsWiring {
  readonly settings: AlarmsSettings;
  /** The metrics come from the construct's own `metric*()` methods. */
  readonly cable: MetricSource;
  readonly hasRpc: boolean;
}

export function create(scope: Construct, wiring: AlarmsWiring): CableMonitoring {
  const { settings: options, cable } = wiring;
  const metrics: CableWatchedMetrics = {
    handlerErrors: cable.metricHandlerErrors(),
    lambdaThrottles: cable.metricLambdaThrottles(),
    lambdaErrors: cable.metricLambdaErrors(),
    fanOutFailures: cable.metricFanOutFailures(),
    integrationErrors: cable.metricIntegrationError(),
    executionErrors: cable.metricExecutionError(),
    connects: cable.metricConnectCount(),
    messages: cable.metricMessageCount(),
    broadcasts: cable.metricBroadcasts(),
    deliveries: cable.metricDeliveries(),
    goneConnections: cable.metricGoneConnections(),
    integrationLatency: cable.metricIntegrationLatency(),
    ...(wiring.hasRpc ? { rpcErrors: cable.metricRpcErrors() } : {}),
    pingLag: cable.metricPingLag(),
  };
  const alarms = options.alarms ? createAlarms(scope, metrics, options.action) : [];
  return { alarms, dashboard: options.dashboard ? createDashboard(scope, metrics, alarms) : undefined };
}

/** One alarm per spec, over 5-minute sums (PingLag: maximum); missing data (no traffic) is not a breach. */
function createAlarms(scope: Construct, metrics: CableWatchedMetrics, action?: cloudwatch.IAlarmAction): cloudwatch.Alarm[] {
  return ALARMS.flatMap((spec) => {
    const metric = metrics[spec.metric];
    if (!metric) return [];
    const alarm = new cloudwatch.Alarm(scope, spec.id, {
      metric,
      threshold: spec.threshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: spec.description,
    });
    if (action) alarm.addAlarmAction(action);
    return alarm;
  });
}

/** Traffic, broadcasting and errors on one page. */
function createDashboard(scope: Construct, metrics: CableWatchedMetrics, alarms: cloudwatch.Alarm[]): cloudwatch.Dashboard {
  const graph = (title: string, left: cloudwatch.IMetric[]) => new cloudwatch.GraphWidget({ title, left, width: 8, period: Duration.minutes(5) });
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard');
  dashboard.addWidgets(
    graph('Connections and messages', [metrics.connects, metrics.messages]),
    graph('Broadcasts and deliveries', [metrics.broadcasts, metrics.deliveries]),
    graph('Gone connections cleaned up', [metrics.goneConnections]),
  );
  dashboard.addWidgets(
    graph('Errors', [metrics.handlerErrors, metrics.lambdaErrors, metrics.fanOutFailures, ...(metrics.rpcErrors ? [metrics.rpcErrors] : [])]),
    graph('API Gateway errors', [metrics.integrationErrors, metrics.executionErrors]),
    graph('Handler latency (API Gateway)', [metrics.integrationLatency]),
  );
  if (alarms.length > 0) dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24 }));
  return dashboard;
}
