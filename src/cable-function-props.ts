import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';

/**
 * The Lambda functions of a `CableWebSocketApi` (part of `CableWebSocketApiProps`).
 */
export interface CableFunctionProps {
  /**
   * Retention of the handlers' log groups (and of the access log group the construct creates).
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Memory of each handler function, in MB (CPU grows with it, which shortens cold starts).
   * @default 256
   */
  readonly memorySize?: number;

  /**
   * Instruction set of the handler functions.
   * @default lambda.Architecture.ARM_64
   */
  readonly architecture?: lambda.Architecture;

  /**
   * Node.js runtime of the handler functions (the bundles target Node.js 22 and later).
   * @default lambda.Runtime.NODEJS_22_X
   */
  readonly runtime?: lambda.Runtime;

  /**
   * Ship the functions' source maps and run them with `NODE_OPTIONS=--enable-source-maps`, so stack
   * traces in their logs point into cdk-cable's TypeScript sources instead of the minified bundle.
   *
   * Off by default (a behaviour change: the functions used to run with it): with it, Node reads and
   * parses a function's maps at each cold start, which lengthens its cold import
   * (bench/results/bundles.json). The bundles keep their function names (esbuild `--keep-names`),
   * so a trace without maps still names the functions. Turning it on adds the maps to every
   * function's code and NODE_OPTIONS to its environment (each function is updated).
   *
   * The npm package does not carry the maps (they were 40 % of its packed size): with it, synth
   * fails and says so. Build cdk-cable from its repository at the same version (`npx projen
   * bundle` writes the maps beside the bundles) and depend on that build.
   * @default false
   */
  readonly sourceMaps?: boolean;

  /**
   * Where Lambda sends the asynchronous events of the deliver, fan-out and ping functions that it gave up on.
   *
   * Each event arrives with the error, for example in `new lambda_destinations.SqsDestination(queue)`:
   * a welcome, one shard of a large stream, or a minute's ping round. None of them is run again
   * once it ran and failed, because a re-run would repeat what it had already sent (README, "What
   * gets deployed"); a failed fan-out event holds the broadcast and the shard's position, so it can
   * be inspected or replayed from the destination. The destination's `bind` grants the functions
   * the right to send to it. A destination rather than a dead-letter queue: it receives the error
   * and the retry condition with the event, and may be SQS, SNS, EventBridge or a function.
   * @default - none: a failed event is dropped once the function has logged it (`handler.failed`) and counted it (`HandlerErrors`)
   */
  readonly asyncFailureDestination?: lambda.IDestination;
}
