import { Annotations, Duration, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { DEFAULT_MEMORY_SIZE } from './functions';
import type { CableWebSocketApiProps } from '../cable-websocket-api-props';
import {
  API_GATEWAY_MAX_CONNECTION_SECONDS, DEFAULT_MAX_CONNECTION_AGE_SECONDS, DEFAULT_PING, MAX_PING_INTERVAL_SECONDS,
  MAX_PING_WORKERS, PING_WORKER_HEADROOM, pingPostsPerSecondPerInvocation,
} from '../contract/defaults';
import type { CableFunctionEnvironment } from '../contract/environment';

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

export function settings(props: CableWebSocketApiProps): PingerSettings {
  const interval = props.pingInterval ?? Duration.seconds(DEFAULT_PING.intervalSeconds);
  const resolved: PingerSettings = {
    enabled: props.pings ?? true,
    intervalSeconds: wholeSeconds('pingInterval', interval),
    // By default a client may ask for fewer pings than the server's interval, not more.
    minClientIntervalSeconds: wholeSeconds('minClientPingInterval', props.minClientPingInterval ?? interval),
    maxClientIntervalSeconds: wholeSeconds('maxClientPingInterval', props.maxClientPingInterval ?? Duration.seconds(DEFAULT_PING.maxClientIntervalSeconds)),
    maxPerSecond: props.maxPingsPerSecond ?? DEFAULT_PING.maxPerSecond,
    maxConnectionAgeSeconds: wholeSeconds('maxConnectionAge', props.maxConnectionAge ?? Duration.seconds(DEFAULT_MAX_CONNECTION_AGE_SECONDS)),
    expectedConnections: props.expectedConnections,
    memorySize: props.memorySize ?? DEFAULT_MEMORY_SIZE,
  };
  validate(resolved);
  return resolved;
}

/** What every function needs to know about pings (`$connect` clamps `?pi=` with it). */
export function pingEnvironment(options: PingerSettings): CableFunctionEnvironment {
  return {
    maxConnectionAgeSeconds: options.maxConnectionAgeSeconds,
    ping: {
      intervalSeconds: options.enabled ? options.intervalSeconds : 0,
      minClientIntervalSeconds: options.minClientIntervalSeconds,
      maxClientIntervalSeconds: options.maxClientIntervalSeconds,
      maxPerSecond: options.maxPerSecond,
    },
  };
}

/**
 * The pinger's schedule: an EventBridge rule invokes it once a minute, and it runs ping rounds
 * within that minute (every interval when that is under a minute), reading the slim `pings`
 * index, and ends connections nearing API Gateway's 2-hour cut with a `server_restart`
 * disconnect. When one invocation cannot keep up it starts workers (asynchronous invocations of
 * itself, lambda/core/ping-invocation.ts); with no connection it returns at once, and `$connect`
 * starts it again. Notes at synth what the chosen interval costs and the most connections it pings.
 */
export function create(scope: Construct, wiring: {
  readonly settings: PingerSettings;
  readonly pinger: lambda.Function;
  readonly onFailure?: lambda.IDestination;
}): void {
  const { pinger } = wiring;
  const schedule = new events.Rule(scope, 'PingSchedule', {
    description: 'cdk-cable keepalive: starts the pinger once a minute',
    // On the whole minute: each invocation pings the window from its event time onwards, so
    // consecutive windows join up when the times are exactly a minute apart.
    schedule: events.Schedule.cron({ minute: '*' }),
  });
  // Lambda's own retries of the asynchronous call would ping a minute's connections twice, late;
  // a worker's or `$connect`'s event older than its period is no use either.
  pinger.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1), onFailure: wiring.onFailure });
  // A missed minute is not worth catching up: the next invocation pings whatever is due then.
  schedule.addTarget(new targets.LambdaFunction(pinger, { retryAttempts: 0, maxEventAge: Duration.minutes(1) }));
  annotatePingCost(scope, wiring.settings);
}

/** Monthly API Gateway cost of pings for 1,000 connections at `intervalSeconds` (one message each). */
export function monthlyPingCostPer1000(intervalSeconds: number): number {
  return (1000 * SECONDS_PER_MONTH / intervalSeconds) * PRICE_PER_MILLION_MESSAGES / 1_000_000;
}

/** Synth-time notes on what the chosen interval costs and whether the post rate nears the quota. */
function annotatePingCost(scope: Construct, options: PingerSettings): void {
  if (!options.enabled || Token.isUnresolved(options.intervalSeconds)) return;
  const cost = monthlyPingCostPer1000(options.intervalSeconds);
  const summary = `pings every ${options.intervalSeconds} s cost about $${cost.toFixed(2)} a month per 1,000 connections in API Gateway messages alone (docs/cost.md)`;
  if (cost > PING_COST_WARNING_PER_1000) {
    Annotations.of(scope).addWarningV2('cdk-cable:pingCost', `${summary}; clients that set ConnectionMonitor.staleThreshold and connect with ?pi=<seconds> may ask for less (README, "Keepalive")`);
  } else {
    Annotations.of(scope).addInfo(`cdk-cable: ${summary}`);
  }
  const ceiling = pingCeiling(options);
  if (ceiling !== undefined) {
    Annotations.of(scope).addInfo(`cdk-cable: the pinger pings at most ${ceiling.connections} connections every ${options.intervalSeconds} s `
      + `(${ceiling.postsPerSecond} posts/s over ${ceiling.workers} invocations of ${options.memorySize} MB; maxPingsPerSecond ${options.maxPerSecond}); above that pings fall behind (README, "Connection ceiling per interval")`);
  }
  if (options.expectedConnections === undefined) return;
  const rate = options.expectedConnections / options.intervalSeconds;
  const pinged = `${options.expectedConnections} connections pinged every ${options.intervalSeconds} s`;
  if (rate > ACCOUNT_REQUESTS_PER_SECOND / 2) {
    Annotations.of(scope).addWarningV2('cdk-cable:pingRate',
      `${pinged} make ${Math.round(rate)} @connections posts/s, more than half the account's default ${ACCOUNT_REQUESTS_PER_SECOND} requests/s that broadcasts share; raise pingInterval or ask AWS for a higher quota`);
  }
  if (ceiling !== undefined && options.expectedConnections > ceiling.connections) {
    Annotations.of(scope).addWarningV2('cdk-cable:pingCeiling',
      `${pinged} need ${Math.round(rate)} posts/s; the pinger sustains ${ceiling.postsPerSecond}/s (maxPingsPerSecond ${options.maxPerSecond}, at most ${MAX_PING_WORKERS} invocations of ${options.memorySize} MB): pings would fall behind and clients reconnect; raise maxPingsPerSecond, memorySize or pingInterval`);
  }
}

/** The most the pinger can do at the default interval: workers, their posts per second together, and connections pinged in time. */
export interface PingCeiling {
  readonly workers: number;
  readonly postsPerSecond: number;
  readonly connections: number;
}

/**
 * The pinger's ceiling, as the runtime sizes its workers (lambda/core/ping-workers.ts): each
 * invocation is planned for PING_WORKER_HEADROOM of the posts/s its memory sustains, and all
 * together post at most `maxPingsPerSecond`, with at most MAX_PING_WORKERS invocations.
 * Undefined when a value is a token.
 */
export function pingCeiling(options: Pick<PingerSettings, 'intervalSeconds' | 'maxPerSecond' | 'memorySize'>, intervalSeconds = options.intervalSeconds): PingCeiling | undefined {
  if ([intervalSeconds, options.maxPerSecond, options.memorySize].some((v) => Token.isUnresolved(v))) return undefined;
  const planned = pingPostsPerSecondPerInvocation(options.memorySize) * PING_WORKER_HEADROOM;
  const workers = Math.max(1, Math.min(MAX_PING_WORKERS, Math.ceil(options.maxPerSecond / planned)));
  const postsPerSecond = Math.floor(Math.min(options.maxPerSecond, workers * planned));
  return { workers, postsPerSecond, connections: postsPerSecond * intervalSeconds };
}

function validate(options: PingerSettings): void {
  const check = (name: string, value: number, min: number, max: number, unit: string) => {
    if (Token.isUnresolved(value)) return;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`\`${name}\` must be a whole number of ${unit} from ${min} to ${max}, got ${value}`);
    }
  };
  check('pingInterval', options.intervalSeconds, 1, MAX_PING_INTERVAL_SECONDS, 'seconds');
  check('minClientPingInterval', options.minClientIntervalSeconds, 1, MAX_PING_INTERVAL_SECONDS, 'seconds');
  check('maxClientPingInterval', options.maxClientIntervalSeconds, 1, MAX_PING_INTERVAL_SECONDS, 'seconds');
  check('maxPingsPerSecond', options.maxPerSecond, 1, ACCOUNT_REQUESTS_PER_SECOND, 'posts per second');
  check('maxConnectionAge', options.maxConnectionAgeSeconds, 60, API_GATEWAY_MAX_CONNECTION_SECONDS, 'seconds');
  const { minClientIntervalSeconds: min, intervalSeconds: interval, maxClientIntervalSeconds: max } = options;
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
