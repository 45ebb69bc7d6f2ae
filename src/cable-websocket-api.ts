import { ArnFormat, CfnOutput, Duration, Lazy, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { CableWatchedMetrics, createCableAlarms, createCableDashboard } from './cable-alarms';
import { createBroadcast, validateBroadcastSettings } from './cable-broadcast';
import { CableBehaviorOptions } from './cable-distribution';
import { createCableHandler, HandlerName } from './cable-handlers';
import { CABLE_METRICS, cableMetric, lambdaSum, WEBSOCKET_METRICS, webSocketMetric } from './cable-metrics';
import { annotatePingCost, createPinger, pingEnvironment, pingerSettings, validatePinger } from './cable-pinger';
import { createCableTables } from './cable-tables';
import { CableWebSocketApiProps } from './cable-websocket-api-props';
import * as cdn from './private/distribution';
import { identification as identificationOf } from './private/identification';
import { allowTellingTheApp, grantLeastPrivilege } from './private/least-privilege';
import { acknowledge } from './private/nag';
import * as validate from './private/validation';

const DEFAULT_THROTTLE = { rateLimit: 1000, burstLimit: 2000 };

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
  /** The CloudFront distribution in front of the stage, when `distribution` is set. */
  public readonly distribution?: cloudfront.Distribution;
  /** Whether `allowedOrigins` was given (then no default origin is added). */
  private readonly explicitOrigins: boolean;
  /** Default allowed origins, from the distributions' domain names. */
  private readonly defaultOrigins: string[] = [];
  /** `wss://<domain>/<stageName>` through the construct's distribution. */
  private readonly publicUrl?: string;
  /** Whether the app's RPC is configured (its alarm and graph exist only then). */
  private readonly hasRpc: boolean;

  constructor(scope: Construct, id: string, props: CableWebSocketApiProps = {}) {
    super(scope, id);

    const stageName = props.stageName ?? 'cable';
    validate.validateStageName(stageName);
    const throttle = { ...DEFAULT_THROTTLE, ...props.throttle };
    validate.validateThrottle(throttle.rateLimit, throttle.burstLimit);
    const ttlSeconds = validate.validateConnectionTtl(props.connectionTtl ?? Duration.hours(3));
    const memorySize = props.memorySize ?? 256;
    validate.validateMemorySize(memorySize);
    if (props.allowedOrigins) validate.validateAllowedOrigins(props.allowedOrigins);
    if (props.distribution) cdn.validateDistributionOptions(props.distribution);
    this.explicitOrigins = props.allowedOrigins !== undefined;
    if (!this.explicitOrigins) this.defaultOrigins.push(...cdn.originsOf(props.distribution?.domainNames));
    const runtime = props.runtime ?? lambda.Runtime.NODEJS_22_X;
    if (runtime.family !== lambda.RuntimeFamily.NODEJS) {
      throw new Error(`\`runtime\` must be a Node.js runtime (the handlers are JavaScript bundles), got ${runtime.name}`);
    }
    if (props.tableEncryptionKey && props.tableEncryption && props.tableEncryption !== dynamodb.TableEncryption.CUSTOMER_MANAGED) {
      throw new Error(`\`tableEncryptionKey\` requires \`tableEncryption\` CUSTOMER_MANAGED, got ${props.tableEncryption}`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    const tables = createCableTables(this, {
      removalPolicy,
      pointInTimeRecovery: props.pointInTimeRecovery ?? false,
      encryption: props.tableEncryption
        ?? (props.tableEncryptionKey ? dynamodb.TableEncryption.CUSTOMER_MANAGED : dynamodb.TableEncryption.AWS_MANAGED),
      encryptionKey: props.tableEncryptionKey,
    });
    this.connectionsTable = tables.connections;
    this.subscriptionsTable = tables.subscriptions;

    this.secret = props.secret ?? this.generateSecret();
    this.accessLogGroup = props.accessLogGroup
      ?? (props.accessLogging ? new logs.LogGroup(this, 'AccessLogs', { retention: logRetention, removalPolicy }) : undefined);

    // The API exists before the functions (they need its URL); routes are added once they do.
    this.webSocketApi = new apigwv2.WebSocketApi(this, 'Api', {
      description: `cdk-cable ActionCable endpoint (${this.node.path})`,
    });
    this.stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.webSocketApi,
      stageName,
      autoDeploy: true,
      throttle,
      accessLogSettings: this.accessLogGroup ? { destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup) } : undefined,
    });
    if (props.createCloudWatchRole) this.createCloudWatchRole();

    const pinger = pingerSettings(props);
    validatePinger(pinger);
    if (!Token.isUnresolved(ttlSeconds) && !Token.isUnresolved(pinger.maxConnectionAgeSeconds) && ttlSeconds <= pinger.maxConnectionAgeSeconds) {
      throw new Error(`\`connectionTtl\` (${ttlSeconds} s) must be longer than \`maxConnectionAge\` (${pinger.maxConnectionAgeSeconds} s): DynamoDB would expire rows of open connections`);
    }
    annotatePingCost(this, pinger);
    const environment: Record<string, string> = {
      ...pingEnvironment(pinger),
      CABLE_CONNECTIONS_TABLE: this.connectionsTable.tableName,
      CABLE_SUBSCRIPTIONS_TABLE: this.subscriptionsTable.tableName,
      CABLE_CALLBACK_URL: this.stage.callbackUrl,
      CABLE_API_ID: this.webSocketApi.apiId,
      CABLE_TTL_SECONDS: String(ttlSeconds),
      CABLE_TURBO_STREAMS: String(props.turboStreams ?? true),
      CABLE_PUBLIC_STREAMS: String(props.publicStreams ?? false),
      ...(props.allowedOrigins ? { CABLE_ALLOWED_ORIGINS: props.allowedOrigins.join(',') } : {}),
      ...(this.defaultOrigins.length > 0 ? { CABLE_ALLOWED_ORIGINS: this.defaultOriginsValue() } : {}),
    };
    // Secrets are read (once per cold start) only by the handlers that verify stream names or tokens.
    const secretEnvironment: Record<string, string> = {
      CABLE_SECRET_ARN: this.secret.secretArn,
      ...(props.turboStreamsSecret ? { CABLE_TURBO_STREAMS_SECRET_ARN: props.turboStreamsSecret.secretArn } : {}),
      ...(props.streamsSecret ? { CABLE_STREAMS_SECRET_ARN: props.streamsSecret.secretArn } : {}),
    };
    const rpc = props.rpc?._bind();
    this.hasRpc = rpc !== undefined;
    const identification = identificationOf({ rpc, jwtSecret: props.jwtSecret, jwtParam: props.jwtParam, enforceJwt: props.enforceJwt });
    const handler = (name: HandlerName, extra: Record<string, string> = {}) => createCableHandler(this, name, {
      runtime,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      memorySize,
      logRetention,
      logRemovalPolicy: removalPolicy,
      environment: { ...environment, ...extra },
      defaultRuntime: props.runtime === undefined,
    });
    this.deliverHandler = handler('deliver');
    // The RPC key and the JWT key derive from (or default to) the common secret.
    const common = { CABLE_SECRET_ARN: this.secret.secretArn };
    this.connectHandler = handler('connect', {
      CABLE_DELIVER_FUNCTION: this.deliverHandler.functionName, ...common, ...identification.jwtEnvironment, ...identification.rpcEnvironment,
    });
    this.messageHandler = handler('message', { ...secretEnvironment, ...identification.rpcEnvironment });
    // Without RPC, `$disconnect` tells no one and reads no secret.
    this.disconnectHandler = handler('disconnect', rpc ? { ...common, ...identification.rpcEnvironment } : {});
    // A failed welcome delivery is not retried late: the client reconnects after 6 s of silence.
    this.deliverHandler.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1) });

    grantLeastPrivilege({
      connect: this.connectHandler,
      message: this.messageHandler,
      disconnect: this.disconnectHandler,
      deliver: this.deliverHandler,
      connectionsTable: this.connectionsTable,
      subscriptionsTable: this.subscriptionsTable,
      connectionsArn: (method) => this.connectionsArn(method),
      secret: this.secret,
      streamSecrets: [props.turboStreamsSecret, props.streamsSecret],
      identification,
    });

    const broadcastSettings = {
      concurrency: props.broadcastConcurrency ?? 64,
      shardSize: props.broadcastShardSize ?? 5000,
      retry: props.broadcastRetry ?? {},
    };
    validateBroadcastSettings(broadcastSettings);
    const broadcast = createBroadcast({
      handler,
      settings: broadcastSettings,
      secretEnvironment,
      secrets: [this.secret, props.turboStreamsSecret, props.streamsSecret],
      broadcastKey: props.broadcastKey,
      connectionsTable: this.connectionsTable,
      subscriptionsTable: this.subscriptionsTable,
      connectionsArn: (method) => this.connectionsArn(method),
    });
    this.pingHandler = createPinger(this, {
      handler,
      connectionsTable: this.connectionsTable,
      subscriptionsTable: this.subscriptionsTable,
      connectionsArn: (method) => this.connectionsArn(method),
    });
    this.broadcastHandler = broadcast.broadcastHandler;
    this.fanOutHandler = broadcast.fanOutHandler;
    this.broadcastFunctionUrl = broadcast.functionUrl;
    allowTellingTheApp([this.broadcastHandler, this.fanOutHandler, this.pingHandler], this.secret, identification);

    this.webSocketApi.addRoute('$connect', { integration: new WebSocketLambdaIntegration('ConnectIntegration', this.connectHandler) });
    this.webSocketApi.addRoute('$default', { integration: new WebSocketLambdaIntegration('MessageIntegration', this.messageHandler) });
    this.webSocketApi.addRoute('$disconnect', { integration: new WebSocketLambdaIntegration('DisconnectIntegration', this.disconnectHandler) });
    this.acknowledgeRoutes();
    if (props.distribution) {
      this.distribution = cdn.createCableDistribution(this, this.webSocketApi, stageName, props.distribution);
      const host = cdn.publicHost(props.distribution.domainNames) ?? this.distribution.distributionDomainName;
      this.publicUrl = `wss://${host}/${this.stage.stageName}`;
    }

    new CfnOutput(this, 'Url', { value: this.url, description: 'wss:// URL for config.action_cable.url' });
    new CfnOutput(this, 'CallbackUrl', { value: this.callbackUrl, description: '@connections endpoint of the API Gateway Management API' });
    const watched = this.watchedMetrics();
    this.alarms = props.alarms || props.alarmAction ? createCableAlarms(this, watched, props.alarmAction) : [];
    if (props.dashboard) this.dashboard = createCableDashboard(this, watched, this.alarms);

    new CfnOutput(this, 'BroadcastUrl', { value: this.broadcastUrl, description: 'AnyCable HTTP broadcast URL (anycable-rails http_broadcast_url)' });
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
    return this.broadcastHandler.grantInvoke(grantee);
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
    const domainName = options.domainName;
    if (domainName !== undefined) cdn.validateHostName('domainName', domainName, false);
    const { origin, ...behavior } = cdn.cableBehavior(cdn.cableOrigin(this.webSocketApi, domainName));
    distribution.addBehavior(`/${this.stage.stageName}`, origin, behavior);
    if (domainName !== undefined && !this.explicitOrigins) this.allowDefaultOrigins(cdn.originsOf([domainName]));
    return `wss://${domainName ?? distribution.distributionDomainName}/${this.stage.stageName}`;
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
    return this.stage.grantManagementApiAccess(grantee);
  }

  /** Number of `$connect` requests (API Gateway `ConnectCount`, sum). */
  public metricConnectCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(WEBSOCKET_METRICS.connectCount, 'Sum', props);
  }

  /** Number of messages sent to and from clients (API Gateway `MessageCount`, sum). */
  public metricMessageCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(WEBSOCKET_METRICS.messageCount, 'Sum', props);
  }

  /** Requests the handlers failed (API Gateway `IntegrationError`, sum). */
  public metricIntegrationError(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(WEBSOCKET_METRICS.integrationError, 'Sum', props);
  }

  /** Requests refused with a 4xx before reaching a handler, e.g. throttled (API Gateway `ClientError`, sum). */
  public metricClientError(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(WEBSOCKET_METRICS.clientError, 'Sum', props);
  }

  /** Errors while calling the handlers (API Gateway `ExecutionError`, sum). */
  public metricExecutionError(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(WEBSOCKET_METRICS.executionError, 'Sum', props);
  }

  /** Time from request to handler response (API Gateway `IntegrationLatency`, average). */
  public metricIntegrationLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(WEBSOCKET_METRICS.integrationLatency, 'Average', props);
  }

  /** Broadcasts accepted (HTTP or direct), each stream counted once (cdk-cable `Broadcasts`, sum). */
  public metricBroadcasts(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return cableMetric(CABLE_METRICS.broadcasts, this.webSocketApi.apiId, props);
  }

  /** Frames delivered to subscribers by broadcasts (cdk-cable `Delivered`, sum). */
  public metricDeliveries(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return cableMetric(CABLE_METRICS.delivered, this.webSocketApi.apiId, props);
  }

  /** Broadcast posts that failed after their retries (cdk-cable `FanOutFailures`, sum). */
  public metricFanOutFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return cableMetric(CABLE_METRICS.fanOutFailures, this.webSocketApi.apiId, props);
  }

  /** Connections found gone (410) and cleaned up (cdk-cable `GoneConnections`, sum). */
  public metricGoneConnections(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return cableMetric(CABLE_METRICS.goneConnections, this.webSocketApi.apiId, props);
  }

  /** Keepalive pings sent (cdk-cable `Pings`, sum): the main driver of the API Gateway bill. */
  public metricPings(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return cableMetric(CABLE_METRICS.pings, this.webSocketApi.apiId, props);
  }

  /** Pings that could not be posted (cdk-cable `PingFailures`, sum). */
  public metricPingFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return cableMetric(CABLE_METRICS.pingFailures, this.webSocketApi.apiId, props);
  }

  /** Connections ended with `server_restart` before API Gateway's 2-hour cut (cdk-cable `MaxAgeDisconnects`, sum). */
  public metricMaxAgeDisconnects(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return cableMetric(CABLE_METRICS.maxAgeDisconnects, this.webSocketApi.apiId, props);
  }

  /**
   * Calls to the app's AnyCable RPC that gave no usable answer (timeout, HTTP error, malformed
   * answer) or answered ERROR (cdk-cable `RpcErrors`, sum; also per `RpcMethod`). Zero without `rpc`.
   */
  public metricRpcErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return cableMetric(CABLE_METRICS.rpcErrors, this.webSocketApi.apiId, props);
  }

  /** Handler invocations that failed, all handlers (cdk-cable `HandlerErrors`, sum). */
  public metricHandlerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return cableMetric(CABLE_METRICS.handlerErrors, this.webSocketApi.apiId, props);
  }

  /** Lambda `Errors` of all the cable's functions, summed. */
  public metricLambdaErrors(props?: cloudwatch.MetricOptions): cloudwatch.MathExpression {
    return lambdaSum(this.functions, 'Errors', 'Lambda errors', props);
  }

  /** Lambda `Throttles` of all the cable's functions, summed. */
  public metricLambdaThrottles(props?: cloudwatch.MetricOptions): cloudwatch.MathExpression {
    return lambdaSum(this.functions, 'Throttles', 'Lambda throttles', props);
  }

  /** Every function of the cable. */
  public get functions(): lambda.Function[] {
    return [
      this.connectHandler, this.messageHandler, this.disconnectHandler, this.deliverHandler,
      this.broadcastHandler, this.fanOutHandler, this.pingHandler,
    ];
  }

  private watchedMetrics(): CableWatchedMetrics {
    return {
      handlerErrors: this.metricHandlerErrors(),
      lambdaThrottles: this.metricLambdaThrottles(),
      lambdaErrors: this.metricLambdaErrors(),
      fanOutFailures: this.metricFanOutFailures(),
      integrationErrors: this.metricIntegrationError(),
      executionErrors: this.metricExecutionError(),
      connects: this.metricConnectCount(),
      messages: this.metricMessageCount(),
      broadcasts: this.metricBroadcasts(),
      deliveries: this.metricDeliveries(),
      goneConnections: this.metricGoneConnections(),
      integrationLatency: this.metricIntegrationLatency(),
      ...(this.hasRpc ? { rpcErrors: this.metricRpcErrors() } : {}),
    };
  }

  private metric(name: string, statistic: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return webSocketMetric(name, { apiId: this.webSocketApi.apiId, stage: this.stage.stageName }, statistic, props);
  }

  private generateSecret(): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, 'Secret', {
      description: 'cdk-cable common secret: Turbo signed stream names and $pubsub signed streams',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    acknowledge(secret, [{
      id: 'AwsSolutions-SMG4',
      reason: 'The Rails app signs stream names with the same value; rotating it here alone would reject every page rendered before. Rotate both together by updating the secret.',
    }]);
    return secret;
  }

  /** `execute-api` ARN of `method` on this stage's `@connections/*`. */
  private connectionsArn(method: string): string {
    return Stack.of(this).formatArn({
      service: 'execute-api',
      resource: this.webSocketApi.apiId,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      resourceName: `${this.stage.stageName}/${method}/@connections/*`,
    });
  }

  private createCloudWatchRole(): void {
    const role = new iam.Role(this, 'ApiGatewayCloudWatchRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
    });
    acknowledge(role, [{
      id: 'AwsSolutions-IAM4',
      reason: 'AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for the account-level API Gateway logging role.',
      appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs'],
    }]);
    const account = new apigateway.CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
    this.stage.node.addDependency(account);
  }

  /** Adds default origins after construction; only `$connect` checks `Origin`. */
  private allowDefaultOrigins(origins: string[]): void {
    const hadDefaults = this.defaultOrigins.length > 0;
    this.defaultOrigins.push(...origins.filter((o) => !this.defaultOrigins.includes(o)));
    if (!hadDefaults && this.defaultOrigins.length > 0) {
      this.connectHandler.addEnvironment('CABLE_ALLOWED_ORIGINS', this.defaultOriginsValue());
    }
  }

  /** The default origins, read at synth time so that `addBehaviorTo` can add to them. */
  private defaultOriginsValue(): string {
    return Lazy.string({ produce: () => this.defaultOrigins.join(',') });
  }

  private acknowledgeRoutes(): void {
    for (const routeKey of ['$connect', '$default', '$disconnect']) {
      const route = this.webSocketApi.node.tryFindChild(`${routeKey}-Route`);
      if (!route) continue;
      acknowledge(route, [{
        id: 'AwsSolutions-APIG4',
        reason: 'ActionCable authorizes per subscription: Turbo and $pubsub stream names are HMAC-signed by the app, and Origin is checked when allowedOrigins is set.',
      }]);
    }
    if (!this.accessLogGroup) {
      acknowledge(this.stage, [{
        id: 'AwsSolutions-APIG1',
        reason: 'Access logging needs an account-level CloudWatch role that may not exist; it is opt-in with accessLogging (and createCloudWatchRole).',
      }]);
    }
  }

}
