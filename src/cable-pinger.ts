import { Annotations, Duration, Token } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { HandlerName } from './cable-handlers';
import type { CableWebSocketApiProps } from './cable-websocket-api-props';
import { CONNECTIONS_TABLE, SUBSCRIPTIONS_TABLE } from './contract/table-schema';
import { acknowledgeConnectionsWildcard } from './private/nag';

/** API Gateway WebSocket messages, us-east-1 list price for the first billion a month (see docs/cost.md). */
export const PRICE_PER_MILLION_MESSAGES = 1.0;
/** API Gateway's default account quota of requests per second, which `@connections` posts draw on. */
export const ACCOUNT_REQUESTS_PER_SECOND = 10_000;
const SECONDS_PER_MONTH = 30 * 24 * 60 * 60;
/** Above this monthly ping cost per 1,000 connections the construct warns at synth. */
const PING_COST_WARNING_PER_1000 = 100;

export interface PingerSettings {
  readonly enabled: boolean;
  readonly intervalSeconds: number;
  readonly minClientIntervalSeconds: number;
  readonly maxClientIntervalSeconds: number;
  readonly maxPerSecond: number;
  readonly maxConnectionAgeSeconds: number;
  readonly expectedConnections?: number;
  /** Memory of the pinger function, MB: posting is CPU-bound and Lambda's CPU grows with memory. */
  readonly memorySize: number;
}

/**
 * Posts per second one pinger invocation sustains per MB of memory: measured 700/s at 256 MB with
 * the signed transport (bench/results/transport.json, docs/cost.md); CPU stops growing at 1,769 MB.
 */
const POSTS_PER_SECOND_PER_MB = 700 / 256;
const FULL_VCPU_MB = 1769;

/** What every function needs to know about pings (`$connect` clamps `?pi=` with it). */
export function pingEnvironment(settings: PingerSettings): Record<string, string> {
  return {
    CABLE_PING_INTERVAL: String(settings.enabled ? settings.intervalSeconds : 0),
    CABLE_PING_MIN_CLIENT_INTERVAL: String(settings.minClientIntervalSeconds),
    CABLE_PING_MAX_CLIENT_INTERVAL: String(settings.maxClientIntervalSeconds),
    CABLE_PING_MAX_PER_SECOND: String(settings.maxPerSecond),
    CABLE_MAX_CONNECTION_AGE: String(settings.maxConnectionAgeSeconds),
  };
}

export interface PingerWiring {
  readonly handler: (name: HandlerName, extra: Record<string, string>) => lambda.Function;
  readonly connectionsTable: dynamodb.ITable;
  readonly subscriptionsTable: dynamodb.ITable;
  readonly connectionsArn: (method: string) => string;
}

/**
 * The pinger: an EventBridge rule invokes it once a minute, and it runs ping rounds within that
 * minute (every interval when that is under a minute), reading the slim `pings` index, and ends
 * connections nearing API Gateway's 2-hour cut with a `server_restart` disconnect.
 */
export function createPinger(scope: Construct, wiring: PingerWiring): lambda.Function {
  const pinger = wiring.handler('ping', {});
  const schedule = new events.Rule(scope, 'PingSchedule', {
    description: 'cdk-cable keepalive: starts the pinger once a minute',
    // On the whole minute: each invocation pings the window from its event time onwards, so
    // consecutive windows join up when the times are exactly a minute apart.
    schedule: events.Schedule.cron({ minute: '*' }),
  });
  // Lambda's own retries of the asynchronous call would ping a minute's connections twice, late.
  pinger.configureAsyncInvoke({ retryAttempts: 0 });
  // A missed minute is not worth catching up: the next invocation pings whatever is due then.
  schedule.addTarget(new targets.LambdaFunction(pinger, { retryAttempts: 0, maxEventAge: Duration.minutes(1) }));

  const connections = CONNECTIONS_TABLE;
  const subscriptions = SUBSCRIPTIONS_TABLE;
  const allow = (actions: string[], resources: string[]) => pinger.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
  allow(['dynamodb:Scan'], [`${wiring.connectionsTable.tableArn}/index/${connections.pingsIndex}`]);
  allow(['dynamodb:DeleteItem'], [wiring.connectionsTable.tableArn]);
  allow(['dynamodb:BatchWriteItem'], [wiring.subscriptionsTable.tableArn]);
  allow(['dynamodb:Query'], [`${wiring.subscriptionsTable.tableArn}/index/${subscriptions.byConnectionIndex}`]);
  allow(['execute-api:ManageConnections'], [wiring.connectionsArn('POST'), wiring.connectionsArn('DELETE')]);
  acknowledgeConnectionsWildcard(pinger);
  return pinger;
}

/** Monthly API Gateway cost of pings for 1,000 connections at `intervalSeconds` (one message each). */
export function monthlyPingCostPer1000(intervalSeconds: number): number {
  return (1000 * SECONDS_PER_MONTH / intervalSeconds) * PRICE_PER_MILLION_MESSAGES / 1_000_000;
}

/** Synth-time notes on what the chosen interval costs and whether the post rate nears the quota. */
export function annotatePingCost(scope: Construct, settings: PingerSettings): void {
  if (!settings.enabled || Token.isUnresolved(settings.intervalSeconds)) return;
  const cost = monthlyPingCostPer1000(settings.intervalSeconds);
  const summary = `pings every ${settings.intervalSeconds} s cost about $${cost.toFixed(2)} a month per 1,000 connections in API Gateway messages alone (docs/cost.md)`;
  if (cost > PING_COST_WARNING_PER_1000) {
    Annotations.of(scope).addWarningV2('cdk-cable:pingCost', `${summary}; clients that set ConnectionMonitor.staleThreshold and connect with ?pi=<seconds> may ask for less (README, "Keepalive")`);
  } else {
    Annotations.of(scope).addInfo(`cdk-cable: ${summary}`);
  }
  if (settings.expectedConnections !== undefined) {
    const rate = settings.expectedConnections / settings.intervalSeconds;
    if (rate > ACCOUNT_REQUESTS_PER_SECOND / 2) {
      Annotations.of(scope).addWarningV2('cdk-cable:pingRate',
        `${settings.expectedConnections} connections pinged every ${settings.intervalSeconds} s make ${Math.round(rate)} @connections posts/s, more than half the account's default ${ACCOUNT_REQUESTS_PER_SECOND} requests/s that broadcasts share; raise pingInterval or ask AWS for a higher quota`);
    }
    const capacity = POSTS_PER_SECOND_PER_MB * Math.min(settings.memorySize, FULL_VCPU_MB);
    if (!Token.isUnresolved(settings.memorySize) && rate > 0.8 * capacity) {
      Annotations.of(scope).addWarningV2('cdk-cable:pingCapacity',
        `${settings.expectedConnections} connections pinged every ${settings.intervalSeconds} s need ${Math.round(rate)} posts/s; one pinger at ${settings.memorySize} MB sustains about ${Math.round(capacity)}/s: raise memorySize (up to ${FULL_VCPU_MB} MB) or pingInterval`);
    }
    if (rate > settings.maxPerSecond) {
      Annotations.of(scope).addWarningV2('cdk-cable:pingCeiling',
        `${settings.expectedConnections} connections pinged every ${settings.intervalSeconds} s need ${Math.round(rate)} posts/s, above maxPingsPerSecond (${settings.maxPerSecond}): pings would fall behind and clients reconnect`);
    }
  }
}

export function validatePinger(settings: PingerSettings): void {
  const check = (name: string, value: number, min: number, max: number, unit: string) => {
    if (Token.isUnresolved(value)) return;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`\`${name}\` must be a whole number of ${unit} from ${min} to ${max}, got ${value}`);
    }
  };
  check('pingInterval', settings.intervalSeconds, 1, 540, 'seconds');
  check('minClientPingInterval', settings.minClientIntervalSeconds, 1, 540, 'seconds');
  check('maxClientPingInterval', settings.maxClientIntervalSeconds, 1, 540, 'seconds');
  check('maxPingsPerSecond', settings.maxPerSecond, 1, ACCOUNT_REQUESTS_PER_SECOND, 'posts per second');
  check('maxConnectionAge', settings.maxConnectionAgeSeconds, 60, 7200, 'seconds');
  const { minClientIntervalSeconds: min, intervalSeconds: interval, maxClientIntervalSeconds: max } = settings;
  if (![min, interval, max].some((v) => Token.isUnresolved(v)) && (min > interval || interval > max)) {
    throw new Error(`\`pingInterval\` (${interval} s) must lie between \`minClientPingInterval\` (${min} s) and \`maxClientPingInterval\` (${max} s)`);
  }
}

/** Whole seconds of a Duration prop, with the prop's name in the error when it is fractional. */
function wholeSeconds(name: string, duration: Duration): number {
  const seconds = duration.toSeconds({ integral: false });
  if (!Token.isUnresolved(seconds) && !Number.isInteger(seconds)) {
    throw new Error(`\`${name}\` must be a whole number of seconds, got ${duration.toHumanString()}`);
  }
  return seconds;
}

export function pingerSettings(props: CableWebSocketApiProps): PingerSettings {
  return {
    enabled: props.pings ?? true,
    intervalSeconds: wholeSeconds('pingInterval', props.pingInterval ?? Duration.seconds(3)),
    // By default a client may ask for fewer pings than the server's interval, not more.
    minClientIntervalSeconds: wholeSeconds('minClientPingInterval', props.minClientPingInterval ?? props.pingInterval ?? Duration.seconds(3)),
    maxClientIntervalSeconds: wholeSeconds('maxClientPingInterval', props.maxClientPingInterval ?? Duration.minutes(9)),
    maxPerSecond: props.maxPingsPerSecond ?? 5000,
    maxConnectionAgeSeconds: wholeSeconds('maxConnectionAge', props.maxConnectionAge ?? Duration.minutes(118)),
    expectedConnections: props.expectedConnections,
    memorySize: props.memorySize ?? 256,
  };
}
