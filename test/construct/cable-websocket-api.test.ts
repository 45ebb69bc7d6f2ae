import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { actionsOf, logicalId, makeStack, statementsOf, synth } from './support';
import { CableWebSocketApi } from '../../src';
import { handlerAssetPath } from '../../src/private/functions';

const HANDLERS = ['Connect', 'Message', 'Disconnect', 'Deliver', 'Broadcast', 'FanOut', 'Ping'] as const;

describe('routes', () => {
  const { template } = synth();

  test.each([
    ['$connect', 'ConnectHandler'],
    ['$default', 'MessageHandler'],
    ['$disconnect', 'DisconnectHandler'],
  ])('routes: %s goes to the %s function through a Lambda proxy integration', (routeKey, fn) => {
    const integration = new Capture();
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: routeKey, Target: { 'Fn::Join': ['', ['integrations/', { Ref: integration }]] } });
    const integrationProps = template.toJSON().Resources[integration.asString()].Properties;
    expect(integrationProps.IntegrationType).toBe('AWS_PROXY');
    expect(JSON.stringify(integrationProps.IntegrationUri)).toContain(logicalId(template, 'AWS::Lambda::Function', fn));
  });

  test('routes: exactly the three routes exist and the API speaks WebSocket', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 3);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET' });
  });

  test('routes: API Gateway may invoke each routed function, only from this API', () => {
    const permissions = template.findResources('AWS::Lambda::Permission', { Properties: { Principal: 'apigateway.amazonaws.com' } });
    expect(Object.keys(permissions)).toHaveLength(3);
    for (const permission of Object.values(permissions)) {
      expect(JSON.stringify(permission.Properties.SourceArn)).toContain(logicalId(template, 'AWS::ApiGatewayV2::Api', 'CableApi'));
    }
  });
});

describe('stage', () => {
  test('stageName: defaults to "cable" with auto-deploy and explicit route throttling', () => {
    synth().template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'cable',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
    });
  });

  test('stageName: a custom name is used and shows in url and callbackUrl', () => {
    const { stack, cable, template } = synth({ stageName: 'ws' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: 'ws' });
    expect(stack.resolve(cable.url)).toEqual({ 'Fn::Join': ['', ['wss://', { Ref: expect.stringMatching(/^CableApi/) }, '.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/ws']] });
    expect(stack.resolve(cable.callbackUrl)).toEqual({ 'Fn::Join': ['', ['https://', { Ref: expect.stringMatching(/^CableApi/) }, '.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/ws']] });
  });

  test('stageName: invalid names fail at synth with the prop name', () => {
    expect(() => synth({ stageName: 'my stage' })).toThrow(/`stageName` must match .* got "my stage"/);
  });

  test('throttle: overrides are applied and a partial override keeps the other default', () => {
    synth({ throttle: { rateLimit: 50, burstLimit: 100 } }).template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
    synth({ throttle: { rateLimit: 10 } }).template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 2000 },
    });
  });

  test.each([
    [{ rateLimit: 500, burstLimit: 100 }, /burstLimit.*\(100\) must be at least .*rateLimit.*\(500\)/],
    [{ rateLimit: 0 }, /throttle.rateLimit.*got 0/],
    [{ burstLimit: 1.5 }, /throttle.burstLimit.*got 1.5/],
  ])('throttle: %j fails at synth', (throttle, message) => {
    expect(() => synth({ throttle })).toThrow(message);
  });

  test('outputs: the wss URL and the callback URL are stack outputs', () => {
    const outputs = synth().template.toJSON().Outputs;
    const values = Object.values(outputs).map((o: any) => JSON.stringify(o.Value));
    expect(values.some((v) => v.includes('wss://'))).toBe(true);
    expect(values.some((v) => v.includes('https://'))).toBe(true);
  });
});

describe('access logging', () => {
  test('accessLogging: off by default, with no account-level role', () => {
    const { template } = synth();
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0];
    expect(stage.Properties.AccessLogSettings).toBeUndefined();
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  test('accessLogging: true creates a log group with logRetention and points the stage at it', () => {
    const { template } = synth({ accessLogging: true, createCloudWatchRole: false, logRetention: logs.RetentionDays.ONE_WEEK });
    const group = logicalId(template, 'AWS::Logs::LogGroup', 'AccessLogs');
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [group, 'Arn'] }, Format: Match.stringLikeRegexp('connectionId') },
    });
  });

  test('accessLogGroup: a given group is used without creating another', () => {
    const stack = makeStack();
    const group = new logs.LogGroup(stack, 'Mine');
    new CableWebSocketApi(stack, 'Cable', { accessLogGroup: group, createCloudWatchRole: false });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Mine'), 'Arn'] } },
    });
    expect(Object.keys(template.findResources('AWS::Logs::LogGroup')).filter((id) => id.includes('AccessLogs'))).toHaveLength(0);
  });

  test('createCloudWatchRole: sets the account-level role and the stage waits for it', () => {
    const { template } = synth({ accessLogging: true, createCloudWatchRole: true });
    const account = logicalId(template, 'AWS::ApiGateway::Account', 'ApiGatewayAccount');
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })] },
      ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs']] }],
    });
    template.hasResource('AWS::ApiGatewayV2::Stage', { DependsOn: Match.arrayWith([account]) });
  });
});

describe('tables', () => {
  test('tables: connections keyed by connectionId, on demand, TTL expiresAt, encrypted', () => {
    synth().template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
    });
  });

  test('tables: subscriptions keyed by stream + subscriber with the byConnection keys-only index', () => {
    synth().template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'stream', KeyType: 'HASH' }, { AttributeName: 'subscriber', KeyType: 'RANGE' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      GlobalSecondaryIndexes: [{
        IndexName: 'byConnection',
        KeySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }, { AttributeName: 'identifier', KeyType: 'RANGE' }],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      }],
    });
  });

  test('removalPolicy: tables and log groups are retained by default', () => {
    const { template } = synth();
    for (const type of ['AWS::DynamoDB::Table', 'AWS::Logs::LogGroup']) {
      for (const resource of Object.values(template.findResources(type))) {
        expect(resource.DeletionPolicy).toBe('Retain');
      }
    }
  });

  test('removalPolicy: DESTROY applies to tables and log groups', () => {
    const { template } = synth({ removalPolicy: RemovalPolicy.DESTROY });
    for (const type of ['AWS::DynamoDB::Table', 'AWS::Logs::LogGroup']) {
      for (const resource of Object.values(template.findResources(type))) {
        expect(resource.DeletionPolicy).toBe('Delete');
      }
    }
  });

  test('pointInTimeRecovery: true enables it on both tables', () => {
    const tables = synth({ pointInTimeRecovery: true }).template.findResources('AWS::DynamoDB::Table');
    expect(Object.values(tables).map((t) => t.Properties.PointInTimeRecoverySpecification)).toEqual([
      { PointInTimeRecoveryEnabled: true }, { PointInTimeRecoveryEnabled: true },
    ]);
  });

  test('tableEncryptionKey: both tables use the customer managed key', () => {
    const stack = makeStack();
    const key = new kms.Key(stack, 'Key');
    new CableWebSocketApi(stack, 'Cable', { tableEncryptionKey: key });
    const tables = Template.fromStack(stack).findResources('AWS::DynamoDB::Table');
    for (const table of Object.values(tables)) {
      expect(table.Properties.SSESpecification).toEqual({ KMSMasterKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] }, SSEEnabled: true, SSEType: 'KMS' });
    }
  });

  test('tableEncryptionKey: conflicting tableEncryption fails at synth', () => {
    const stack = makeStack();
    const key = new kms.Key(stack, 'Key');
    expect(() => new CableWebSocketApi(stack, 'Cable', { tableEncryptionKey: key, tableEncryption: dynamodb.TableEncryption.AWS_MANAGED }))
      .toThrow(/tableEncryptionKey.*CUSTOMER_MANAGED/);
  });

  test('connectionTtl: defaults to 3 hours and reaches every function', () => {
    const functions = synth().template.findResources('AWS::Lambda::Function');
    for (const fn of Object.values(functions)) expect(fn.Properties.Environment.Variables.CABLE_TTL_SECONDS).toBe('10800');
  });

  test('connectionTtl: shorter than API Gateway\'s 2-hour maximum fails at synth', () => {
    expect(() => synth({ connectionTtl: Duration.minutes(30) })).toThrow(/`connectionTtl` must be at least 2 hours.*30 minutes/);
  });
});

describe('functions', () => {
  test('functions: seven Node.js 22 ARM64 functions with 256 MB and the bundled handler', () => {
    const { template } = synth();
    template.resourcePropertiesCountIs('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 256,
      Handler: 'index.handler',
    }, 7);
  });

  test('architecture, memorySize and runtime: overrides apply to every function', () => {
    const { template } = synth({ architecture: lambda.Architecture.X86_64, memorySize: 512, runtime: lambda.Runtime.NODEJS_20_X });
    template.resourcePropertiesCountIs('AWS::Lambda::Function', { Runtime: 'nodejs20.x', Architectures: ['x86_64'], MemorySize: 512 }, 7);
  });

  test('runtime: a non-Node.js runtime fails at synth', () => {
    expect(() => synth({ runtime: lambda.Runtime.PYTHON_3_12 })).toThrow(/`runtime` must be a Node.js runtime.*python3.12/);
  });

  test.each([64, 20000, 300.5])('memorySize: %p fails at synth', (memorySize) => {
    expect(() => synth({ memorySize })).toThrow(/`memorySize` must be a whole number of MB from 128 to 10240/);
  });

  test.each(['connect', 'message', 'disconnect', 'deliver', 'broadcast', 'fanout', 'ping'] as const)('assets: the %s bundle exists with its source map', (name) => {
    const dir = handlerAssetPath(name);
    expect(fs.existsSync(path.join(dir, 'index.mjs'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'index.mjs.map'))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'index.mjs'), 'utf8')).toMatch(/export\s*\{[^}]*handler/);
  });

  test('assets: every function gets its own asset', () => {
    const functions = Object.values(synth().template.findResources('AWS::Lambda::Function'));
    const keys = new Set(functions.map((f) => JSON.stringify(f.Properties.Code.S3Key)));
    expect(keys.size).toBe(7);
  });

  test('logRetention: each function logs to its own group with the retention', () => {
    const { template } = synth({ logRetention: logs.RetentionDays.THREE_MONTHS });
    for (const name of HANDLERS) {
      const group = logicalId(template, 'AWS::Logs::LogGroup', `${name}HandlerLogs`);
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp('cdk-cable'),
        LoggingConfig: { LogGroup: { Ref: group } },
      });
      expect(template.toJSON().Resources[group].Properties.RetentionInDays).toBe(90);
    }
  });

  test('environment: only the connect (JWT), message and broadcast handlers learn the secret, only connect the deliver function', () => {
    const { template } = synth();
    const env = (name: string) => template.toJSON().Resources[logicalId(template, 'AWS::Lambda::Function', `${name}Handler`)].Properties.Environment.Variables;
    for (const name of ['Connect', 'Message', 'Broadcast']) expect(env(name).CABLE_SECRET_ARN).toEqual({ Ref: logicalId(template, 'AWS::SecretsManager::Secret', 'Secret') });
    expect(env('Connect').CABLE_DELIVER_FUNCTION).toEqual({ Ref: logicalId(template, 'AWS::Lambda::Function', 'DeliverHandler') });
    expect(env('Broadcast').CABLE_FANOUT_FUNCTION).toEqual({ Ref: logicalId(template, 'AWS::Lambda::Function', 'FanOutHandler') });
    for (const name of ['Disconnect', 'Deliver', 'FanOut']) expect(env(name).CABLE_SECRET_ARN).toBeUndefined();
    for (const name of ['Message', 'Disconnect', 'Deliver', 'Broadcast', 'FanOut']) expect(env(name).CABLE_DELIVER_FUNCTION).toBeUndefined();
    expect(env('Deliver').CABLE_CALLBACK_URL).toEqual({ 'Fn::Join': ['', ['https://', { Ref: expect.stringMatching(/^CableApi/) }, '.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/cable']] });
  });

  test('deliver: a failed welcome delivery is not retried late', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(template, 'AWS::Lambda::Function', 'DeliverHandler') },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
  });
});

describe('settings', () => {
  test('allowedOrigins: passed to the runtime as a list', () => {
    const { template } = synth({ allowedOrigins: ['https://app.example.com', 'http://localhost:3000'] });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CABLE_ALLOWED_ORIGINS: 'https://app.example.com,http://localhost:3000' }) },
    });
  });

  test('allowedOrigins: unset means any origin (no variable)', () => {
    for (const fn of Object.values(synth().template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.Environment.Variables.CABLE_ALLOWED_ORIGINS).toBeUndefined();
    }
  });

  test.each([
    [[], /`allowedOrigins` must list at least one origin, got \[\]/],
    [['https://app.example.com/'], /got "https:\/\/app.example.com\/"/],
    [['app.example.com'], /got "app.example.com"/],
  ])('allowedOrigins: %j fails at synth', (allowedOrigins, message) => {
    expect(() => synth({ allowedOrigins })).toThrow(message);
  });

  test('publicStreams and turboStreams: defaults false and true, overridable', () => {
    const vars = (props: object) => Object.values(synth(props).template.findResources('AWS::Lambda::Function'))
      .map((f) => f.Properties.Environment.Variables)[0];
    expect(vars({})).toMatchObject({ CABLE_PUBLIC_STREAMS: 'false', CABLE_TURBO_STREAMS: 'true' });
    expect(vars({ publicStreams: true, turboStreams: false })).toMatchObject({ CABLE_PUBLIC_STREAMS: 'true', CABLE_TURBO_STREAMS: 'false' });
  });

  test('secret: generated by default as a 64-character alphanumeric string', () => {
    synth().template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
    });
  });

  test('secret, turboStreamsSecret, streamsSecret: given secrets are used, nothing is generated', () => {
    const stack = makeStack();
    const secret = secretsmanager.Secret.fromSecretNameV2(stack, 'Common', 'cable/common');
    const turbo = secretsmanager.Secret.fromSecretNameV2(stack, 'Turbo', 'cable/turbo');
    const streams = secretsmanager.Secret.fromSecretNameV2(stack, 'Streams', 'cable/streams');
    new CableWebSocketApi(stack, 'Cable', { secret, turboStreamsSecret: turbo, streamsSecret: streams });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          CABLE_SECRET_ARN: Match.anyValue(),
          CABLE_TURBO_STREAMS_SECRET_ARN: Match.anyValue(),
          CABLE_STREAMS_SECRET_ARN: Match.anyValue(),
        }),
      },
    });
    const resources = JSON.stringify(statementsOf(template, 'MessageHandler').filter((s) => JSON.stringify(s.Action).includes('secretsmanager')));
    for (const name of ['cable/common', 'cable/turbo', 'cable/streams']) expect(resources).toContain(name);
  });
});

describe('least privilege', () => {
  const { template } = synth();
  const api = logicalId(template, 'AWS::ApiGatewayV2::Api', 'CableApi');
  const connectionsArn = (method: string) => ({
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':execute-api:eu-west-1:123456789012:', { Ref: api }, `/cable/${method}/@connections/*`]],
  });

  // What each function may do is proven against the calls its bundle makes by `npx projen
  // iam:check` (test/iam/). These tests pin the requirements the proof found missing before.
  test('deliver: may close this stage\'s connections (a rejected identification is told why, then closed)', () => {
    expect(statementsOf(template, 'DeliverHandler')).toEqual(expect.arrayContaining([
      expect.objectContaining({ Action: 'execute-api:ManageConnections', Resource: connectionsArn('POST') }),
      expect.objectContaining({ Action: 'execute-api:ManageConnections', Resource: connectionsArn('DELETE') }),
    ]));
  });

  test('connect: may delete its own row (when the welcome cannot be handed to the deliver function)', () => {
    expect(statementsOf(template, 'ConnectHandler')).toEqual(expect.arrayContaining([
      expect.objectContaining({ Action: 'dynamodb:DeleteItem', Resource: { 'Fn::GetAtt': [logicalId(template, 'AWS::DynamoDB::Table', 'ConnectionsTable'), 'Arn'] } }),
    ]));
  });

  test.each(HANDLERS)('%s: may read secrets\' values only, never describe or list them', (name) => {
    const secretActions = actionsOf(template, `${name}Handler`).filter((action) => action.startsWith('secretsmanager:'));
    expect(secretActions.every((action) => action === 'secretsmanager:GetSecretValue')).toBe(true);
  });

  test.each(HANDLERS.filter((name) => name !== 'Deliver'))('tableEncryptionKey: %s may use the key for what DynamoDB does on its behalf', (name) => {
    const stack = makeStack();
    const key = new kms.Key(stack, 'TableKey');
    new CableWebSocketApi(stack, 'Cable', { tableEncryptionKey: key });
    const keyed = Template.fromStack(stack);
    const keyArn = { 'Fn::GetAtt': [logicalId(keyed, 'AWS::KMS::Key', 'TableKey'), 'Arn'] };
    // Every one of these writes a table (at least a gone connection's clean-up): Decrypt and GenerateDataKey.
    expect(statementsOf(keyed, `${name}Handler`)).toEqual(expect.arrayContaining([
      expect.objectContaining({ Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: keyArn }),
    ]));
  });

  test('broadcast: reads no stream key (it takes stream names, never signed ones)', () => {
    const env = JSON.stringify(template.toJSON().Resources[logicalId(template, 'AWS::Lambda::Function', 'BroadcastHandler')].Properties.Environment);
    expect(env).not.toMatch(/STREAMS_SECRET/);
  });

  test('least privilege: only the pinger may Scan, only its index; no bare "*" resource anywhere', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    for (const [id, policy] of Object.entries(policies)) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        expect(statement.Resource).not.toBe('*');
        const actions = [statement.Action].flat();
        if (actions.includes('dynamodb:Scan')) {
          expect(id).toContain('PingHandler');
          expect(JSON.stringify(statement.Resource)).toContain('/index/pings');
        }
      }
    }
  });

  test('grantManageConnections: grants execute-api:ManageConnections on this stage only', () => {
    const stack = makeStack();
    const cable = new CableWebSocketApi(stack, 'Cable');
    const role = new iam.Role(stack, 'AppRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const grant = cable.grantManageConnections(role);
    expect(grant.success).toBe(true);
    const statement = Template.fromStack(stack).findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^AppRole') }] },
    });
    const rendered = JSON.stringify(Object.values(statement)[0].Properties.PolicyDocument.Statement);
    expect(rendered).toContain('execute-api:ManageConnections');
    expect(rendered).toContain('/cable/*/@connections/*');
    expect(rendered).not.toContain('"Resource":"*"');
  });
});

describe('metrics', () => {
  test.each([
    ['metricConnectCount', 'ConnectCount', 'Sum'],
    ['metricMessageCount', 'MessageCount', 'Sum'],
    ['metricIntegrationError', 'IntegrationError', 'Sum'],
    ['metricClientError', 'ClientError', 'Sum'],
    ['metricExecutionError', 'ExecutionError', 'Sum'],
    ['metricIntegrationLatency', 'IntegrationLatency', 'Average'],
  ] as const)('%s: API Gateway %s (%s) for this API and stage', (method, metricName, statistic) => {
    const { stack, cable } = synth();
    const metric = cable[method]({ period: Duration.minutes(1) });
    expect(metric.namespace).toBe('AWS/ApiGateway');
    expect(metric.metricName).toBe(metricName);
    expect(metric.statistic).toBe(statistic);
    expect(metric.period.toMinutes()).toBe(1);
    expect(Stack.of(cable).resolve(metric.dimensions)).toEqual({ ApiId: { Ref: logicalId(Template.fromStack(stack), 'AWS::ApiGatewayV2::Api', 'CableApi') }, Stage: 'cable' });
  });
});

describe('broadcasting', () => {
  test('broadcastUrl: a public Function URL (the bearer key is checked in code) ending in /_broadcast, as a stack output', () => {
    const { stack, cable, template } = synth();
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      TargetFunctionArn: { 'Fn::GetAtt': [logicalId(template, 'AWS::Lambda::Function', 'BroadcastHandler'), 'Arn'] },
    });
    const url = logicalId(template, 'AWS::Lambda::Url', 'BroadcastHandler');
    expect(stack.resolve(cable.broadcastUrl)).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [url, 'FunctionUrl'] }, '_broadcast']] });
    const outputs = Object.values(template.toJSON().Outputs).map((o: any) => JSON.stringify(o.Value));
    expect(outputs).toContain(JSON.stringify({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [url, 'FunctionUrl'] }, '_broadcast']] }));
  });

  test('broadcast settings: defaults reach the broadcast and fan-out functions', () => {
    const { template } = synth();
    for (const name of ['BroadcastHandler', 'FanOutHandler']) {
      const vars = template.toJSON().Resources[logicalId(template, 'AWS::Lambda::Function', name)].Properties.Environment.Variables;
      expect(vars).toMatchObject({ CABLE_FANOUT_CONCURRENCY: '64', CABLE_FANOUT_SHARD_SIZE: '5000' });
      expect(vars.CABLE_FANOUT_MAX_ATTEMPTS).toBeUndefined();
    }
  });

  test('broadcastConcurrency, broadcastShardSize, broadcastRetry: overrides reach both functions', () => {
    const { template } = synth({
      broadcastConcurrency: 16,
      broadcastShardSize: 2000,
      broadcastRetry: { maxAttempts: 2, baseDelay: Duration.millis(100), maxDelay: Duration.seconds(2) },
    });
    for (const name of ['BroadcastHandler', 'FanOutHandler']) {
      expect(template.toJSON().Resources[logicalId(template, 'AWS::Lambda::Function', name)].Properties.Environment.Variables).toMatchObject({
        CABLE_FANOUT_CONCURRENCY: '16',
        CABLE_FANOUT_SHARD_SIZE: '2000',
        CABLE_FANOUT_MAX_ATTEMPTS: '2',
        CABLE_FANOUT_BASE_DELAY_MS: '100',
        CABLE_FANOUT_MAX_DELAY_MS: '2000',
      });
    }
  });

  test.each([
    [{ broadcastConcurrency: 0 }, /`broadcastConcurrency` must be a whole number of at least 1, got 0/],
    [{ broadcastShardSize: 50 }, /`broadcastShardSize` must be a whole number of at least 100, got 50/],
    [{ broadcastRetry: { maxAttempts: 0 } }, /`broadcastRetry.maxAttempts`.*got 0/],
    [{ broadcastRetry: { baseDelay: Duration.seconds(5), maxDelay: Duration.seconds(1) } }, /`broadcastRetry.baseDelay` \(5 seconds\) must not exceed/],
  ])('broadcast settings: %j fails at synth', (props, message) => {
    expect(() => synth(props)).toThrow(message);
  });

  test('broadcastKey: a given key is read by the broadcast handler only', () => {
    const stack = makeStack();
    const key = secretsmanager.Secret.fromSecretNameV2(stack, 'Key', 'cable/broadcast-key');
    new CableWebSocketApi(stack, 'Cable', { broadcastKey: key });
    const template = Template.fromStack(stack);
    const vars = (name: string) => template.toJSON().Resources[logicalId(template, 'AWS::Lambda::Function', name)].Properties.Environment.Variables;
    expect(JSON.stringify(vars('BroadcastHandler').CABLE_BROADCAST_KEY_ARN)).toContain('cable/broadcast-key');
    for (const name of ['MessageHandler', 'FanOutHandler', 'ConnectHandler']) expect(vars(name).CABLE_BROADCAST_KEY_ARN).toBeUndefined();
    expect(JSON.stringify(statementsOf(template, 'BroadcastHandler'))).toContain('cable/broadcast-key');
  });

  test('fan-out: a shard that failed is not run again (its subscribers would get the frame twice)', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(template, 'AWS::Lambda::Function', 'FanOutHandler') },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 300,
    });
  });

  test('grantBroadcast: lets a grantee invoke the broadcast function, nothing else', () => {
    const stack = makeStack();
    const cable = new CableWebSocketApi(stack, 'Cable');
    const role = new iam.Role(stack, 'AppRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    cable.grantBroadcast(role);
    const template = Template.fromStack(stack);
    const policy = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^AppRole') }] } }))[0];
    const statements = policy.Properties.PolicyDocument.Statement;
    expect(statements).toHaveLength(1);
    expect(statements[0].Action).toBe('lambda:InvokeFunction');
    expect(JSON.stringify(statements[0].Resource)).toContain(logicalId(template, 'AWS::Lambda::Function', 'BroadcastHandler'));
  });
});
