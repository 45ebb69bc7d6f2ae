import { guarded, HandlerOptions } from './guard';
import { LambdaContext, withLogContext } from './log-context';
import { CABLE_METRIC_NAMES as M } from '../../src/contract/metric-names';
import { emitMetrics } from '../adapters/emf-metrics';
import { PingInvocation, PingInvocationDeps, PingInvocationResult, runPingInvocation } from '../core/ping-invocation';
import { DEFAULT_PING_PERIOD_MS } from '../core/ping-schedule';
import { PingInvocationEvent } from '../core/ping-workers';

/** The fields of EventBridge's scheduled event the pinger reads. */
export interface ScheduledEvent {
  /** The scheduled time, ISO 8601 (`2024-01-01T12:00:00Z`). */
  readonly time?: string;
}

export interface PingHandlerDeps extends PingInvocationDeps {
  /** The schedule's period: the time between two invocations. @default 60_000 */
  readonly periodMs?: number;
  /** Ends the period early, between rounds (the local server stopping). @default - never */
  readonly stopped?: () => boolean;
}

/**
 * The pinger, invoked by an EventBridge schedule once a period (a minute), by itself for each
 * further worker of a period, and by `$connect` when no pinger holds the lease
 * (`{"kind":"cable.ping"}`, ping-workers.ts): rounds through the period (ping-invocation.ts,
 * ping-schedule.ts), then returns before the next invocation. The period starts at the event's
 * scheduled `time`, not at the moment Lambda runs, so consecutive invocations cover consecutive
 * windows whatever their delivery delay, and every worker runs on the same ticks. A round whose
 * read failed fails the invocation once the period is over (the other rounds still ran); do not
 * let Lambda or EventBridge retry it, which would ping its windows twice. Counts go to CloudWatch
 * once per invocation (Embedded Metric Format): `Pings`, `GoneConnections` (shared with fan-out),
 * `PingFailures`, `MaxAgeDisconnects`, `PingLag` (ms), and from the coordinator `PingWorkers` and
 * `PingUnderstaffed`. A duplicate delivery writes none.
 */
export function makePingHandler(deps: () => Promise<PingHandlerDeps>, options: HandlerOptions = {}) {
  return async (event: ScheduledEvent | PingInvocationEvent | undefined, context?: LambdaContext): Promise<PingInvocationResult> => {
    let resolved: PingHandlerDeps | undefined;
    return guarded('ping', undefined, () => resolved?.logger, options, async () => {
      resolved = withLogContext(await deps(), { requestId: context?.awsRequestId });
      const periodMs = resolved.periodMs ?? DEFAULT_PING_PERIOD_MS;
      const start = periodStart(event, resolved.clock.now(), periodMs);
      const invocation: PingInvocation = { ...invocationOf(event), start, periodMs, stopped: resolved.stopped };
      const result = await runPingInvocation(resolved, invocation);
      if (result.outcome === 'duplicate') return result;
      resolved.logger[result.failedRounds > 0 ? 'error' : 'info']('ping.period', { start: invocation.start, periodMs, ...result });
      emitMetrics(resolved.logger, options.apiId, {
        [M.pings]: result.pinged,
        [M.goneConnections]: result.gone,
        [M.pingFailures]: result.failed,
        [M.maxAgeDisconnects]: result.expired,
        [M.pingLag]: result.lagMs,
        ...(result.worker === 0 ? { [M.pingWorkers]: result.workers, [M.pingUnderstaffed]: result.understaffed ? 1 : 0 } : {}),
      });
      if (result.failedRounds > 0) throw new Error(`ping: ${result.failedRounds} of ${result.rounds} rounds failed to read the connections (see ping.round)`);
      return result;
    });
  };
}

/** A worker's or `$connect`'s event: which share it pings; the schedule's: the coordinator. */
function invocationOf(event: ScheduledEvent | PingInvocationEvent | undefined): Pick<PingInvocation, 'worker' | 'workers' | 'lease'> {
  if (!event || !('kind' in event) || event.kind !== 'cable.ping') return {};
  const worker = Number.isInteger(event.worker) && event.worker >= 0 ? event.worker : 0;
  const workers = Number.isInteger(event.workers) && event.workers > worker ? event.workers : worker + 1;
  return { worker, workers, ...(typeof event.lease === 'string' ? { lease: event.lease } : {}) };
}

/**
 * The event's scheduled time, exactly: EventBridge stamps an event with the time it was scheduled
 * for, so consecutive invocations' times are one period apart whatever their delivery delay (a
 * `cron(* * * * ? *)` schedule's are whole minutes); workers and `$connect` pass the period's
 * start the same way. Without a time (a test invocation), the current period.
 */
function periodStart(event: ScheduledEvent | undefined, now: number, periodMs: number): number {
  const scheduled = typeof event?.time === 'string' ? Date.parse(event.time) : Number.NaN;
  return Number.isFinite(scheduled) ? scheduled : Math.floor(now / periodMs) * periodMs;
}
