import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { ConsoleLogger } from '../../lambda/adapters/console-logger';
import { ConnectionRegistry } from '../../lambda/local/connection-registry';

/*
 * Counting what the local server does, without changing it. The local server builds its Lambda
 * handlers from the factories of lambda/handlers/ (and the broadcast and fan-out entry points)
 * at start-up; `instrumentHandlers()` swaps those module exports for wrappers before the server
 * starts, so every invocation AWS would bill is counted and timed, and the handlers themselves
 * run unchanged. TypeScript's CommonJS output reads an import at call time
 * (`(0, module_1.makeConnectHandler)(…)`), which is what makes the swap reach the server; the
 * bench checks afterwards that each wrapper was actually called (`assertInstrumented`).
 */

/** The Lambda functions of the stack, by the names README.md gives them. */
export const FUNCTIONS = ['connect', 'message', 'disconnect', 'deliver', 'broadcast', 'fanout', 'ping'] as const;
export type FunctionName = typeof FUNCTIONS[number];

export interface FunctionCounts {
  invocations: number;
  errors: number;
  /** Wall time of each invocation, ms (local: dynalite in this process, loopback; not AWS latency). */
  ms: number[];
  /** Log lines the function wrote (its own JSON lines; not Lambda's START/END/REPORT). */
  logLines: number;
  logBytes: number;
  /** `@connections` posts made inside its invocations (delivered or 410). */
  posts: number;
}

/** API Gateway's meters: messages both ways (billed per 32 KB), connection events, `@connections` calls. */
export interface ApiGatewayCounts {
  connects: number;
  disconnects: number;
  /** Client → server frames (each a `$default` invocation here). */
  inboundMessages: number;
  inboundBytes: number;
  /** Inbound messages in billed 32 KB units. */
  inboundBilled: number;
  /** `PostToConnection` calls answered 200: frames delivered to a client. */
  postsDelivered: number;
  outboundBytes: number;
  /** Outbound messages in billed 32 KB units. */
  outboundBilled: number;
  /** `PostToConnection` answered 410 (not open yet, or gone): a call, no message. */
  postsGone: number;
  postsTooLarge: number;
  /** `DeleteConnection` calls (the pinger's 2-hour close, `invalid_request`). */
  deleteConnections: number;
}

export interface InstrumentCounts {
  functions: Record<FunctionName, FunctionCounts>;
  apiGateway: ApiGatewayCounts;
  /** Scheduled pinger invocations the local server made and the bench held back (see `PingGate`). */
  scheduledPingsSkipped: number;
}

export const BILLED_MESSAGE_BYTES = 32 * 1024;

export function billedMessages(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / BILLED_MESSAGE_BYTES));
}

function emptyCounts(): InstrumentCounts {
  return {
    functions: Object.fromEntries(FUNCTIONS.map((name) => [name, { invocations: 0, errors: 0, ms: [], logLines: 0, logBytes: 0, posts: 0 }])) as
      unknown as Record<FunctionName, FunctionCounts>,
    apiGateway: {
      connects: 0,
      disconnects: 0,
      inboundMessages: 0,
      inboundBytes: 0,
      inboundBilled: 0,
      postsDelivered: 0,
      outboundBytes: 0,
      outboundBilled: 0,
      postsGone: 0,
      postsTooLarge: 0,
      deleteConnections: 0,
    },
    scheduledPingsSkipped: 0,
  };
}

type Handler = (...args: never[]) => Promise<unknown>;
type Factory = (...args: never[]) => Handler;

export class Instrument {
  readonly counts: InstrumentCounts = emptyCounts();
  /** Which function the current async context belongs to (log lines are attributed with it). */
  private readonly context = new AsyncLocalStorage<FunctionName>();
  private running = 0;
  private readonly called = new Set<FunctionName>();
  /** The real `makePingHandler`, for the bench to run ping rounds itself. */
  realPingFactory?: Factory;

  get inFlight(): number {
    return this.running;
  }

  snapshot(): InstrumentCounts {
    return JSON.parse(JSON.stringify(this.counts));
  }

  /** Counts, times and attributes one invocation of `name`. */
  wrap<H extends Handler>(name: FunctionName, handler: H): H {
    const wrapped = async (...args: never[]) => {
      this.called.add(name);
      const counts = this.counts.functions[name];
      counts.invocations++;
      this.running++;
      const started = performance.now();
      try {
        return await this.context.run(name, () => handler(...args));
      } catch (error) {
        counts.errors++;
        throw error;
      } finally {
        counts.ms.push(performance.now() - started);
        this.running--;
      }
    };
    return wrapped as unknown as H;
  }

  /**
   * The logger the server and its handlers share: lines written inside a function's invocation are
   * counted for it (what CloudWatch Logs would ingest from it); the server's own `local.*` lines are not.
   */
  logger(echo = false): ConsoleLogger {
    return new ConsoleLogger('info', (line) => {
      const name = this.context.getStore();
      if (echo) console.log(line);
      if (!name || line.includes('"event":"local.')) return;
      const counts = this.counts.functions[name];
      counts.logLines++;
      counts.logBytes += Buffer.byteLength(line, 'utf8') + 1;
    });
  }

  /** Counts `@connections` calls where both the HTTP endpoint and the in-process transport make them. */
  watchRegistry(registry: ConnectionRegistry): void {
    const post = registry.post.bind(registry);
    const disconnect = registry.disconnect.bind(registry);
    const api = this.counts.apiGateway;
    registry.post = (connectionId, data) => {
      const outcome = post(connectionId, data);
      const bytes = Buffer.byteLength(data);
      const caller = this.context.getStore();
      if (caller && outcome !== 'too_large') this.counts.functions[caller].posts++;
      if (outcome === 'sent') {
        api.postsDelivered++;
        api.outboundBytes += bytes;
        api.outboundBilled += billedMessages(bytes);
      } else if (outcome === 'gone') {
        api.postsGone++;
      } else {
        api.postsTooLarge++;
      }
      return outcome;
    };
    registry.disconnect = (connectionId) => {
      api.deleteConnections++;
      return disconnect(connectionId);
    };
  }

  /**
   * Swaps the factories the local server builds its functions from. Must run before the server
   * starts. The server's own ping schedule is held back (each scheduled invocation returns at once
   * and is counted as skipped): the bench runs ping rounds itself, so that no round lands in the
   * middle of another operation's counts.
   */
  instrumentHandlers(): void {
    const api = this.counts.apiGateway;
    patch('../../lambda/handlers/connect-handler', 'makeConnectHandler', (real) => (deps) => {
      const handler = this.wrap('connect', real(deps));
      return (async (event: never) => {
        api.connects++;
        return handler(event);
      }) as Handler;
    });
    patch('../../lambda/handlers/message-handler', 'makeMessageHandler', (real) => (deps) => {
      const handler = this.wrap('message', real(deps));
      return (async (event: { body?: string | null; isBase64Encoded?: boolean }) => {
        const bytes = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').length : Buffer.byteLength(event.body ?? '');
        api.inboundMessages++;
        api.inboundBytes += bytes;
        api.inboundBilled += billedMessages(bytes);
        return handler(event as never);
      }) as unknown as Handler;
    });
    patch('../../lambda/handlers/disconnect-handler', 'makeDisconnectHandler', (real) => (deps) => {
      const handler = this.wrap('disconnect', real(deps));
      return (async (event: never) => {
        api.disconnects++;
        return handler(event);
      }) as Handler;
    });
    patch('../../lambda/handlers/deliver-handler', 'makeDeliverHandler', (real) => (deps) => this.wrap('deliver', real(deps)));
    patch('../../lambda/core/broadcast', 'fanOut', (real) => this.wrap('fanout', real as unknown as Handler) as unknown as Factory);
    patch('../../lambda/local/broadcast-endpoint', 'inProcessBroadcasts', (real) => (deps) => this.wrap('broadcast', real(deps)));
    patch('../../lambda/handlers/ping-handler', 'makePingHandler', (real) => {
      this.realPingFactory = real;
      return () => (async () => {
        this.counts.scheduledPingsSkipped++;
        return { rounds: 0, failedRounds: 0, lateTicks: 0, connections: 0, pinged: 0, expired: 0, gone: 0, notOpen: 0, failed: 0, retries: 0 };
      }) as Handler;
    });
  }

  /** Throws unless every function in `names` was invoked through its wrapper at least once. */
  assertInstrumented(names: readonly FunctionName[]): void {
    const missing = names.filter((name) => !this.called.has(name));
    if (missing.length > 0) {
      throw new Error(`instrumentation did not reach ${missing.join(', ')}: the local server no longer builds them from the patched exports; counts would be wrong`);
    }
  }
}

/** Replaces `module[name]`; the module is loaded here, so that this runs before the server imports it. */
function patch(modulePath: string, name: string, replace: (real: Factory) => Factory): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const module = require(modulePath) as Record<string, Factory>;
  const real = module[name];
  if (typeof real !== 'function') throw new Error(`${modulePath} exports no function ${name}`);
  module[name] = replace(real);
}
