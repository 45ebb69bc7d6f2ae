import { CfnOutput } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/** The URLs a Rails app is configured with, as stack outputs (ids stable: `Url`, `CallbackUrl`, `BroadcastUrl`). */
export function createOutputs(scope: Construct, urls: { readonly url: string; readonly callbackUrl: string; readonly broadcastUrl: string }): void {
  new CfnOutput(scope, 'Url', { value: urls.url, description: 'wss:// URL for config.action_cable.url' });
  new CfnOutput(scope, 'CallbackUrl', { value: urls.callbackUrl, description: '@connections endpoint of the API Gateway Management API' });
  new CfnOutput(scope, 'BroadcastUrl', { value: urls.broadcastUrl, description: 'AnyCable HTTP broadcast URL (anycable-rails http_broadcast_url)' });
}
