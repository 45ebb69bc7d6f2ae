import { Annotations, ArnFormat, Fn, Resource, Stack, Token } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import type { CableApi } from './api';
import { acknowledge, NagAcknowledgement } from './nag';
import { OriginVerification, originSecretValue, validateOriginHeader } from './origin-verification';
import { CableBehaviorOptions, CableDistributionOptions } from '../cable-distribution';
import type { CableWebSocketApiProps } from '../cable-websocket-api-props';
import { DEFAULT_ORIGIN_HEADER } from '../contract/defaults';

/** CloudFront reads viewer certificates from ACM in this region only. */
const CERTIFICATE_REGION = 'us-east-1';

const HOST_NAME = /^(\*\.)?([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

/**
 * The API's own host, from its `ApiEndpoint` attribute (`wss://<apiId>.execute-api.<region>.<urlSuffix>`)
 * rather than from the stack's region: the attribute stays right when the distribution lives in
 * another stack, where `AWS::Region` would name that stack's region.
 */
export function executeApiHost(api: apigwv2.IWebSocketApi): string {
  return Fn.select(2, Fn.split('/', api.apiEndpoint));
}

/**
 * The cable's origin: the `execute-api` host over HTTPS (TLS 1.2) only. CloudFront puts the
 * viewer's path after the origin path, so `/<stageName>` reaches the stage with no origin path.
 * With origin verification, the secret header too (`$connect` refuses requests without it).
 */
export function cableOrigin(api: apigwv2.IWebSocketApi, forwardedHost?: string, verification?: OriginVerification): cloudfront.IOrigin {
  const headers: Record<string, string> = {
    ...(forwardedHost === undefined ? {} : { 'X-Forwarded-Host': forwardedHost }),
    ...(verification ? { [verification.headerName]: originSecretValue(verification.secret) } : {}),
  };
  return new origins.HttpOrigin(executeApiHost(api), {
    protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
    originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
    customHeaders: Object.keys(headers).length === 0 ? undefined : headers,
  });
}

/**
 * The cable's behavior (docs/cloudfront.md says why each setting):
 * `wss://` only (browsers do not follow a redirect of a WebSocket handshake), GET/HEAD (the
 * handshake is a GET), nothing cached, and every viewer header, cookie and query string forwarded
 * except `Host`, which must stay the `execute-api` host for API Gateway to route the request.
 */
export function cableBehavior(origin: cloudfront.IOrigin): cloudfront.BehaviorOptions {
  return {
    origin,
    viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
    allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
    cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
    originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
    compress: false,
  };
}

/** The host viewers use: the first domain name that is not a wildcard. */
export function publicHost(domainNames: string[] | undefined): string | undefined {
  return (domainNames ?? []).find((name) => Token.isUnresolved(name) || !name.startsWith('*.'));
}

/** `https://<domain>` for each non-wildcard domain name: what a browser sends as `Origin`. */
export function originsOf(domainNames: string[] | undefined): string[] {
  return (domainNames ?? [])
    .filter((name) => Token.isUnresolved(name) || !name.startsWith('*.'))
    .map((name) => `https://${Token.isUnresolved(name) ? name : name.toLowerCase()}`);
}

/** `prop` must be a host name such as `app.example.com` (a wildcard when `wildcard`). */
export function validateHostName(prop: string, name: string, wildcard: boolean): void {
  if (Token.isUnresolved(name)) return;
  if (!HOST_NAME.test(name) || (!wildcard && name.startsWith('*.'))) {
    throw new Error(`\`${prop}\` must be a host name like "app.example.com" (no scheme, port, path or trailing dot${wildcard ? '' : ', no wildcard'}), got "${name}"`);
  }
}

/** Synth-time checks of `distribution`; messages start with the prop's path. */
export function validateDistributionOptions(options: CableDistributionOptions): void {
  const { domainNames, certificate, hostedZone } = options;
  if (domainNames) {
    if (domainNames.length === 0) {
      throw new Error('`distribution.domainNames` must list at least one domain name, got []; omit it to use the distribution\'s *.cloudfront.net domain');
    }
    for (const name of domainNames) validateHostName('distribution.domainNames', name, true);
    if (!certificate) {
      throw new Error(`\`distribution.certificate\` is required with \`distribution.domainNames\` (${domainNames.join(', ')}): CloudFront serves alternate domain names only with an ACM certificate from ${CERTIFICATE_REGION} that covers them`);
    }
  } else {
    if (certificate) {
      throw new Error('`distribution.certificate` needs `distribution.domainNames`, got none: name the domains the certificate is for');
    }
    if (hostedZone) {
      throw new Error('`distribution.hostedZone` needs `distribution.domainNames`, got none: name the records to create in the zone');
    }
  }
  if (certificate) validateCertificateRegion(certificate);
  if (hostedZone && domainNames) validateInZone(hostedZone, domainNames);
}

/**
 * The region is the ARN's when the ARN is a literal (an imported certificate), else the stack's
 * when the certificate is a resource of that stack; otherwise it is unknown and not checked.
 */
function validateCertificateRegion(certificate: acm.ICertificate): void {
  const stack = Stack.of(certificate);
  const arnRegion = stack.splitArn(certificate.certificateArn, ArnFormat.SLASH_RESOURCE_NAME).region;
  const region = !Token.isUnresolved(arnRegion) ? arnRegion : Resource.isOwnedResource(certificate) ? stack.region : undefined;
  if (region === undefined || Token.isUnresolved(region) || region === CERTIFICATE_REGION) return;
  throw new Error(`\`distribution.certificate\` must be an ACM certificate in ${CERTIFICATE_REGION} (CloudFront reads viewer certificates from there only), got one in ${region}: create it in a ${CERTIFICATE_REGION} stack (with crossRegionReferences) or import it by ARN`);
}

function validateInZone(zone: route53.IHostedZone, domainNames: string[]): void {
  const zoneName = zoneNameOf(zone);
  if (zoneName === undefined || Token.isUnresolved(zoneName)) return;
  const apex = zoneName.replace(/\.$/, '').toLowerCase();
  for (const name of domainNames) {
    if (Token.isUnresolved(name)) continue;
    const host = name.toLowerCase().replace(/^\*\./, '');
    if (host !== apex && !host.endsWith(`.${apex}`)) {
      throw new Error(`\`distribution.domainNames\` entries must be in \`distribution.hostedZone\` (${apex}) to get alias records, got "${name}": omit hostedZone and create the records yourself`);
    }
  }
}

/** A zone imported with `fromHostedZoneId` has no name, and says so by throwing. */
function zoneNameOf(zone: route53.IHostedZone): string | undefined {
  try {
    return zone.zoneName;
  } catch {
    return undefined;
  }
}

/** `distribution`, and the origin verification header when verification is on. */
export interface CloudFrontSettings {
  readonly distribution?: CableDistributionOptions;
  /** The header that carries the origin secret; undefined: no origin verification. */
  readonly originHeader?: string;
}

export function settings(props: CableWebSocketApiProps): CloudFrontSettings {
  if (props.distribution) validateDistributionOptions(props.distribution);
  const verifies = props.distribution !== undefined || props.originVerification !== undefined;
  const originHeader = verifies ? props.originVerification?.headerName ?? DEFAULT_ORIGIN_HEADER : undefined;
  if (originHeader !== undefined) validateOriginHeader(originHeader);
  return { distribution: props.distribution, originHeader };
}

/** The construct's own distribution, and the cable's `wss://` URL through it. */
export interface CableCloudFront {
  readonly distribution: cloudfront.Distribution;
  readonly publicUrl: string;
}

/**
 * The construct's own distribution (with `distribution`): the cable at `/<stageName>` (or as the
 * default behavior), alias records in `hostedZone`, and cdk-nag acknowledgements for what was left unset.
 */
export interface CloudFrontWiring {
  /** `distribution`; none: no distribution. */
  readonly options?: CableDistributionOptions;
  readonly api: CableApi;
  /** Always set with `options`: the construct's distribution proves its requests. */
  readonly verification?: OriginVerification;
}

export function create(scope: Construct, wiring: CloudFrontWiring): CableCloudFront | undefined {
  const { options, api, verification } = wiring;
  if (!options) return undefined;
  if (!verification) throw new Error('the construct\'s distribution needs origin verification (secrets.ts creates its secret with distribution)');
  const stageName = api.stage.stageName;
  const distribution = createDistribution(scope, api.webSocketApi, stageName, options, verification);
  const host = publicHost(options.domainNames) ?? distribution.distributionDomainName;
  return { distribution, publicUrl: `wss://${host}/${stageName}` };
}

/**
 * Serves the cable at `/<stageName>` of a distribution the app owns (`addBehaviorTo`), with the
 * same origin and behavior as the construct's own; returns the cable's `wss://` URL through it.
 */
export function addBehavior(
  api: CableApi, distribution: cloudfront.Distribution, options: CableBehaviorOptions, verification: OriginVerification | undefined,
): string {
  const domainName = options.domainName;
  if (domainName !== undefined) validateHostName('domainName', domainName, false);
  if (domainName !== undefined && !verification) {
    Annotations.of(distribution).addWarningV2('cdk-cable:forwardedHostIgnored',
      `addBehaviorTo: \`$connect\` ignores the X-Forwarded-Host "${domainName}" without origin verification (anyone could send it straight to execute-api), so the app sees the execute-api host in env.url: set \`originVerification\` on the cable`);
  }
  const { origin, ...behavior } = cableBehavior(cableOrigin(api.webSocketApi, domainName, verification));
  distribution.addBehavior(`/${api.stage.stageName}`, origin, behavior);
  return `wss://${domainName ?? distribution.distributionDomainName}/${api.stage.stageName}`;
}

function createDistribution(
  scope: Construct, api: apigwv2.IWebSocketApi, stageName: string, options: CableDistributionOptions, verification: OriginVerification,
): cloudfront.Distribution {
  const cable = cableBehavior(cableOrigin(api, publicHost(options.domainNames), verification));
  const distribution = new cloudfront.Distribution(scope, 'Distribution', {
    comment: `cdk-cable ${scope.node.path}`.slice(0, 128),
    defaultBehavior: options.defaultBehavior ?? cable,
    additionalBehaviors: options.defaultBehavior ? { [`/${stageName}`]: cable } : undefined,
    domainNames: options.domainNames,
    certificate: options.certificate,
    minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
    webAclId: options.webAclId,
    geoRestriction: options.geoRestriction,
    enableLogging: options.logBucket !== undefined,
    logBucket: options.logBucket,
    priceClass: options.priceClass,
  });

  if (options.hostedZone) {
    const target = route53.RecordTarget.fromAlias(new targets.CloudFrontTarget(distribution));
    (options.domainNames ?? []).forEach((domainName, i) => {
      const suffix = i === 0 ? '' : String(i + 1);
      // A trailing dot makes the name absolute, so zones imported by id (no zoneName) work too.
      const recordName = `${domainName}.`;
      new route53.ARecord(scope, `DistributionAliasRecord${suffix}`, { zone: options.hostedZone!, recordName, target });
      new route53.AaaaRecord(scope, `DistributionAliasRecordIpv6${suffix}`, { zone: options.hostedZone!, recordName, target });
    });
  }

  if ((options.domainNames ?? []).some((name) => !Token.isUnresolved(name) && name.startsWith('*.'))) {
    Annotations.of(scope).addWarningV2('cdk-cable:wildcardDomainOrigins',
      '`distribution.domainNames` has a wildcard name: `$connect` compares Origin exactly, so pages served under it are refused unless `allowedOrigins` lists them');
  }

  acknowledgeDistribution(distribution, options);
  return distribution;
}

function acknowledgeDistribution(distribution: cloudfront.Distribution, options: CableDistributionOptions): void {
  const acknowledgements: NagAcknowledgement[] = [];
  if (!options.geoRestriction) {
    acknowledgements.push({
      id: 'AwsSolutions-CFR1',
      reason: 'Who may connect is decided by Origin and the app\'s signed stream names, not by country; pass distribution.geoRestriction to restrict.',
    });
  }
  if (!options.webAclId) {
    acknowledgements.push({
      id: 'AwsSolutions-CFR2',
      reason: 'A web ACL is billed per month and per request, so it is opt-in (distribution.webAclId); the API stage throttles every route.',
    });
  }
  if (!options.logBucket) {
    acknowledgements.push({
      id: 'AwsSolutions-CFR3',
      reason: 'Standard logs need an S3 bucket with ACLs that the construct should not own; pass distribution.logBucket. API Gateway access logs (accessLogging) record every connect, message and disconnect.',
    });
  }
  if (!options.certificate) {
    acknowledgements.push({
      id: 'AwsSolutions-CFR4',
      reason: 'Without domainNames the distribution uses the default *.cloudfront.net certificate, whose minimum protocol CloudFront fixes at TLSv1; with a certificate the construct sets TLSv1.2_2021.',
    });
  }
  if (acknowledgements.length > 0) acknowledge(distribution, acknowledgements);
}
