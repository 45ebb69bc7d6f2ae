import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { CableBehaviorOptions } from './cable-distribution';
import { CableWebSocketApiProps } from './cable-websocket-api-props';
import { CABLE_FUNCTIONS } from './contract/functions';
import * as alarms from './private/alarms';
import * as api from './private/api';
import * as broadcast from './private/broadcast';
import * as cdn from './private/cloudfront';
import { environmentOf } from './private/environment';
import * as functions from './private/functions';
import { annotateIdleCost } from './private/idle-cost';
import { apiGatewayMetric, cableMetric, lambdaSum } from './private/metrics';
import { OriginVerification, originVerificationOf } from './private/origin-verification';
import { AllowedOrigins } from './private/origins';
import { createOutputs } from './private/outputs';
import * as permissions from './private/permissions';
import * as pinger from './private/pinger';
import * as secrets from './private/secrets';
import { resolveSettings } from './private/settings';
import * as tables from './private/tables';

/**
 * A serverless ActionCable server: an API Gateway WebSocket API whose Lambda handlers speak
 * `actioncable-v1-json`, with connection and subscription state in DynamoDB.
 *
 * @example
 * const cable = new CableWebSocketApi(this, 'Cable', {
 *   allowedOrigins: ['https://app.example.com'],
 * });
 * new CfnOutput(this, 'CableUrl', { value: cable.url });
 *
 * @see https://guides.rubyonrails.org/action_cable_overview.html
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api.html
 */
export class CableWebSocketApi extends Construct {
  /** The API Gateway WebSocket API. */
  public readonly webSocketApi: apigwv2.WebSocketApi;
  /** The stage clients connect to. */
  public readonly stage: apigwv2.WebSocketStage;
  /** Connections table (partition key `connectionId`). */
  public readonly connectionsTable: dynamodb.Table;
  /** Subscriptions table (partition key `stream`, sort key `subscriber`, index `byConnection`). */
  public readonly subscriptionsTable: dynamodb.Table;
  /** The `$connect` handler. */
  public readonly connectHandler: lambda.Function;
  /** The `$default` handler (client commands). */
  public readonly messageHandler: lambda.Function;
  /** The `$disconnect` handler. */
  public readonly disconnectHandler: lambda.Function;
  /** Sends the welcome (and other first frames) once a new socket is open. */
  public readonly deliverHandler: lambda.Function;
  /** Serves `POST /_broadcast` (through `broadcastUrl`) and direct invocations (`grantBroadcast`). */
  public readonly broadcastHandler: lambda.Function;
  /** Delivers one shard of a large stream. */
  public readonly fanOutHandler: lambda.Function;
  /** The broadcast function's URL. */
  public readonly broadcastFunctionUrl: lambda.FunctionUrl;
  /** Sends keepalive pings and ends connections before the 2-hour cut (EventBridge, every minute). */
  public readonly pingHandler: lambda.Function;
  /** The alarms (empty unless `alarms` or `alarmAction` is set). */
  public readonly alarms: cloudwatch.Alarm[];
  /** The dashboard, with `dashboard: true`. */
  public readonly dashboard?: cloudwatch.Dashboard;
  /** The common secret (given or generated). */
  public readonly secret: secretsmanager.ISecret;
  /** The access log group, when access logging is on. */
  public readonly accessLogGroup?: logs.ILogGroup;
  /**
   * The secret a distribution in front of the cable sends `$connect` in the origin verification
   * header, with `distribution` or `originVerification` (given or generated).
   */
  public readonly originSecret?: secretsmanager.ISecret;
  /** The CloudFront distribution in front of the stage, when `distribution` is set. */
  public readonly distribution?: cloudfront.Distribution;
  /** The origins `$connect` accepts (`allowedOrigins`, or those of the cable's domain names). */
  private readonly origins: AllowedOrigins;
  /** `wss://<domain>/<stageName>` through the construct's distribution. */
  private readonly publicUrl?: string;
  /** The API, its stage and access log group. */
  private readonly cableApi: api.CableApi;
  /** The functions by their contract name. */
  private readonly cableFunctions: functions.CableFunctions;
  /** The header and secret every distribution in front of the cable sends; none: not verified. */
  private readonly originVerification?: OriginVerification;

  constructor(scope: Construct, id: string, props: CableWebSocketApiProps = {}) {
    super(scope, id);
    const settings = resolveSettings(props);
    this.origins = settings.origins;
    const { identification } = settings;

    const cableTables = tables.create(this, settings.tables);
    const cableSecrets = secrets.create(this, settings.secrets);
    this.cableApi = api.create(this, settings.api);
    const environment = { ...settings, ttlSeconds: settings.tables.ttlSeconds, tables: cableTables, api: this.cableApi, secrets: cableSecrets };
    this.originVerification = originVerificationOf(settings.cloudfront?.originHeader, cableSecrets.originSecret);
    this.cableFunctions = functions.create(this, {
      settings: settings.functions,
      webSocketApi: this.cableApi.webSocketApi,
      environment: (name, created) => environmentOf(name, {
        ...environment, allowedOrigins: this.origins.value, originHeader: this.originVerification?.headerName,
      }, created),
    });
    permissions.create(this, { functions: this.cableFunctions, tables: cableTables, api: this.cableApi, secrets: cableSecrets, identification });
    const onFailure = settings.functions.asyncFailureDestination;
    pinger.create(this, { settings: settings.pinger, pinger: this.cableFunctions.ping, onFailure });
    this.broadcastFunctionUrl = broadcast.create(this, { ...this.cableFunctions, onFailure });
    const cloudFront = cdn.create(this, { options: settings.cloudfront?.distribution, api: this.cableApi, verification: this.originVerification });

    this.webSocketApi = this.cableApi.webSocketApi;
    this.stage = this.cableApi.stage;
    this.accessLogGroup = this.cableApi.accessLogGroup;
    this.connectionsTable = cableTables.connections;
    this.subscriptionsTable = cableTables.subscriptions;
    this.secret = cableSecrets.secret;
    this.originSecret = cableSecrets.originSecret;
    this.connectHandler = this.cableFunctions.connect;
    this.messageHandler = this.cableFunctions.message;
    this.disconnectHandler = this.cableFunctions.disconnect;
    this.deliverHandler = this.cableFunctions.deliver;
    this.broadcastHandler = this.cableFunctions.broadcast;
    this.fanOutHandler = this.cableFunctions.fanout;
    this.pingHandler = this.cableFunctions.ping;
    this.distribution = cloudFront?.distribution;
    this.publicUrl = cloudFront?.publicUrl;

    const monitoring = alarms.create(this, { settings: settings.alarms, cable: this, hasRpc: identification.rpc !== undefined });
    this.alarms = monitoring.alarms;
    this.dashboard = monitoring.dashboard;
    annotateIdleCost(this, {
      pings: settings.pinger.enabled, memorySize: settings.functions.memorySize, secret: this.secret, alarms: this.alarms, dashboard: this.dashboard,
    });
    createOutputs(this, this);
  }

  /**
   * The HTTP broadcast URL (`https://….lambda-url.….on.aws/_broadcast`): anycable-rails'
   * `http_broadcast_url`, with the broadcast key as bearer token.
   */
  public get broadcastUrl(): string {
    // Function URLs end with a slash.
    return `${this.broadcastFunctionUrl.url}_broadcast`;
  }

  /**
   * Permits `grantee` (for example another Lambda function in the stack) to broadcast by
   * invoking the broadcast function directly: no HTTP, no broadcast key.
   */
  public grantBroadcast(grantee: iam.IGrantable): iam.Grant {
    return permissions.grantBroadcast(this.cableFunctions, grantee);
  }

  /** The `wss://` URL clients connect to (Rails: `config.action_cable.url`). */
  public get url(): string {
    return this.publicUrl ?? this.stage.url;
  }

  /** The stage's own `wss://` URL on the `execute-api` domain (`url` without CloudFront). */
  public get apiUrl(): string {
    return this.stage.url;
  }

  /**
   * Serves the cable at `/<stageName>` of a CloudFront distribution you own (typically the Rails
   * app's), with the same origin and behavior as `distribution`; returns the cable's `wss://` URL
   * through it. Takes a `Distribution`, not an `IDistribution`: only a distribution defined in
   * this app can get a behavior. `url` keeps reporting the construct's own URL.
   *
   * @example
   * const url = cable.addBehaviorTo(appDistribution, { domainName: 'app.example.com' });
   * // config.action_cable.url = "wss://app.example.com/cable"
   */
  public addBehaviorTo(distribution: cloudfront.Distribution, options: CableBehaviorOptions = {}): string {
    if (distribution === this.distribution) {
      throw new Error(`\`distribution\` ${distribution.node.path} already serves the cable: it is this construct's own distribution`);
    }
    const url = cdn.addBehavior(this.cableApi, distribution, options, this.originVerification);
    if (options.domainName !== undefined) this.origins.addDefaults([options.domainName], this.connectHandler);
    return url;
  }

  /** The `https://` `@connections` endpoint of the API Gateway Management API for this stage. */
  public get callbackUrl(): string {
    return this.stage.callbackUrl;
  }

  /**
   * Permits `grantee` to post to, inspect and close this stage's connections
   * (`execute-api:ManageConnections` on this API's stage only).
   */
  public grantManageConnections(grantee: iam.IGrantable): iam.Grant {
    return permissions.grantManageConnections(this.cableApi, grantee);
  }

  /** Number of `$connect` requests (API Gateway `ConnectCount`, sum). */
  public metricConnectCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return apiGatewayMetric(this.stage, 'connectCount', props);
  }

  /** Number of messages sent to and from clients (API Gateway `MessageCount`, sum). */
  public metricMessageCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return apiGatewayMetric(this.stage, 'messageCount', props);
  }

  /** Requests the handlers failed (API Gateway `IntegrationError`, sum). */
  public metricIntegrationError(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return apiGatewayMetric(this.stage, 'integrationError', props);
  }

  /** Requests refused with a 4xx before reaching a handler, e.g. throttled (API Gateway `ClientError`, sum). */
  public metricClientError(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return apiGatewayMetric(this.stage, 'clientError', props);
  }

  /** Errors while calling the handlers (API Gateway `ExecutionError`, sum). */
  public metricExecutionError(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return apiGatewayMetric(this.stage, 'executionError', props);
  }

  /** Time from request to handler response (API Gateway `IntegrationLatency`, average). */
  public metricIntegrationLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return apiGatewayMetric(this.stage, 'integrationLatency', props);
  }

  /** Broadcasts accepted (HTTP or direct), each stream counted once (cdk-cable `Broadcasts`, sum). */
  public metricBroadcasts(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return cableMetric(this.webSocketApi, 'broadcasts', props);
  }

  /** Frames delivered to subscribers by broadcasts (cdk-cable `Delivered`, sum). */
  public metricDeliveries(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return cableMetric(this.webSocketApi, 'delivered', props);
  }

  /** Broadcast posts that failed after their retries (cdk-cable `FanOutFailures`, sum). */
  public metricFanOutFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return cableMetric(this.webSocketApi, 'fanOutFailures', props);
  }

  /** Connections found gone (410) and cleaned up (cdk-cable `GoneConnections`, sum). */
  public metricGoneConnections(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return cableMetric(this.webSocketApi, 'goneConnections', props);
  }

  /** Keepalive pings sent (cdk-cable `Pings`, sum): the main driver of the API Gateway bill. */
  public metricPings(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return cableMetric(this.webSocketApi, 'pings', props);
  }

  /** Pings that could not be posted (cdk-cable `PingFailures`, sum). */
  public metricPingFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return cableMetric(this.webSocketApi, 'pingFailures', props);
  }

  /** Connections ended with `server_restart` before API Gateway's 2-hour cut (cdk-cable `MaxAgeDisconnects`, sum). */
  public metricMaxAgeDisconnects(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return cableMetric(this.webSocketApi, 'maxAgeDisconnects', props);
  }

  /** How late pings went out: the most a ping round finished past its window, ms (cdk-cable `PingLag`, maximum; `PingLagAlarm` at 1 s). */
  public metricPingLag(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return cableMetric(this.webSocketApi, 'pingLag', { statistic: 'Maximum', ...props });
  }

  /** RPC calls with no usable answer (timeout, HTTP error, malformed) or ERROR (cdk-cable `RpcErrors`, sum; also per `RpcMethod`). */
  public metricRpcErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return cableMetric(this.webSocketApi, 'rpcErrors', props);
  }

  /** Handler invocations that failed, all handlers (cdk-cable `HandlerErrors`, sum). */
  public metricHandlerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return cableMetric(this.webSocketApi, 'handlerErrors', props);
  }

  /** Lambda `Errors` of all the cable's functions, summed. */
  public metricLambdaErrors(props?: cloudwatch.MetricOptions): cloudwatch.MathExpression {
    return lambdaSum(this.functions, 'errors', props);
  }

  /** Lambda `Throttles` of all the cable's functions, summed. */
  public metricLambdaThrottles(props?: cloudwatch.MetricOptions): cloudwatch.MathExpression {
    return lambdaSum(this.functions, 'throttles', props);
  }

  /** Every function of the cable. */
  public get functions(): lambda.Function[] {
    return CABLE_FUNCTIONS.map((name) => this.cableFunctions[name]);
  }
}
