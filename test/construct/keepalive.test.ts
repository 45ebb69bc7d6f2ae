import { Duration } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { logicalId, synth } from './support';
import { monthlyPingCostPer1000, pingCeiling } from '../../src/private/pinger';

const vars = (template: ReturnType<typeof synth>['template'], fragment: string) =>
  template.toJSON().Resources[logicalId(template, 'AWS::Lambda::Function', fragment)].Properties.Environment.Variables;

describe('keepalive', () => {
  test('pingInterval: every 3 s by default, with AnyCable ?pi= bounds 3 s to 9 min, 5,000 posts/s, 118-minute maximum age', () => {
    const { template } = synth();
    for (const fn of ['ConnectHandler', 'PingHandler']) {
      expect(vars(template, fn)).toMatchObject({
        CABLE_PING_INTERVAL: '3',
        CABLE_PING_MIN_CLIENT_INTERVAL: '3',
        CABLE_PING_MAX_CLIENT_INTERVAL: '540',
        CABLE_PING_MAX_PER_SECOND: '5000',
        CABLE_MAX_CONNECTION_AGE: '7080',
      });
    }
  });

  test('pings: false sends CABLE_PING_INTERVAL=0 (the pinger still ends old connections)', () => {
    const { template } = synth({ pings: false });
    expect(vars(template, 'PingHandler').CABLE_PING_INTERVAL).toBe('0');
    template.resourceCountIs('AWS::Events::Rule', 1);
  });

  test('schedule: an EventBridge rule starts the pinger once a minute, without late retries', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(* * * * ? *)',
      State: 'ENABLED',
      Targets: [Match.objectLike({
        Arn: { 'Fn::GetAtt': [logicalId(template, 'AWS::Lambda::Function', 'PingHandler'), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
      })],
    });
    template.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('keepalive'), Timeout: 90 });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(template, 'AWS::Lambda::Function', 'PingHandler') },
      MaximumRetryAttempts: 0,
    });
  });

  test('minClientPingInterval: defaults to pingInterval, so clients may ask for fewer pings, not more', () => {
    const { template } = synth({ pingInterval: Duration.seconds(30) });
    expect(vars(template, 'ConnectHandler')).toMatchObject({ CABLE_PING_INTERVAL: '30', CABLE_PING_MIN_CLIENT_INTERVAL: '30' });
  });

  test('connectionTtl: must outlast maxConnectionAge, or DynamoDB would expire open connections', () => {
    expect(() => synth({ connectionTtl: Duration.hours(2), maxConnectionAge: Duration.hours(2) }))
      .toThrow(/`connectionTtl` \(7200 s\) must be longer than `maxConnectionAge` \(7200 s\)/);
  });

  test('tables: the connections table has the slim pings index and the sparse byIdentifiers index', () => {
    synth().template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        { IndexName: 'pings', KeySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }], Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['connectedAt', 'pingIntervalSeconds'] } },
        { IndexName: 'byIdentifiers', KeySchema: [{ AttributeName: 'identifiers', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
      ],
    });
  });

  test('pingInterval and friends: overrides reach the functions', () => {
    const { template } = synth({
      pingInterval: Duration.seconds(30),
      minClientPingInterval: Duration.seconds(10),
      maxClientPingInterval: Duration.minutes(5),
      maxPingsPerSecond: 1000,
      maxConnectionAge: Duration.minutes(90),
    });
    expect(vars(template, 'PingHandler')).toMatchObject({
      CABLE_PING_INTERVAL: '30',
      CABLE_PING_MIN_CLIENT_INTERVAL: '10',
      CABLE_PING_MAX_CLIENT_INTERVAL: '300',
      CABLE_PING_MAX_PER_SECOND: '1000',
      CABLE_MAX_CONNECTION_AGE: '5400',
    });
  });

  test.each([
    [{ pingInterval: Duration.minutes(10) }, /`pingInterval` must be a whole number of seconds from 1 to 540, got 600/],
    [{ pingInterval: Duration.millis(1500) }, /`pingInterval` must be a whole number of seconds, got 1 second 500 millis/],
    [{ pingInterval: Duration.seconds(5), minClientPingInterval: Duration.seconds(10) }, /`pingInterval` \(5 s\) must lie between `minClientPingInterval` \(10 s\)/],
    [{ maxPingsPerSecond: 20000 }, /`maxPingsPerSecond` must be a whole number of posts per second from 1 to 10000, got 20000/],
    [{ maxConnectionAge: Duration.hours(3) }, /`maxConnectionAge` must be a whole number of seconds from 60 to 7200, got 10800/],
  ])('validation: %j fails at synth', (props, message) => {
    expect(() => synth(props)).toThrow(message);
  });

  test('expectedConnections: more than one invocation sustains is split across workers, no warning', () => {
    const annotations = Annotations.fromStack(synth({ expectedConnections: 3000 }).stack);
    expect(annotations.findWarning('*', Match.stringLikeRegexp('posts/s'))).toEqual([]);
  });

  test('ceiling: the synth note states the most connections pinged in time (maxPingsPerSecond x pingInterval, within the workers)', () => {
    Annotations.fromStack(synth().stack).hasInfo('/TestStack/Cable',
      Match.stringLikeRegexp('pings at most 15000 connections every 3 s \\(5000 posts/s over 9 invocations of 256 MB; maxPingsPerSecond 5000\\)'));
    Annotations.fromStack(synth({ maxPingsPerSecond: 1000, pingInterval: Duration.seconds(10) }).stack).hasInfo('/TestStack/Cable',
      Match.stringLikeRegexp('pings at most 10000 connections every 10 s \\(1000 posts/s over 2 invocations'));
    const ceiling = pingCeiling({ intervalSeconds: 3, maxPerSecond: 10_000, memorySize: 128 });
    expect(ceiling).toEqual({ workers: 32, postsPerSecond: 8960, connections: 26880 });
  });

  test('workers: the ping function may invoke itself (a policy of its own, no cycle); $connect may invoke it and use the lease', () => {
    const { template } = synth();
    const pingId = logicalId(template, 'AWS::Lambda::Function', 'PingHandler');
    const subscriptions = logicalId(template, 'AWS::DynamoDB::Table', 'SubscriptionsTable');
    const statements = (fragment: string) => Object.entries(template.findResources('AWS::IAM::Policy'))
      .filter(([id]) => id.includes(fragment)).flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement);
    expect(statements('PingHandlerSelfInvokePolicy')).toEqual([
      { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { 'Fn::GetAtt': [pingId, 'Arn'] } },
    ]);
    expect(statements('PingHandlerServiceRoleDefaultPolicy')).toEqual(expect.arrayContaining([
      { Action: 'dynamodb:UpdateItem', Effect: 'Allow', Resource: { 'Fn::GetAtt': [subscriptions, 'Arn'] } },
      { Action: 'dynamodb:PutItem', Effect: 'Allow', Resource: { 'Fn::GetAtt': [subscriptions, 'Arn'] } },
    ]));
    expect(statements('ConnectHandlerServiceRoleDefaultPolicy')).toEqual(expect.arrayContaining([
      { Action: 'dynamodb:GetItem', Effect: 'Allow', Resource: { 'Fn::GetAtt': [subscriptions, 'Arn'] } },
      { Action: 'dynamodb:UpdateItem', Effect: 'Allow', Resource: { 'Fn::GetAtt': [subscriptions, 'Arn'] } },
      { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { 'Fn::GetAtt': [pingId, 'Arn'] } },
    ]));
    expect(vars(template, 'ConnectHandler').CABLE_PING_FUNCTION).toEqual({ Ref: pingId });
    expect(vars(template, 'PingHandler').CABLE_PING_FUNCTION).toBeUndefined();
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: pingId }, MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60,
    });
  });

  test('cost: the default 3 s interval warns with the monthly cost per 1,000 connections', () => {
    const { stack } = synth();
    Annotations.fromStack(stack).hasWarning('/TestStack/Cable', Match.stringLikeRegexp('pings every 3 s cost about \\$864\\.00 a month per 1,000 connections'));
  });

  test('cost: a 9-minute interval is only noted, at about $4.80 per 1,000 connections a month', () => {
    const { stack } = synth({ pingInterval: Duration.minutes(9) });
    const annotations = Annotations.fromStack(stack);
    expect(annotations.findWarning('/TestStack/Cable', Match.stringLikeRegexp('pings every'))).toEqual([]);
    annotations.hasInfo('/TestStack/Cable', Match.stringLikeRegexp('pings every 540 s cost about \\$4\\.80'));
    expect(monthlyPingCostPer1000(540)).toBeCloseTo(4.8, 2);
  });

  test('expectedConnections: warns when pinging them nears the account quota or exceeds maxPingsPerSecond', () => {
    const { stack } = synth({ expectedConnections: 20_000 });
    const annotations = Annotations.fromStack(stack);
    annotations.hasWarning('/TestStack/Cable', Match.stringLikeRegexp('20000 connections pinged every 3 s make 6667 @connections posts/s, more than half'));
    annotations.hasWarning('/TestStack/Cable', Match.stringLikeRegexp('need 6667 posts/s; the pinger sustains 5000/s \\(maxPingsPerSecond 5000, at most 32 invocations of 256 MB\\)'));
    const quiet = synth({ expectedConnections: 1000, pingInterval: Duration.seconds(30) });
    expect(Annotations.fromStack(quiet.stack).findWarning('*', Match.stringLikeRegexp('posts/s'))).toEqual([]);
  });
});
