import { PingSettings } from '../core/config';
import { pingTickSeconds } from '../core/ping-interval';
import { DEFAULT_PING_PERIOD_MS } from '../core/ping-schedule';
import { Clock, Logger } from '../core/ports';
import { ScheduledEvent } from '../handlers/ping-handler';

/**
 * The local stand-in for the EventBridge schedule that invokes the pinger: an event with the
 * scheduled `time` every period, back to back (a late run makes the next one start at once).
 *
 * In-process, the period is AWS's minute and the handler loops through its rounds as in Lambda;
 * it sleeps on `clock`, which `stop()` wakes, and checks `stopped` between rounds, so stopping
 * waits for one round at most. A bundled function cannot be woken: it runs with a period of one
 * tick (CABLE_PING_PERIOD, see `localPingPeriodSeconds`), one round per invocation.
 */
export class LocalPingSchedule {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private isStopped = false;
  private isPaused = false;
  private next = 0;
  private readonly sleepers = new Set<() => void>();

  /** Time as the system tells it; sleeps end early once the schedule stops. */
  readonly clock: Clock = {
    now: () => Date.now(),
    sleep: (ms) => new Promise<void>((resolve) => {
      if (this.isStopped) return resolve();
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    }),
  };

  constructor(private readonly logger: Logger) {}

  readonly stopped = (): boolean => this.isStopped;

  start(invoke: (event: ScheduledEvent) => Promise<unknown>, periodMs: number, now = Date.now()): void {
    this.next = now;
    this.schedule(invoke, periodMs);
  }

  /** No invocation starts after this; resolves once the one running, if any, has finished its round. */
  async stop(): Promise<void> {
    this.isStopped = true;
    clearTimeout(this.timer);
    [...this.sleepers].forEach((wake) => wake());
    await this.running;
  }

  /**
   * Skips the scheduled invocations until `resume()` (the schedule keeps its beat); resolves once
   * the one running, if any, has finished. For tests that need the pinger to stay as it is, e.g.
   * idle: what a `$connect` then invokes still runs.
   */
  async pause(): Promise<void> {
    this.isPaused = true;
    await this.running;
  }

  resume(): void {
    this.isPaused = false;
  }

  private schedule(invoke: (event: ScheduledEvent) => Promise<unknown>, periodMs: number): void {
    if (this.isStopped) return;
    this.timer = setTimeout(() => {
      const time = new Date(this.next).toISOString();
      this.next += periodMs;
      const run = this.isPaused ? Promise.resolve() : invoke({ time });
      this.running = run
        .then(() => undefined, (error: unknown) => this.logger.warn('local.ping_failed', { time, error }))
        .finally(() => {
          this.running = undefined;
          this.schedule(invoke, periodMs);
        });
    }, Math.max(0, this.next - Date.now()));
  }
}

/** A bundled pinger's period: one tick (seconds, as CABLE_PING_PERIOD takes it), at most AWS's minute. */
export function localPingPeriodSeconds(ping: PingSettings): number {
  return Math.min(pingTickSeconds(ping), DEFAULT_PING_PERIOD_MS / 1000);
}
