import { App, CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
// In your app: import { CableWebSocketApi } from 'cdk-cable';
import { CableWebSocketApi } from '../../src';

/** The README's quick start: a cable for one Rails app. */
export class CableStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const cable = new CableWebSocketApi(this, 'Cable', {
      allowedOrigins: ['https://app.example.com'],
    });
    new CfnOutput(this, 'ActionCableUrl', { value: cable.url });
    new CfnOutput(this, 'CableSecretArn', { value: cable.secret.secretArn });
    // The three outputs `npx cdk-cable check` takes after `cdk deploy` (docs/check.md).
    new CfnOutput(this, 'BroadcastUrl', { value: cable.broadcastUrl });
  }
}

const app = new App();
new CableStack(app, 'CableExample');
