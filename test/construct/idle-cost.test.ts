import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { synth } from './support';
import { CableWebSocketApi } from '../../src';
import { idleMonthlyCost } from '../../src/private/idle-cost';

describe('idle cost', () => {
  test('default: under $1 a month plus the secret, noted at synth', () => {
    const { cable, stack } = synth();
    const parts = idleMonthlyCost(cable, { pings: true, memorySize: 256, secret: cable.secret, alarms: cable.alarms, dashboard: cable.dashboard });
    expect(parts.secret).toBe(0.40);
    expect(parts.alarms).toBe(0);
    expect(parts.dashboard).toBe(0);
    // docs/cost.md, "Idle": requests $0.0086, duration $0.0029, DynamoDB $0.065, logs $0.015.
    expect(parts.pinger).toBeCloseTo(0.0086 + 0.0029 + 0.065 + 0.015, 3);
    Annotations.fromStack(stack).hasInfo('/TestStack/Cable', Match.stringLikeRegexp('idle \\(nobody connected\\) this deployment costs about \\$0\\.49 a month \\(pinger \\$0\\.09, secret \\$0\\.40\\)'));
  });

  test('alarms: each watched metric is $0.10 a month (five alarms watch one each, the handler-error alarm seven)', () => {
    const { stack } = synth({ alarms: true });
    Annotations.fromStack(stack).hasInfo('/TestStack/Cable', Match.stringLikeRegexp('alarms \\$1\\.20'));
  });

  test('dashboard: $3 a month when asked for', () => {
    const { stack } = synth({ dashboard: true });
    Annotations.fromStack(stack).hasInfo('/TestStack/Cable', Match.stringLikeRegexp('dashboard \\$3\\.00'));
  });

  test('secret: a given secret is not the deployment\'s cost', () => {
    const stack = new Stack(new App(), 'TestStack');
    new CableWebSocketApi(stack, 'Cable', { secret: secretsmanager.Secret.fromSecretNameV2(stack, 'Given', 'given') });
    Annotations.fromStack(stack).hasInfo('/TestStack/Cable', Match.stringLikeRegexp('costs about \\$0\\.0\\d a month \\(pinger \\$0\\.0\\d\\)'));
  });
});
