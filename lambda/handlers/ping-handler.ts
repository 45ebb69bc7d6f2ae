import { guarded, HandlerOptions } from './guard';
import { LambdaContext, withLogContext } from './log-context';
import { CABLE_METRIC_NAMES as M } from '../../src/contract/metric-names';
import { emitMetrics } from '../adapters/emf-metrics';
import { PingDeps } from '../core/ping';
import { DEFAULT_PING_PERIOD_MS, PingPeriodResult, runPingPeriod } from '../core/ping-schedule';

/** The fields of EventBridge's scheduled event the pinger reads. */
export interface ScheduledEvent {
  /** The scheduled time, ISO 8601 (`2024-01-01T12:00:00Z`). */
  readonly time?: string;
}

export interface PingHandlerDeps extends PingDeps {
  /** The schedule's period: the time between two invocations. @default 60_000 */
  readonly periodMs?: number;
  /** Ends the period early, between rounds (the local server stopping). @default - never */
  readonly stopped?: () => boolean;
}

/**
 * The pinger, invoked by an EventBridge schedule once a period (a minute): rounds through the
 * period (ping-schedule.ts), then returns before the next invocation. The period starts at the
 * event's scheduled `time`, not at the moment Lambda runs, so consecutive invocations cover
 * consecutive windows whatever their delivery delay. A round whose read failed fails the
 * invocation once the period is over (the other rounds still ran); do not let Lambda or
 * EventBridge retry it, which would ping its windows twice. Counts go to CloudWatch once per
 * invocation (Embedded Metric Format): `Pings`, `GoneConnections` (shared with fan-out),
 * `PingFailures`, `MaxAgeDisconnects`.
 */
export function makePingHandler(deps: () => Promise<PingHandlerDeps>, options: HandlerOptions = {}) {
  return async (event: ScheduledEvent | undefined, context?: LambdaContext): Promise<PingPeriodResult> => {
    let resolved: PingHandlerDeps | undefined;
    return guarded('ping', undefined, () => resolved?.logger, options, async () => {
      resolved = withLogContext(await deps(), { requestId: context?.awsRequestId });
      const periodMs = resolved.periodMs ?? DEFAULT_PING_PERIOD_MS;
      const start = periodStart(event, resolved.clock.now(), periodMs);
      const result = await runPingPeriod(resolved, { start, periodMs, stopped: resolved.stopped });
      resolved.logger[result.failedRounds > 0 ? 'error' : 'info']('ping.period', { start, periodMs, ...result });
      emitMetrics(resolved.logger, options.apiId, {
        [M.pings]: result.pinged, [M.goneConnections]: result.gone, [M.pingFailures]: result.failed, [M.maxAgeDisconnects]: result.expired,
      });
      if (result.failedRounds > 0) throw new Error(`ping: ${result.failedRounds} of ${result.rounds} rounds failed to read the connections (see ping.round)`);
      return result;
    });
  };
}

/**
 * The event's scheduled time, exactly: EventBridge stamps an event with the time it was scheduled
 * for, so consecutive invocations' times are one period apart whatever their delivery delay (a
 * `cron(* * * * ? *)` schedule's are whole minutes). Without a time (a test invocation), the
 * current period.
 */
function periodStart(event: ScheduledEvent | undefined, now: number, periodMs: number): number {
  const scheduled = typeof event?.time === 'string' ? Date.parse(event.time) : Number.NaN;
  return Number.isFinite(scheduled) ? scheduled : Math.floor(now / periodMs) * periodMs;
}
