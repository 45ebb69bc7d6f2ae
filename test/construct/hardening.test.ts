import * as fs from 'node:fs';
import * as path from 'node:path';
import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { logicalId, makeStack, synth } from './support';
import { CableWebSocketApi } from '../../src';

/** The EventInvokeConfig of the function whose logical id contains `fragment`. */
function invokeConfigOf(template: Template, fragment: string): Record<string, any> {
  const fn = logicalId(template, 'AWS::Lambda::Function', fragment);
  const configs = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig', { Properties: { FunctionName: { Ref: fn } } }));
  expect(configs).toHaveLength(1);
  return configs[0].Properties;
}

describe('broadcast URL under a flood', () => {
  test('broadcastReservedConcurrency: unset, the broadcast function shares the unreserved pool', () => {
    const { template } = synth();
    const fn = template.toJSON().Resources[logicalId(template, 'AWS::Lambda::Function', 'BroadcastHandler')];
    expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  test('broadcastReservedConcurrency: reserves that many for the broadcast function only', () => {
    const { template } = synth({ broadcastReservedConcurrency: 20 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^cdk-cable broadcasts'),
      ReservedConcurrentExecutions: 20,
    });
    const reserved = Object.values(template.findResources('AWS::Lambda::Function'))
      .filter((fn) => fn.Properties.ReservedConcurrentExecutions !== undefined);
    expect(reserved).toHaveLength(1);
  });

  test.each([0, -1, 2.5])('broadcastReservedConcurrency: %p fails at synth', (value) => {
    expect(() => synth({ broadcastReservedConcurrency: value })).toThrow(/`broadcastReservedConcurrency` must be a whole number of at least 1.*got/);
  });
});

describe('asynchronous functions', () => {
  const ASYNC = ['DeliverHandler', 'FanOutHandler', 'PingHandler'];

  test('asyncFailureDestination: unset, no destination; a failed event is not run again', () => {
    const { template } = synth();
    for (const fn of ASYNC) {
      const config = invokeConfigOf(template, fn);
      expect(config.DestinationConfig).toBeUndefined();
      expect(config.MaximumRetryAttempts).toBe(0);
    }
  });

  test('asyncFailureDestination: deliver, fan-out and ping send the events they give up on to it', () => {
    const stack = makeStack();
    const queue = new sqs.Queue(stack, 'Failed', { enforceSSL: true });
    new CableWebSocketApi(stack, 'Cable', { asyncFailureDestination: new destinations.SqsDestination(queue) });
    const template = Template.fromStack(stack);
    const queueArn = { 'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', 'Failed'), 'Arn'] };
    for (const fn of ASYNC) {
      const config = invokeConfigOf(template, fn);
      expect(config.DestinationConfig).toEqual({ OnFailure: { Destination: queueArn } });
      expect(config.MaximumRetryAttempts).toBe(0);
    }
    // The synchronous functions get no EventInvokeConfig.
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 3);
  });

  test('asyncFailureDestination: any lambda.IDestination, e.g. another function', () => {
    const stack = makeStack();
    const handler = new lambda.Function(stack, 'OnFailure', {
      runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => {}'),
    });
    new CableWebSocketApi(stack, 'Cable', { asyncFailureDestination: new destinations.LambdaDestination(handler) });
    const template = Template.fromStack(stack);
    expect(invokeConfigOf(template, 'PingHandler').DestinationConfig.OnFailure.Destination)
      .toEqual({ 'Fn::GetAtt': [logicalId(template, 'AWS::Lambda::Function', 'OnFailure'), 'Arn'] });
  });

  test('fan-out: a failed shard is not run again, throttled events wait up to 5 minutes', () => {
    const config = invokeConfigOf(synth().template, 'FanOutHandler');
    expect(config).toMatchObject({ MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 300 });
  });
});

describe('deploy-time traps', () => {
  test('createCloudWatchRole: the role and the account setting are retained when the stack goes', () => {
    const { template } = synth({ accessLogging: true, createCloudWatchRole: true, removalPolicy: RemovalPolicy.DESTROY });
    template.hasResource('AWS::ApiGateway::Account', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.hasResource('AWS::IAM::Role', {
      Properties: { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })] } },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('createCloudWatchRole: without access logging, false or unset is accepted and creates nothing', () => {
    for (const createCloudWatchRole of [undefined, false]) {
      synth({ createCloudWatchRole }).template.resourceCountIs('AWS::ApiGateway::Account', 0);
    }
  });

  test('createCloudWatchRole: false with access logging logs without creating the account setting', () => {
    synth({ accessLogging: true, createCloudWatchRole: false }).template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  test('createCloudWatchRole: must be set explicitly when access logging is on', () => {
    expect(() => synth({ accessLogging: true })).toThrow(/^`createCloudWatchRole` must be set when access logging is on.*true to create.*false if the account already has one/);
    const stack = makeStack();
    const group = new logs.LogGroup(stack, 'Mine');
    expect(() => new CableWebSocketApi(stack, 'Cable', { accessLogGroup: group })).toThrow(/createCloudWatchRole/);
  });

  test('apiName: named after the construct path, unique per stack and construct', () => {
    const stack = makeStack();
    new CableWebSocketApi(stack, 'One');
    new CableWebSocketApi(stack, 'Two');
    const names = Object.values(Template.fromStack(stack).findResources('AWS::ApiGatewayV2::Api')).map((api) => api.Properties.Name);
    expect(names).toEqual([expect.stringMatching(/^TestStack-One-/), expect.stringMatching(/^TestStack-Two-/)]);
    expect(new Set(names).size).toBe(2);
  });

  test('apiName: the API keeps its construct id, so its logical id does not change', () => {
    const { template } = synth();
    expect(Object.keys(template.findResources('AWS::ApiGatewayV2::Api'))).toEqual([expect.stringMatching(/^CableApi[0-9A-F]{8}$/)]);
  });

  test('removalPolicy: the generated secret is retained by default', () => {
    synth().template.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  test('removalPolicy: DESTROY applies to the generated secret', () => {
    synth({ removalPolicy: RemovalPolicy.DESTROY }).template.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Delete' });
  });

  test('removalPolicy: a given secret is left alone', () => {
    const stack = makeStack();
    new CableWebSocketApi(stack, 'Cable', { secret: secretsmanager.Secret.fromSecretNameV2(stack, 'Given', 'cable/secret') });
    Template.fromStack(stack).resourceCountIs('AWS::SecretsManager::Secret', 0);
  });
});

describe('access log format', () => {
  function format(): Record<string, string> {
    const { template } = synth({ accessLogging: true, createCloudWatchRole: false });
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0];
    return JSON.parse(stage.Properties.AccessLogSettings.Format);
  }

  test('accessLogging: one JSON line with the request, the statuses, the errors and the integration latency', () => {
    expect(format()).toEqual({
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
    });
  });

  test('accessLogging: only variables API Gateway documents for WebSocket access logs', () => {
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-logging.html
    const documented = new Set([
      '$context.requestId', '$context.requestTime', '$context.eventType', '$context.routeKey', '$context.connectionId',
      '$context.identity.sourceIp', '$context.status', '$context.error.message', '$context.integration.status',
      '$context.integration.error', '$context.integrationLatency',
    ]);
    for (const variable of Object.values(format())) expect(documented).toContain(variable);
  });
});

describe('file sizes', () => {
  test('src: no file over 300 lines (house style)', () => {
    const root = path.join(__dirname, '..', '..', 'src');
    const files = fs.readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const long = files.filter((f) => fs.readFileSync(path.join(root, f), 'utf8').split('\n').length > 300);
    expect(long).toEqual([]);
  });
});
