import { Annotations, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/*
 * What the deployment costs a month when nobody is connected (docs/cost.md, "Idle"), noted at
 * synth. us-east-1 list prices of docs/cost.md; a 30-day month.
 */

const INVOCATIONS_PER_MONTH = 43_200;
const LAMBDA_PER_REQUEST = 0.20 / 1e6;
const LAMBDA_ARM_PER_GB_SECOND = 0.0000133334;
/** An idle pinger's invocation: it finds no connection and returns (docs/cost.md, "Idle"). */
const IDLE_PING_SECONDS = 0.02;
/** Lambda's START/END/REPORT lines and the pinger's `ping.period` line, bytes (assumed). */
const IDLE_PING_LOG_BYTES = 700;
const LOG_INGESTION_PER_GB = 0.50;
/**
 * An idle minute's DynamoDB requests: the Scan of the empty `pings` index in its 4 segments, 0.5
 * RRU each (bench:cost: the least any measured round read), and the claim and release of the
 * pinger's lease, two UpdateItems of a small item (dynamo-pinger-state.ts; not measured).
 */
const IDLE_MINUTE_RRU = 2;
const IDLE_MINUTE_WRU = 2;
const DYNAMODB_PER_RRU = 0.125 / 1e6;
const DYNAMODB_PER_WRU = 0.625 / 1e6;
const SECRET_PER_MONTH = 0.40;
const ALARM_METRIC_PER_MONTH = 0.10;
const DASHBOARD_PER_MONTH = 3.00;

export interface IdleCostWiring {
  /** Whether the pinger's schedule runs (`pings`). */
  readonly pings: boolean;
  readonly memorySize: number;
  readonly secret: secretsmanager.ISecret;
  readonly alarms: readonly cloudwatch.Alarm[];
  readonly dashboard?: cloudwatch.Dashboard;
}

/** The parts of the idle monthly cost in dollars, by what charges them. */
export function idleMonthlyCost(scope: Construct, wiring: IdleCostWiring): Record<string, number> {
  const memoryGb = Token.isUnresolved(wiring.memorySize) ? 0.25 : wiring.memorySize / 1024;
  const pinger = wiring.pings ? INVOCATIONS_PER_MONTH * (LAMBDA_PER_REQUEST + IDLE_PING_SECONDS * memoryGb * LAMBDA_ARM_PER_GB_SECOND
    + IDLE_PING_LOG_BYTES / 1e9 * LOG_INGESTION_PER_GB + IDLE_MINUTE_RRU * DYNAMODB_PER_RRU + IDLE_MINUTE_WRU * DYNAMODB_PER_WRU) : 0;
  // A secret the construct made is its cost; a given one is already paid for.
  const secret = wiring.secret.node.scope === scope ? SECRET_PER_MONTH : 0;
  // Alarms are billed per metric they watch: a metric-math alarm for each metric in its expression.
  const alarmMetrics = wiring.alarms.reduce((sum, alarm) => {
    const metrics = (alarm.node.defaultChild as cloudwatch.CfnAlarm).metrics;
    return sum + (Array.isArray(metrics) ? metrics.filter((m) => (m as cloudwatch.CfnAlarm.MetricDataQueryProperty).metricStat).length : 1);
  }, 0);
  return {
    pinger,
    secret,
    alarms: alarmMetrics * ALARM_METRIC_PER_MONTH,
    dashboard: wiring.dashboard ? DASHBOARD_PER_MONTH : 0,
  };
}

/** An info note with the idle cost, part by part. */
export function annotateIdleCost(scope: Construct, wiring: IdleCostWiring): void {
  const parts = idleMonthlyCost(scope, wiring);
  const total = Object.values(parts).reduce((a, b) => a + b, 0);
  const listed = Object.entries(parts).filter(([, cost]) => cost > 0).map(([part, cost]) => `${part} $${cost.toFixed(2)}`).join(', ');
  Annotations.of(scope).addInfo(`cdk-cable: idle (nobody connected) this deployment costs about $${total.toFixed(2)} a month`
    + `${listed ? ` (${listed})` : ''}${wiring.dashboard ? '; the dashboard is free within an account\'s first three' : ''} (docs/cost.md, "Idle")`);
}
