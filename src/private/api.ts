import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
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

export interface ApiSettings {
  readonly stageName: string;
  readonly throttle: apigwv2.ThrottleSettings;
  /** A given access log group, or whether to create one. */
  readonly accessLogGroup?: logs.ILogGroup;
  readonly accessLogging: boolean;
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
  return {
    stageName,
    throttle,
    accessLogGroup: props.accessLogGroup,
    accessLogging: props.accessLogging ?? false,
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
    description: `cdk-cable ActionCable endpoint (${scope.node.path})`,
  });
  const stage = new apigwv2.WebSocketStage(scope, 'Stage', {
    webSocketApi,
    stageName: options.stageName,
    autoDeploy: true,
    throttle: options.throttle,
    accessLogSettings: accessLogGroup ? { destination: new apigwv2.LogGroupLogDestination(accessLogGroup) } : undefined,
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

/** The account-level role API Gateway writes logs with (one per account and region). */
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
  const account = new apigateway.CfnAccount(scope, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
  stage.node.addDependency(account);
}
