import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Capture, Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { logicalId } from './support';
import { CableDistributionOptions, CableWebSocketApi, CableWebSocketApiProps } from '../../src';

const ENV = { account: '123456789012', region: 'eu-west-1' };
const CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';
// AWS managed policies (fixed ids, documented by CloudFront).
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

interface Built { app: App; stack: Stack; cable: CableWebSocketApi; template: Template }

/** A stack with a cable whose `distribution` options are built in that stack. */
function synthWith(
  distribution: (stack: Stack) => CableDistributionOptions,
  props: CableWebSocketApiProps = {},
): Built {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env: ENV });
  const cable = new CableWebSocketApi(stack, 'Cable', { ...props, distribution: distribution(stack) });
  return { app, stack, cable, template: Template.fromStack(stack) };
}

const certificate = (stack: Stack, arn = CERTIFICATE_ARN) => acm.Certificate.fromCertificateArn(stack, 'Certificate', arn);
const zone = (stack: Stack, zoneName = 'example.com') =>
  route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z0123456789', zoneName });
const withDomain = (stack: Stack): CableDistributionOptions => ({
  domainNames: ['app.example.com'], certificate: certificate(stack), hostedZone: zone(stack),
});

/** The execute-api host, taken from the API's ApiEndpoint attribute. */
const apiHost = (apiId: string) => ({ 'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': [apiId, 'ApiEndpoint'] }] }] });

/** The single distribution's config. */
function distributionConfig(template: Template): any {
  const distributions = Object.values(template.findResources('AWS::CloudFront::Distribution'));
  expect(distributions).toHaveLength(1);
  return distributions[0].Properties.DistributionConfig;
}

function connectVariables(template: Template): Record<string, unknown> {
  return template.toJSON().Resources[logicalId(template, 'AWS::Lambda::Function', 'ConnectHandler')].Properties.Environment.Variables;
}

describe('origin', () => {
  test('distribution: the origin is the API\'s execute-api host, HTTPS only with TLS 1.2, no origin path', () => {
    const { template } = synthWith(() => ({}));
    const api = logicalId(template, 'AWS::ApiGatewayV2::Api', 'CableApi');
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: {
        Origins: [{
          Id: Match.anyValue(),
          DomainName: apiHost(api),
          CustomOriginConfig: { OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] },
          OriginPath: Match.absent(),
          // The origin verification header only (test/construct/origin-verification.test.ts).
          OriginCustomHeaders: [Match.objectLike({ HeaderName: 'X-Origin-Verify' })],
        }],
      },
    });
  });

  test('distribution.domainNames: the first non-wildcard domain is sent as X-Forwarded-Host', () => {
    const { template } = synthWith((stack) => ({
      domainNames: ['*.example.com', 'app.example.com', 'www.example.com'], certificate: certificate(stack),
    }));
    expect(distributionConfig(template).Origins[0].OriginCustomHeaders).toEqual([
      { HeaderName: 'X-Forwarded-Host', HeaderValue: 'app.example.com' },
      { HeaderName: 'X-Origin-Verify', HeaderValue: expect.anything() },
    ]);
  });
});

describe('behavior', () => {
  const cableBehavior = {
    ViewerProtocolPolicy: 'https-only',
    AllowedMethods: ['GET', 'HEAD'],
    CachePolicyId: CACHING_DISABLED,
    OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
    Compress: false,
  };

  test('distribution: without defaultBehavior the cable is the default behavior (wss only, GET/HEAD, CachingDisabled, AllViewerExceptHostHeader)', () => {
    const { template } = synthWith(() => ({}));
    const config = distributionConfig(template);
    expect(config.DefaultCacheBehavior).toEqual({ ...cableBehavior, TargetOriginId: config.Origins[0].Id });
    expect(config.CacheBehaviors).toBeUndefined();
  });

  test('distribution.defaultBehavior: the app keeps the default behavior and the cable gets /cable', () => {
    const { template } = synthWith(() => ({
      defaultBehavior: { origin: new origins.HttpOrigin('rails.example.net') },
    }));
    const config = distributionConfig(template);
    const appOrigin = config.Origins.find((o: any) => o.DomainName === 'rails.example.net');
    const cableOrigin = config.Origins.find((o: any) => o.DomainName !== 'rails.example.net');
    expect(config.DefaultCacheBehavior.TargetOriginId).toBe(appOrigin.Id);
    expect(config.CacheBehaviors).toEqual([{ ...cableBehavior, PathPattern: '/cable', TargetOriginId: cableOrigin.Id }]);
  });

  test('stageName: the behavior\'s path is the stage\'s path, and url follows it', () => {
    const { stack, cable, template } = synthWith(
      (s) => ({ ...withDomain(s), defaultBehavior: { origin: new origins.HttpOrigin('rails.example.net') } }),
      { stageName: 'ws' },
    );
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: { CacheBehaviors: [Match.objectLike({ PathPattern: '/ws' })] },
    });
    expect(stack.resolve(cable.url)).toBe('wss://app.example.com/ws');
  });
});

describe('custom domain', () => {
  test('distribution.domainNames and certificate: aliases, the certificate, SNI and TLSv1.2_2021', () => {
    synthWith(withDomain).template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: {
        Aliases: ['app.example.com'],
        ViewerCertificate: { AcmCertificateArn: CERTIFICATE_ARN, SslSupportMethod: 'sni-only', MinimumProtocolVersion: 'TLSv1.2_2021' },
      },
    });
  });

  test('distribution: without a domain the default *.cloudfront.net certificate is used', () => {
    const config = distributionConfig(synthWith(() => ({})).template);
    expect(config.Aliases).toBeUndefined();
    expect(config.ViewerCertificate).toBeUndefined();
  });

  test('distribution.hostedZone: an A and an AAAA alias to the distribution for each domain name', () => {
    const { template } = synthWith((stack) => ({
      domainNames: ['app.example.com', 'example.com'], certificate: certificate(stack), hostedZone: zone(stack),
    }));
    const distribution = logicalId(template, 'AWS::CloudFront::Distribution', 'CableDistribution');
    template.resourceCountIs('AWS::Route53::RecordSet', 4);
    for (const name of ['app.example.com.', 'example.com.']) {
      for (const type of ['A', 'AAAA']) {
        template.hasResourceProperties('AWS::Route53::RecordSet', {
          Name: name,
          Type: type,
          HostedZoneId: 'Z0123456789',
          AliasTarget: {
            DNSName: { 'Fn::GetAtt': [distribution, 'DomainName'] },
            HostedZoneId: { 'Fn::FindInMap': ['AWSCloudFrontPartitionHostedZoneIdMap', { Ref: 'AWS::Partition' }, 'zoneId'] },
          },
        });
      }
    }
  });

  test('distribution.hostedZone: a zone imported by id (no name) gets absolute record names', () => {
    const { template } = synthWith((stack) => ({
      domainNames: ['app.example.com'], certificate: certificate(stack), hostedZone: route53.HostedZone.fromHostedZoneId(stack, 'ZoneById', 'Z0123456789'),
    }));
    template.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'app.example.com.', Type: 'A' });
  });

  test('distribution.hostedZone: no records without a hosted zone', () => {
    synthWith((stack) => ({ domainNames: ['app.example.com'], certificate: certificate(stack) }))
      .template.resourceCountIs('AWS::Route53::RecordSet', 0);
  });
});

describe('distribution settings', () => {
  test('distribution: webAclId, geoRestriction, logBucket and priceClass reach the distribution', () => {
    const { template } = synthWith((stack) => ({
      webAclId: 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/cable/abc',
      geoRestriction: cloudfront.GeoRestriction.denylist('KP'),
      logBucket: s3.Bucket.fromBucketName(stack, 'Logs', 'cable-logs'),
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
    }));
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: {
        WebACLId: 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/cable/abc',
        Restrictions: { GeoRestriction: { RestrictionType: 'blacklist', Locations: ['KP'] } },
        Logging: { Bucket: 'cable-logs.s3.eu-west-1.amazonaws.com' },
        PriceClass: 'PriceClass_100',
      },
    });
  });

  test('distribution: defaults leave WAF, geo restriction, logging and the price class unset', () => {
    const config = distributionConfig(synthWith(() => ({})).template);
    expect(config.WebACLId).toBeUndefined();
    expect(config.Restrictions).toBeUndefined();
    expect(config.Logging).toBeUndefined();
    expect(config.PriceClass).toBeUndefined(); // CloudFront's default, PriceClass_All
  });
});

describe('urls', () => {
  test('url: wss://<first domain>/<stage>, also as the Url output; apiUrl keeps the stage URL', () => {
    const { stack, cable, template } = synthWith(withDomain);
    expect(stack.resolve(cable.url)).toBe('wss://app.example.com/cable');
    expect(stack.resolve(cable.apiUrl)).toEqual(stack.resolve(cable.stage.url));
    expect(JSON.stringify(stack.resolve(cable.apiUrl))).toContain('.execute-api.eu-west-1.');
    const output = new Capture();
    template.hasOutput('*', { Value: output, Description: Match.stringLikeRegexp('action_cable.url') });
    expect(output.asString()).toBe('wss://app.example.com/cable');
  });

  test('url: without a domain, the distribution\'s own domain name', () => {
    const { stack, cable, template } = synthWith(() => ({}));
    const distribution = logicalId(template, 'AWS::CloudFront::Distribution', 'CableDistribution');
    expect(stack.resolve(cable.url)).toEqual({ 'Fn::Join': ['', ['wss://', { 'Fn::GetAtt': [distribution, 'DomainName'] }, '/cable']] });
  });

  test('url: without distribution it is the stage URL, and no CloudFront resource exists', () => {
    const stack = new Stack(new App(), 'TestStack', { env: ENV });
    const cable = new CableWebSocketApi(stack, 'Cable');
    expect(cable.distribution).toBeUndefined();
    expect(cable.url).toBe(cable.apiUrl);
    Template.fromStack(stack).resourceCountIs('AWS::CloudFront::Distribution', 0);
  });
});

describe('allowed origins', () => {
  test('allowedOrigins: defaults to https://<domain> for each domain name (lower case) on every handler', () => {
    const { template } = synthWith((stack) => ({ domainNames: ['App.Example.com', 'www.example.com'], certificate: certificate(stack) }));
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) {
      expect(fn.Properties.Environment.Variables.CABLE_ALLOWED_ORIGINS).toBe('https://app.example.com,https://www.example.com');
    }
  });

  test('allowedOrigins: a given list wins over the domain names', () => {
    const { template } = synthWith(withDomain, { allowedOrigins: ['https://other.example.org'] });
    expect(connectVariables(template).CABLE_ALLOWED_ORIGINS).toBe('https://other.example.org');
  });

  test('allowedOrigins: without a domain name any origin stays allowed (no variable)', () => {
    const { template } = synthWith(() => ({}));
    expect(connectVariables(template).CABLE_ALLOWED_ORIGINS).toBeUndefined();
  });

  test('allowedOrigins: wildcard domain names are left out, with a warning', () => {
    const { stack, template } = synthWith((s) => ({ domainNames: ['*.example.com', 'example.com'], certificate: certificate(s) }));
    expect(connectVariables(template).CABLE_ALLOWED_ORIGINS).toBe('https://example.com');
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('wildcard'));
    expect(warnings.map((w) => w.id)).toEqual(['/TestStack/Cable']);
  });
});

describe('validation', () => {
  test.each<[string, (stack: Stack) => CableDistributionOptions, RegExp]>([
    ['a certificate imported from another region', (s) => ({ domainNames: ['app.example.com'], certificate: certificate(s, CERTIFICATE_ARN.replace('us-east-1', 'eu-west-1')) }),
      /^`distribution.certificate` must be an ACM certificate in us-east-1 .*got one in eu-west-1/],
    ['a certificate created in an eu-west-1 stack', (s) => ({ domainNames: ['app.example.com'], certificate: new acm.Certificate(s, 'Local', { domainName: 'app.example.com' }) }),
      /^`distribution.certificate` must be an ACM certificate in us-east-1 .*got one in eu-west-1/],
    ['domain names without a certificate', () => ({ domainNames: ['app.example.com'] }),
      /^`distribution.certificate` is required with `distribution.domainNames` \(app.example.com\)/],
    ['a certificate without domain names', (s) => ({ certificate: certificate(s) }),
      /^`distribution.certificate` needs `distribution.domainNames`/],
    ['a hosted zone without domain names', (s) => ({ hostedZone: zone(s) }),
      /^`distribution.hostedZone` needs `distribution.domainNames`/],
    ['an empty list of domain names', () => ({ domainNames: [] }),
      /^`distribution.domainNames` must list at least one domain name, got \[\]/],
    ['a URL instead of a host name', (s) => ({ domainNames: ['https://app.example.com'], certificate: certificate(s) }),
      /^`distribution.domainNames` must be a host name .*got "https:\/\/app.example.com"/],
    ['a domain outside the hosted zone', (s) => ({ domainNames: ['app.example.org'], certificate: certificate(s), hostedZone: zone(s) }),
      /^`distribution.domainNames` entries must be in `distribution.hostedZone` \(example.com\).*got "app.example.org"/],
  ])('distribution: %s fails at synth', (_, options, message) => {
    expect(() => synthWith(options)).toThrow(message);
  });

  test('distribution.certificate: a certificate from a us-east-1 stack is accepted', () => {
    const app = new App();
    const certificates = new Stack(app, 'Certificates', { env: { ...ENV, region: 'us-east-1' }, crossRegionReferences: true });
    const cert = new acm.Certificate(certificates, 'Certificate', { domainName: 'app.example.com' });
    const stack = new Stack(app, 'TestStack', { env: ENV, crossRegionReferences: true });
    new CableWebSocketApi(stack, 'Cable', { distribution: { domainNames: ['app.example.com'], certificate: cert } });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: { ViewerCertificate: { AcmCertificateArn: Match.anyValue(), MinimumProtocolVersion: 'TLSv1.2_2021' } },
    });
  });
});

describe('addBehaviorTo', () => {
  function appWithDistribution(props: CableWebSocketApiProps = {}) {
    const stack = new Stack(new App(), 'TestStack', { env: ENV });
    const cable = new CableWebSocketApi(stack, 'Cable', props);
    const site = new cloudfront.Distribution(stack, 'Site', {
      defaultBehavior: { origin: new origins.HttpOrigin('rails.example.net') },
      domainNames: ['app.example.com'],
      certificate: certificate(stack),
    });
    return { stack, cable, site };
  }

  test('addBehaviorTo: adds /cable with the cable origin and behavior, sends X-Forwarded-Host and returns the public URL', () => {
    const { stack, cable, site } = appWithDistribution();
    const url = cable.addBehaviorTo(site, { domainName: 'app.example.com' });
    expect(url).toBe('wss://app.example.com/cable');
    const template = Template.fromStack(stack);
    const config = distributionConfig(template);
    const cableOrigin = config.Origins.find((o: any) => o.DomainName !== 'rails.example.net');
    expect(cableOrigin).toMatchObject({
      DomainName: apiHost(logicalId(template, 'AWS::ApiGatewayV2::Api', 'CableApi')),
      CustomOriginConfig: { OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] },
      OriginCustomHeaders: [{ HeaderName: 'X-Forwarded-Host', HeaderValue: 'app.example.com' }],
    });
    expect(config.CacheBehaviors).toEqual([{
      PathPattern: '/cable',
      TargetOriginId: cableOrigin.Id,
      ViewerProtocolPolicy: 'https-only',
      AllowedMethods: ['GET', 'HEAD'],
      CachePolicyId: CACHING_DISABLED,
      OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
      Compress: false,
    }]);
    expect(stack.resolve(cable.url)).toEqual(stack.resolve(cable.apiUrl));
  });

  test('addBehaviorTo: domainName becomes the allowed origin of $connect; two distributions add up', () => {
    const { stack, cable, site } = appWithDistribution();
    cable.addBehaviorTo(site, { domainName: 'app.example.com' });
    const other = new cloudfront.Distribution(stack, 'Admin', { defaultBehavior: { origin: new origins.HttpOrigin('admin.example.net') } });
    cable.addBehaviorTo(other, { domainName: 'Admin.Example.com' });
    expect(connectVariables(Template.fromStack(stack)).CABLE_ALLOWED_ORIGINS).toBe('https://app.example.com,https://admin.example.com');
  });

  test('addBehaviorTo: adds to the origins the construct\'s distribution already allows', () => {
    const stack = new Stack(new App(), 'TestStack', { env: ENV });
    const cable = new CableWebSocketApi(stack, 'Cable', { distribution: { domainNames: ['cable.example.com'], certificate: certificate(stack) } });
    const site = new cloudfront.Distribution(stack, 'Site', { defaultBehavior: { origin: new origins.HttpOrigin('rails.example.net') } });
    cable.addBehaviorTo(site, { domainName: 'app.example.com' });
    expect(connectVariables(Template.fromStack(stack)).CABLE_ALLOWED_ORIGINS).toBe('https://cable.example.com,https://app.example.com');
  });

  test('addBehaviorTo: a given allowedOrigins is left alone', () => {
    const { stack, cable, site } = appWithDistribution({ allowedOrigins: ['https://other.example.org'] });
    cable.addBehaviorTo(site, { domainName: 'app.example.com' });
    expect(connectVariables(Template.fromStack(stack)).CABLE_ALLOWED_ORIGINS).toBe('https://other.example.org');
  });

  test('addBehaviorTo: without domainName, no header, no origin, and the URL on the distribution\'s domain', () => {
    const { stack, cable, site } = appWithDistribution();
    const url = cable.addBehaviorTo(site);
    const template = Template.fromStack(stack);
    expect(stack.resolve(url)).toEqual({ 'Fn::Join': ['', ['wss://', { 'Fn::GetAtt': [logicalId(template, 'AWS::CloudFront::Distribution', 'Site'), 'DomainName'] }, '/cable']] });
    expect(distributionConfig(template).Origins.every((o: any) => o.OriginCustomHeaders === undefined)).toBe(true);
    expect(connectVariables(template).CABLE_ALLOWED_ORIGINS).toBeUndefined();
  });

  test('addBehaviorTo: a distribution in another stack reaches the API through an export', () => {
    const app = new App();
    const cableStack = new Stack(app, 'CableStack', { env: ENV });
    const cable = new CableWebSocketApi(cableStack, 'Cable');
    const siteStack = new Stack(app, 'SiteStack', { env: ENV });
    const site = new cloudfront.Distribution(siteStack, 'Site', { defaultBehavior: { origin: new origins.HttpOrigin('rails.example.net') } });
    cable.addBehaviorTo(site);
    const config = distributionConfig(Template.fromStack(siteStack));
    expect(JSON.stringify(config.Origins[1].DomainName)).toContain('Fn::ImportValue');
  });

  test.each([
    ['https://app.example.com', /^`domainName` must be a host name .*got "https:\/\/app.example.com"/],
    ['*.example.com', /^`domainName` must be a host name .*no wildcard.*got "\*.example.com"/],
  ])('addBehaviorTo: domainName %s fails', (domainName, message) => {
    const { cable, site } = appWithDistribution();
    expect(() => cable.addBehaviorTo(site, { domainName })).toThrow(message);
  });

  test('addBehaviorTo: the construct\'s own distribution is refused (it already serves the cable)', () => {
    const { cable } = synthWith(() => ({}));
    expect(() => cable.addBehaviorTo(cable.distribution!)).toThrow(/^`distribution` .*already serves the cable/);
  });
});

describe('cdk-nag', () => {
  /** Unacknowledged AwsSolutions findings under the construct. */
  function findings(distribution: (stack: Stack) => CableDistributionOptions): string[] {
    const app = new App();
    const stack = new Stack(app, 'NagStack', { env: ENV });
    new CableWebSocketApi(stack, 'Cable', { distribution: distribution(stack) });
    Aspects.of(stack).add(new AwsSolutionsChecks({ verbose: true }));
    const annotations = Annotations.fromStack(stack);
    return [
      ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ].filter((m) => m.id.startsWith('/NagStack/Cable/')).map((m) => `${m.id}: ${String(m.entry.data).split('\n')[0]}`);
  }

  function suppressed(distribution: (stack: Stack) => CableDistributionOptions): string[] {
    const { template } = synthWith(distribution);
    const resource = Object.values(template.findResources('AWS::CloudFront::Distribution'))[0];
    return (resource.Metadata?.cdk_nag?.rules_to_suppress ?? []).map((r: { id: string }) => r.id);
  }

  test('cdk-nag: the default *.cloudfront.net distribution leaves no unacknowledged finding', () => {
    expect(findings(() => ({}))).toEqual([]);
    expect(suppressed(() => ({}))).toEqual(['AwsSolutions-CFR1', 'AwsSolutions-CFR2', 'AwsSolutions-CFR3', 'AwsSolutions-CFR4']);
  });

  test('cdk-nag: with a domain and certificate, CFR4 is met rather than acknowledged', () => {
    expect(findings(withDomain)).toEqual([]);
    expect(suppressed(withDomain)).not.toContain('AwsSolutions-CFR4');
  });

  test('cdk-nag: geoRestriction, webAclId and logBucket meet CFR1-3 without acknowledgements', () => {
    const full = (stack: Stack): CableDistributionOptions => ({
      ...withDomain(stack),
      geoRestriction: cloudfront.GeoRestriction.allowlist('DE', 'FR'),
      webAclId: 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/cable/abc',
      logBucket: s3.Bucket.fromBucketName(stack, 'Logs', 'cable-logs'),
    });
    expect(findings(full)).toEqual([]);
    expect(suppressed(full)).toEqual([]);
  });
});
