import * as logs from 'aws-cdk-lib/aws-logs';

/**
 * API Gateway access logs of a `CableWebSocketApi` (part of `CableWebSocketApiProps`).
 */
export interface CableAccessLogProps {
  /**
   * Write API Gateway access logs (one line per connect, message and disconnect) to a log group.
   * API Gateway needs an account-level CloudWatch Logs role for this; see `createCloudWatchRole`.
   * @default false
   */
  readonly accessLogging?: boolean;

  /**
   * The log group for access logs; implies `accessLogging: true`.
   * @default - a new log group with `logRetention`, when `accessLogging` is true
   */
  readonly accessLogGroup?: logs.ILogGroup;

  /**
   * Set the account-level role API Gateway writes logs with (`AWS::ApiGateway::Account`), which
   * access logs need. There is one such setting per account and region, shared by every API there:
   * `true` creates the role and sets it (do this in one stack only); `false` says the account
   * already has one. Required whenever access logging is on (`accessLogging` or `accessLogGroup`),
   * so that a missing role fails at synth rather than at deployment ("CloudWatch Logs role ARN
   * must be set in account settings"). The role and the setting are always retained when they
   * leave the stack (`RemovalPolicy.RETAIN`, whatever `removalPolicy` says): deleting them would
   * stop API Gateway logging for every API of the account in that region.
   * @default - no role is created; must be set when access logging is on
   */
  readonly createCloudWatchRole?: boolean;
}
