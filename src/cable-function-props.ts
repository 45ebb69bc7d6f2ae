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
   * Where Lambda sends an asynchronous event it gave up on, with the error: the deliver, fan-out
   * and ping functions' events (a welcome, one shard of a large stream, a minute's ping round), for
   * example `new lambda_destinations.SqsDestination(queue)`. None of them is retried after it ran
   * and failed, because a re-run would repeat what it already sent (README, "What gets deployed");
   * a failed fan-out event holds the broadcast and the shard's position, so you can inspect or
   * replay it from the destination. The destination's `bind` grants the functions the right to
   * send to it.
   * @default - none: a failed event is dropped once the function has logged it (`handler.failed`) and counted it (`HandlerErrors`)
   */
  readonly asyncFailureDestination?: lambda.IDestination;
}
