import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { logicalId, makeStack, synth } from './support';
import { CableRpc, CableWebSocketApi } from '../../src';

describe('custom metrics', () => {
  test.each([
    ['metricBroadcasts', 'Broadcasts'],
    ['metricDeliveries', 'Delivered'],
    ['metricFanOutFailures', 'FanOutFailures'],
    ['metricGoneConnections', 'GoneConnections'],
    ['metricHandlerErrors', 'HandlerErrors'],
    ['metricPings', 'Pings'],
    ['metricPingFailures', 'PingFailures'],
    ['metricMaxAgeDisconnects', 'MaxAgeDisconnects'],
    ['metricRpcErrors', 'RpcErrors'],
  ] as const)('%s: cdk-cable %s, summed, for this API only', (method, metricName) => {
    const { stack, cable, template } = synth();
    const metric = cable[method]();
    expect(metric.namespace).toBe('cdk-cable');
    expect(metric.metricName).toBe(metricName);
    expect(metric.statistic).toBe('Sum');
    expect(stack.resolve(metric.dimensions)).toEqual({ ApiId: { Ref: logicalId(template, 'AWS::ApiGatewayV2::Api', 'CableApi') } });
  });

  test('CABLE_API_ID: every function learns the API id it publishes its metrics under', () => {
    const { template } = synth();
    const api = logicalId(template, 'AWS::ApiGatewayV2::Api', 'CableApi');
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(7);
    for (const fn of functions) expect(fn.Properties.Environment.Variables.CABLE_API_ID).toEqual({ Ref: api });
  });

  test.each([
    ['metricLambdaErrors', 'Errors'],
    ['metricLambdaThrottles', 'Throttles'],
  ] as const)('%s: sums AWS/Lambda %s over all seven functions', (method, metricName) => {
    const { stack, cable } = synth();
    const expression = cable[method]();
    const used = Object.values(expression.usingMetrics) as cloudwatch.Metric[];
    expect(expression.expression).toBe('m0 + m1 + m2 + m3 + m4 + m5 + m6');
    expect(used.map((m) => [m.namespace, m.metricName, m.statistic])).toEqual(Array(7).fill(['AWS/Lambda', metricName, 'Sum']));
    const names = used.map((m) => JSON.stringify(stack.resolve(m.dimensions)));
    expect(new Set(names).size).toBe(7);
  });
});

describe('alarms', () => {
  test('alarms: off by default, and no dashboard', () => {
    const { cable, template } = synth();
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(cable.alarms).toEqual([]);
    expect(cable.dashboard).toBeUndefined();
  });

  test('alarms: six alarms with their thresholds, missing data not breaching', () => {
    const { cable, template } = synth({ alarms: true });
    expect(cable.alarms).toHaveLength(6);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 6);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'HandlerErrors',
      Namespace: 'cdk-cable',
      Threshold: 1,
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      EvaluationPeriods: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'FanOutFailures', Threshold: 10 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'IntegrationError', Namespace: 'AWS/ApiGateway', Threshold: 5 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ExecutionError', Namespace: 'AWS/ApiGateway', Threshold: 5 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 1,
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'm0 + m1 + m2 + m3 + m4 + m5 + m6' })]),
    });
  });

  test('pingLag: an alarm on the latest a ping round finished past its window, at a second (maximum, not sum)', () => {
    const { cable, template } = synth({ alarms: true });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'PingLag', Namespace: 'cdk-cable', Statistic: 'Maximum', Threshold: 1000, TreatMissingData: 'notBreaching',
    });
    expect(cable.metricPingLag().statistic).toBe('Maximum');
    expect(cable.metricPingLag().metricName).toBe('PingLag');
  });

  test('rpc: with the app\'s RPC, a seventh alarm watches RpcErrors and the errors graph shows it', () => {
    const { cable, template } = synth({ alarms: true, dashboard: true, rpc: CableRpc.fromUrl('https://app.example.com/_anycable') });
    expect(cable.alarms).toHaveLength(7);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'RpcErrors', Namespace: 'cdk-cable', Threshold: 5, Statistic: 'Sum' });
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(body).toContain('RpcErrors');
  });

  test('rpc: without it there is no RpcErrors alarm or graph', () => {
    const { template } = synth({ alarms: true, dashboard: true });
    expect(template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'RpcErrors' } })).toEqual({});
    expect(JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'))).not.toContain('RpcErrors');
  });

  test('alarmAction: every alarm notifies it (and implies alarms)', () => {
    const stack = makeStack();
    const topic = new sns.Topic(stack, 'Ops');
    new CableWebSocketApi(stack, 'Cable', { alarmAction: new actions.SnsAction(topic) });
    const alarms = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(6);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Ops/) }]);
  });

  test('dashboard: one dashboard graphing traffic, broadcasts and errors, with the alarms when on', () => {
    const { cable, template } = synth({ dashboard: true, alarms: true });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(cable.dashboard).toBeDefined();
    const dashboard = logicalId(template, 'AWS::CloudWatch::Dashboard', 'Dashboard');
    const body = JSON.stringify(template.toJSON().Resources[dashboard].Properties.DashboardBody);
    for (const name of ['ConnectCount', 'MessageCount', 'Broadcasts', 'Delivered', 'HandlerErrors', 'FanOutFailures', 'IntegrationLatency', 'HandlerErrorsAlarm']) {
      expect(body).toContain(name);
    }
  });
});
