import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CableRpc, CableWebSocketApi, CableWebSocketApiProps } from '../../src';

/** Unacknowledged AwsSolutions findings (errors and warnings) of a stack holding the construct. */
function findings(props?: CableWebSocketApiProps, extra?: (stack: Stack) => CableWebSocketApiProps): string[] {
  const app = new App();
  const stack = new Stack(app, 'NagStack');
  new CableWebSocketApi(stack, 'Cable', { ...props, ...extra?.(stack) });
  Aspects.of(stack).add(new AwsSolutionsChecks({ verbose: true }));
  const annotations = Annotations.fromStack(stack);
  return [
    ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
  ].map((m) => `${m.id}: ${String(m.entry.data).split('\n')[0]}`);
}

describe('cdk-nag AwsSolutions', () => {
  test('cdk-nag: default props leave no unacknowledged finding', () => {
    expect(findings()).toEqual([]);
  });

  test('cdk-nag: access logging with the account role leaves no unacknowledged finding', () => {
    expect(findings({ accessLogging: true, createCloudWatchRole: true, pointInTimeRecovery: true })).toEqual([]);
  });

  test('cdk-nag: a customer managed table key leaves no unacknowledged finding', () => {
    expect(findings({}, (stack) => ({ tableEncryptionKey: new kms.Key(stack, 'Key', { enableKeyRotation: true }) }))).toEqual([]);
  });

  test('cdk-nag: the acknowledgements are ours, not blanket: an app resource beside the construct is still checked', () => {
    const app = new App();
    const stack = new Stack(app, 'NagStack');
    new CableWebSocketApi(stack, 'Cable');
    new kms.Key(stack, 'UnrotatedKey'); // AwsSolutions-KMS5
    Aspects.of(stack).add(new AwsSolutionsChecks());
    const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-KMS5'));
    expect(errors.map((e) => e.id)).toEqual(['/NagStack/UnrotatedKey/Resource']);
  });

  test('cdk-nag: rpc on a Lambda app with a jwtSecret leaves no unacknowledged finding', () => {
    // Imported, so that only the construct's own resources are checked, not the app's.
    expect(findings({}, (stack) => ({
      rpc: CableRpc.fromFunction(lambda.Function.fromFunctionAttributes(stack, 'RailsApp', {
        functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:rails',
        sameEnvironment: true,
      }), {
        secret: secretsmanager.Secret.fromSecretNameV2(stack, 'RpcKey', 'cable/rpc'),
      }),
      jwtSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'JwtKey', 'cable/jwt'),
    }))).toEqual([]);
  });
});
