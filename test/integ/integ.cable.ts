import { ExpectedResult, IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { CableWebSocketApi } from '../../src';

/**
 * The deployable integration test: the construct with its defaults (what the README's quick
 * start deploys), and an assertion that runs `cdk-cable check`'s scenario (lambda/check/) from a
 * function inside AWS against the deployed wss:// URL and broadcast URL, expecting every step to
 * pass. `npx projen integ:deploy` deploys, asserts and destroys (AWS credentials needed);
 * `npx projen integ:snapshot` compares the synthesized stack with the committed snapshot, offline.
 * See docs/integration-testing.md.
 */
const app = new App();
const stack = new Stack(app, 'CdkCableInteg');
const cable = new CableWebSocketApi(stack, 'Cable', { removalPolicy: RemovalPolicy.DESTROY });

const check = new NodejsFunction(stack, 'CheckFunction', {
  entry: `${__dirname}/check-function.ts`,
  runtime: Runtime.NODEJS_22_X,
  architecture: Architecture.ARM_64,
  memorySize: 256,
  // At most 15 s for the warm-up's welcome, 65 s for the pinger's first minute, then the check's
  // steps (about 10 s): within the 120 s the assertion provider waits for a synchronous invoke.
  timeout: Duration.seconds(100),
  environment: {
    CHECK_URL: cable.url,
    CHECK_BROADCAST_URL: cable.broadcastUrl,
    CHECK_SECRET_ARN: cable.secret.secretArn,
  },
  bundling: {
    format: OutputFormat.ESM,
    target: 'node22',
    mainFields: ['module', 'main'],
    minify: true,
    // CommonJS dependencies (ws) bundled into an ES module still call require() for Node built-ins.
    banner: "import{createRequire as __cableRequire}from'node:module';const require=__cableRequire(import.meta.url);",
  },
});
cable.secret.grantRead(check);

const integ = new IntegTest(app, 'CableIntegTest', { testCases: [stack] });
integ.assertions
  .invokeFunction({ functionName: check.functionName })
  .expect(ExpectedResult.objectLike({ Payload: JSON.stringify('ok') }));
