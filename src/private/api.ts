import { ArnFormat, Names, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from './nag';
import { validateStageName, validateThrottle } from './validation';
import type { CableWebSocketApiProps } from '../cable-websocket-api-props';

const DEFAULT_STAGE_NAME = 'cable';
const DEFAULT_THROTTLE = { rateLimit: 1000, burstLimit: 2000 };

/**
 * One JSON line per connect, message and disconnect, with what tells a failure apart: API
 * Gateway's own error (`error.message`), the integration's (`integration.error`, e.g. a handler
 * that threw or timed out), the status the handler returned, and how long it took. Only variables
 * that API Gateway lists for WebSocket access logs: an unsupported one fails the deployment.
 * The code a connection closed with (`disconnectStatusCode`) is not among them; it reaches only
 * the `$disconnect` handler's event (`requestContext`), whose log lines carry it.
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-logging.html
 */
export const ACCESS_LOG_FORMAT = apigateway.AccessLogFormat.custom(JSON.stringify({
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  eventType: '$context.eventType',
  routeKey: '$context.routeKey',
  connectionId: '$context.connectionId',
  sourceIp: '$context.identity.sourceIp',
  status: '$context.status',
  error: '$context.error.message',
  integrationStatus: '$context.integration.status',
  integrationError: '$context.integration.error',
  integrationLatency: '$context.integrationLatency',
}));

export interface ApiSettings {
  readonly stageName: string;
  readonly throttle: apigwv2.ThrottleSettings;
  /** A given access log group, or whether to create one. */
  readonly accessLogGroup?: logs.ILogGroup;
  readonly accessLogging: boolean;
  /** Whether to create the account-level role; explicit (validated) whenever access logging is on. */
  readonly createCloudWatchRole: boolean;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** The WebSocket API, the stage clients connect to, and its access log group. */
export interface CableApi {
  readonly webSocketApi: apigwv2.WebSocketApi;
  readonly stage: apigwv2.WebSocketStage;
  readonly accessLogGroup?: logs.ILogGroup;
}

export function settings(props: CableWebSocketApiProps): ApiSettings {
  const stageName = props.stageName ?? DEFAULT_STAGE_NAME;
  validateStageName(stageName);
  const throttle = { ...DEFAULT_THROTTLE, ...props.throttle };
  validateThrottle(throttle.rateLimit, throttle.burstLimit);
  const accessLogging = props.accessLogging ?? false;
  if ((accessLogging || props.accessLogGroup) && props.createCloudWatchRole === undefined) {
    throw new Error('`createCloudWatchRole` must be set when access logging is on (`accessLogging` or `accessLogGroup`), got undefined: '
      + 'true to create the account-level API Gateway CloudWatch role in this stack (one stack per account and region), '
      + 'false if the account already has one (API Gateway console, Settings, CloudWatch log role ARN)');
  }
  return {
    stageName,
    throttle,
    accessLogGroup: props.accessLogGroup,
    accessLogging,
    createCloudWatchRole: props.createCloudWatchRole ?? false,
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
  };
}

/** The API exists before the functions (they need its URL); routes are added once they do. */
export function create(scope: Construct, options: ApiSettings): CableApi {
  const accessLogGroup = options.accessLogGroup
    ?? (options.accessLogging ? new logs.LogGroup(scope, 'AccessLogs', { retention: options.logRetention, removalPolicy: options.removalPolicy }) : undefined);
  const webSocketApi = new apigwv2.WebSocketApi(scope, 'Api', {
    // Unique per stack and construct (the construct id 'Api' alone named every cable's API "Api").
    apiName: Names.uniqueResourceName(scope, { maxLength: 128, separator: '-' }),
    description: `cdk-cable ActionCable endpoint (${scope.node.path})`,
  });
  const stage = new apigwv2.WebSocketStage(scope, 'Stage', {
    webSocketApi,
    stageName: options.stageName,
    autoDeploy: true,
    throttle: options.throttle,
    accessLogSettings: accessLogGroup ? { destination: new apigwv2.LogGroupLogDestination(accessLogGroup), format: ACCESS_LOG_FORMAT } : undefined,
  });
  if (options.createCloudWatchRole) createCloudWatchRole(scope, stage);
  if (!accessLogGroup) {
    acknowledge(stage, [{
      id: 'AwsSolutions-APIG1',
      reason: 'Access logging needs an account-level CloudWatch role that may not exist; it is opt-in with accessLogging (and createCloudWatchRole).',
    }]);
  }
  return { webSocketApi, stage, accessLogGroup };
}

/** `execute-api` ARN of `method` on the stage's `@connections/*`. */
export function connectionsArn(api: CableApi, method: string): string {
  return Stack.of(api.stage).formatArn({
    service: 'execute-api',
    resource: api.webSocketApi.apiId,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    resourceName: `${api.stage.stageName}/${method}/@connections/*`,
  });
}

/**
 * The account-level role API Gateway writes logs with (one per account and region). Both are
 * retained whatever `removalPolicy` says: deleting the stack must not stop API Gateway logging for
 * every other API of the account in the region.
 */
function createCloudWatchRole(scope: Construct, stage: apigwv2.WebSocketStage): void {
  const role = new iam.Role(scope, 'ApiGatewayCloudWatchRole', {
    assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
  });
  acknowledge(role, [{
    id: 'AwsSolutions-IAM4',
    reason: 'AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for the account-level API Gateway logging role.',
    appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs'],
  }]);
  role.applyRemovalPolicy(RemovalPolicy.RETAIN);
  const account = new apigateway.CfnAccount(scope, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
  account.applyRemovalPolicy(RemovalPolicy.RETAIN);
  stage.node.addDependency(account);
}
