import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { logicalId, statementsOf } from './support';
import { CableWebSocketApi, CableWebSocketApiProps } from '../../src';
import { ENVIRONMENT_VARIABLES as V, SECRET_VARIABLES as S } from '../../src/contract/environment';

/*
 * Origin verification: the distribution sends the API a secret header, and `$connect` is told
 * which header and which secret, and may read that secret and nothing more; the other functions
 * learn nothing of it.
 */

const ENV = { account: '123456789012', region: 'eu-west-1' };
const HANDLERS = ['Connect', 'Message', 'Disconnect', 'Deliver', 'Broadcast', 'FanOut', 'Ping'] as const;
const READ_SECRET = 'secretsmanager:GetSecretValue';

function synthWith(build: (stack: Stack) => CableWebSocketApiProps): { stack: Stack; cable: CableWebSocketApi; template: Template } {
  const stack = new Stack(new App(), 'TestStack', { env: ENV });
  const cable = new CableWebSocketApi(stack, 'Cable', build(stack));
  return { stack, cable, template: Template.fromStack(stack) };
}

function environmentOf(template: Template, name: string): Record<string, unknown> {
  return template.toJSON().Resources[logicalId(template, 'AWS::Lambda::Function', `${name}Handler`)].Properties.Environment.Variables;
}

/** The resources `<name>Handler` may call GetSecretValue on. */
function secretsReadBy(template: Template, name: string): unknown[] {
  return statementsOf(template, `${name}Handler`).filter((s) => [s.Action].flat().includes(READ_SECRET)).flatMap((s) => [s.Resource].flat());
}

/** The dynamic reference CloudFormation resolves when it deploys the distribution. */
function resolveReference(secretId: string) {
  return { 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secretId }, ':SecretString:::}}']] };
}

function originHeadersOf(template: Template, distributionFragment: string): Array<{ HeaderName: string; HeaderValue: unknown }> {
  const id = logicalId(template, 'AWS::CloudFront::Distribution', distributionFragment);
  const config = template.toJSON().Resources[id].Properties.DistributionConfig;
  const cableOrigin = config.Origins.find((o: { DomainName: unknown }) => JSON.stringify(o.DomainName).includes('ApiEndpoint'));
  return cableOrigin.OriginCustomHeaders ?? [];
}

const certificate = (stack: Stack) => acm.Certificate.fromCertificateArn(stack, 'Certificate', 'arn:aws:acm:us-east-1:123456789012:certificate/abc');

describe('origin verification: the construct\'s distribution', () => {
  const { template } = synthWith(() => ({ distribution: {} }));
  const secretId = logicalId(template, 'AWS::SecretsManager::Secret', 'OriginSecret');

  test('distribution: the distribution sends X-Origin-Verify with the generated secret to the API origin', () => {
    expect(originHeadersOf(template, 'Distribution')).toEqual([{ HeaderName: 'X-Origin-Verify', HeaderValue: resolveReference(secretId) }]);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('origin verification'),
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
    });
  });

  test('distribution: $connect gets the header name and the origin secret\'s ARN', () => {
    expect(environmentOf(template, 'Connect')).toMatchObject({ [V.originHeader]: 'X-Origin-Verify', [`${S.originSecret}_ARN`]: { Ref: secretId } });
  });

  test('distribution: $connect may GetSecretValue on the origin secret; no other function may, nor learns of it', () => {
    expect(secretsReadBy(template, 'Connect')).toContainEqual({ Ref: secretId });
    for (const name of HANDLERS.filter((n) => n !== 'Connect')) {
      expect(JSON.stringify(secretsReadBy(template, name))).not.toContain(secretId);
      const names = Object.keys(environmentOf(template, name));
      expect(names.filter((n) => n.startsWith('CABLE_ORIGIN_'))).toEqual([]);
    }
  });

  test('distribution.domainNames: X-Forwarded-Host travels with the origin header', () => {
    const withDomain = synthWith((stack) => ({ distribution: { domainNames: ['app.example.com'], certificate: certificate(stack) } })).template;
    expect(originHeadersOf(withDomain, 'Distribution')).toEqual([
      { HeaderName: 'X-Forwarded-Host', HeaderValue: 'app.example.com' },
      { HeaderName: 'X-Origin-Verify', HeaderValue: resolveReference(logicalId(withDomain, 'AWS::SecretsManager::Secret', 'OriginSecret')) },
    ]);
  });

  test('removalPolicy: the generated origin secret follows it (RETAIN by default)', () => {
    template.hasResource('AWS::SecretsManager::Secret', { Properties: { Description: Match.stringLikeRegexp('origin verification') }, DeletionPolicy: 'Retain' });
    const destroyed = synthWith(() => ({ distribution: {}, removalPolicy: RemovalPolicy.DESTROY })).template;
    destroyed.hasResource('AWS::SecretsManager::Secret', { Properties: { Description: Match.stringLikeRegexp('origin verification') }, DeletionPolicy: 'Delete' });
  });

  test('originVerification: headerName and secret choose what the distribution sends', () => {
    const { template: chosen } = synthWith((stack) => ({
      distribution: {},
      originVerification: { headerName: 'X-Cable-Proof', secret: new secretsmanager.Secret(stack, 'MyOriginKey') },
    }));
    const given = logicalId(chosen, 'AWS::SecretsManager::Secret', 'MyOriginKey');
    expect(originHeadersOf(chosen, 'Distribution')).toEqual([{ HeaderName: 'X-Cable-Proof', HeaderValue: resolveReference(given) }]);
    expect(environmentOf(chosen, 'Connect')).toMatchObject({ [V.originHeader]: 'X-Cable-Proof', [`${S.originSecret}_ARN`]: { Ref: given } });
    expect(Object.keys(chosen.findResources('AWS::SecretsManager::Secret', { Properties: { Description: Match.stringLikeRegexp('origin verification') } }))).toEqual([]);
  });
});

describe('origin verification: your own distribution', () => {
  test('originVerification: without distribution, $connect verifies with the given secret; no distribution is created', () => {
    const { template } = synthWith((stack) => ({ originVerification: { secret: secretsmanager.Secret.fromSecretNameV2(stack, 'Imported', 'cable/origin') } }));
    const env = environmentOf(template, 'Connect');
    expect(env[V.originHeader]).toBe('X-Origin-Verify');
    expect(JSON.stringify(env[`${S.originSecret}_ARN`])).toContain('secret:cable/origin');
    // A secret imported by name has no full ARN: Secrets Manager's six-character suffix is matched.
    expect(JSON.stringify(secretsReadBy(template, 'Connect'))).toContain('secret:cable/origin-??????');
    template.resourceCountIs('AWS::CloudFront::Distribution', 0);
  });

  test('originVerification: addBehaviorTo sends the header to the cable origin of your distribution; originSecret is the generated secret', () => {
    const stack = new Stack(new App(), 'TestStack', { env: ENV });
    const cable = new CableWebSocketApi(stack, 'Cable', { originVerification: {} });
    const site = new cloudfront.Distribution(stack, 'Site', { defaultBehavior: { origin: new origins.HttpOrigin('rails.example.net') } });
    cable.addBehaviorTo(site, { domainName: 'app.example.com' });
    const template = Template.fromStack(stack);
    const secretId = logicalId(template, 'AWS::SecretsManager::Secret', 'OriginSecret');
    expect(originHeadersOf(template, 'Site')).toEqual([
      { HeaderName: 'X-Forwarded-Host', HeaderValue: 'app.example.com' },
      { HeaderName: 'X-Origin-Verify', HeaderValue: resolveReference(secretId) },
    ]);
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('forwardedHostIgnored'));
    expect(stack.resolve(cable.originSecret!.secretArn)).toEqual({ Ref: secretId });
  });

  test('addBehaviorTo: without originVerification, no secret header, no origin secret, and a warning that X-Forwarded-Host is ignored', () => {
    const stack = new Stack(new App(), 'TestStack', { env: ENV });
    const cable = new CableWebSocketApi(stack, 'Cable');
    const site = new cloudfront.Distribution(stack, 'Site', { defaultBehavior: { origin: new origins.HttpOrigin('rails.example.net') } });
    cable.addBehaviorTo(site, { domainName: 'app.example.com' });
    const template = Template.fromStack(stack);
    expect(originHeadersOf(template, 'Site')).toEqual([{ HeaderName: 'X-Forwarded-Host', HeaderValue: 'app.example.com' }]);
    expect(Object.keys(environmentOf(template, 'Connect')).filter((n) => n.startsWith('CABLE_ORIGIN_'))).toEqual([]);
    Annotations.fromStack(stack).hasWarning('/TestStack/Site', Match.stringLikeRegexp('ignores the X-Forwarded-Host "app.example.com" without origin verification'));
  });

  test('unconfigured: no origin secret and nothing about it in $connect\'s environment', () => {
    const { template } = synthWith(() => ({}));
    expect(Object.keys(template.findResources('AWS::SecretsManager::Secret'))).toEqual([expect.stringContaining('CableSecret')]);
    expect(Object.keys(environmentOf(template, 'Connect')).filter((n) => n.startsWith('CABLE_ORIGIN_'))).toEqual([]);
  });
});

describe('origin verification: validation', () => {
  test.each([
    ['X Origin', /^`originVerification.headerName` must be an HTTP header name .*got "X Origin"/],
    ['X-Origin:', /^`originVerification.headerName` must be an HTTP header name .*got "X-Origin:"/],
    ['', /^`originVerification.headerName` must be an HTTP header name .*got ""/],
    ['Host', /^`originVerification.headerName` must be a header of its own, got "Host", which CloudFront cannot add or the cable reads: keep the default X-Origin-Verify/],
    ['x-amz-secret', /^`originVerification.headerName` must be a header of its own, got "x-amz-secret"/],
    ['X-Forwarded-Host', /^`originVerification.headerName` must be a header of its own, got "X-Forwarded-Host"/],
    ['Origin', /^`originVerification.headerName` must be a header of its own, got "Origin"/],
    ['Sec-WebSocket-Protocol', /^`originVerification.headerName` must be a header of its own, got "Sec-WebSocket-Protocol"/],
  ])('originVerification.headerName: %j fails', (headerName, message) => {
    expect(() => synthWith(() => ({ distribution: {}, originVerification: { headerName } }))).toThrow(message);
    expect(() => synthWith(() => ({ originVerification: { headerName } }))).toThrow(message);
  });
});
