import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

/**
 * A CloudFront distribution the `CableWebSocketApi` creates in front of its stage
 * (`CableWebSocketApiProps.distribution`), so that clients connect to `wss://<domain>/<stageName>`.
 *
 * The cable is served at `/<stageName>` (`/cable` by default): API Gateway answers WebSocket
 * upgrades only at the stage's path and CloudFront forwards the viewer's path unchanged, so the
 * stage name is the public path. Choose another path with `stageName`.
 *
 * @see https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/distribution-working-with.websockets.html
 */
export interface CableDistributionOptions {
  /**
   * Alternate domain names (`app.example.com`) viewers use. The first one that is not a wildcard
   * is sent to `$connect` as `X-Forwarded-Host` (honoured because the distribution also sends the
   * origin verification header, see `originVerification`) and appears in `url`; each non-wildcard one
   * becomes an allowed origin (`https://<domain>`) unless `allowedOrigins` is set.
   * Requires `certificate`.
   * @default - the distribution's own `*.cloudfront.net` domain, with no `X-Forwarded-Host`
   */
  readonly domainNames?: string[];

  /**
   * The certificate for `domainNames`. CloudFront takes certificates from ACM in us-east-1 only:
   * a certificate whose region is known at synth time and is another one is refused. Viewers
   * must use TLS 1.2 or later (`TLSv1.2_2021`).
   * @default - CloudFront's default certificate (only with no `domainNames`)
   */
  readonly certificate?: acm.ICertificate;

  /**
   * Hosted zone in which to create A and AAAA alias records for each of `domainNames`
   * (each must be in the zone).
   * @default - no DNS records: point the names at the distribution yourself
   */
  readonly hostedZone?: route53.IHostedZone;

  /**
   * The behavior for every path other than the cable's, typically the Rails app's origin, so that
   * the app and its cable share one domain (cookies, CSP `connect-src 'self'`, no CORS).
   * @default - the cable is the default behavior: every path goes to the API, which answers only at `/<stageName>`
   */
  readonly defaultBehavior?: cloudfront.BehaviorOptions;

  /**
   * AWS WAF web ACL (a `CLOUDFRONT`-scope web ACL, created in us-east-1), by ARN.
   * @default - no web ACL
   */
  readonly webAclId?: string;

  /**
   * Countries to allow or deny.
   * @default - no restriction
   */
  readonly geoRestriction?: cloudfront.GeoRestriction;

  /**
   * Bucket for CloudFront standard access logs (it must have ACLs enabled).
   * @default - no CloudFront access logs (API Gateway access logs are `accessLogging`)
   */
  readonly logBucket?: s3.IBucket;

  /**
   * Edge locations that serve the distribution.
   * @default cloudfront.PriceClass.PRICE_CLASS_ALL
   */
  readonly priceClass?: cloudfront.PriceClass;
}

/**
 * Options for `CableWebSocketApi.addBehaviorTo`, which serves the cable at `/<stageName>` of a
 * distribution you own.
 */
export interface CableBehaviorOptions {
  /**
   * The host name viewers use for this distribution (one of its alternate domain names). It is
   * sent to `$connect` as `X-Forwarded-Host` (honoured only with origin verification: with
   * `distribution` or `originVerification`), appears in the returned URL and, unless
   * `allowedOrigins` is set, is added to the allowed origins as `https://<domainName>`.
   * @default - the distribution's `*.cloudfront.net` domain in the returned URL; no
   * `X-Forwarded-Host` (`$connect` sees the API's `execute-api` host) and no allowed origin added
   */
  readonly domainName?: string;
}

/**
 * Origin verification (`CableWebSocketApiProps.originVerification`): a CloudFront distribution in
 * front of the API adds a secret header to every request it sends the API, and `$connect` refuses
 * any request without it (403), so that the `execute-api` endpoint cannot be used to bypass the
 * distribution's WAF and geo restriction, nor to forge `X-Forwarded-Host` (the host the app sees
 * in the RPC connect's `env.url`).
 *
 * The construct's own `distribution` and `addBehaviorTo` add the header themselves; a
 * distribution configured elsewhere must send `<headerName>: <the secret's SecretString>` as an
 * origin custom header to the cable's origin.
 *
 * @example
 * // A distribution defined outside this CDK app fronts the cable:
 * const originSecret = secretsmanager.Secret.fromSecretNameV2(this, 'OriginSecret', 'cable/origin');
 * new CableWebSocketApi(this, 'Cable', { originVerification: { secret: originSecret } });
 *
 * @see https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/add-origin-custom-headers.html
 */
export interface CableOriginVerificationOptions {
  /**
   * The header that carries the secret. Not one CloudFront cannot add (`Host`, `Cookie`, `Via`,
   * `X-Amz-*`, `X-Edge-*`, ...) nor one the cable reads (`Origin`, `Authorization`,
   * `Sec-WebSocket-*`, `X-Forwarded-*`).
   * @default 'X-Origin-Verify'
   */
  readonly headerName?: string;

  /**
   * The secret whose `SecretString` (the whole string, not JSON) the header carries. `$connect`
   * reads it once per execution environment; the distributions this construct configures take
   * the value at deployment (a CloudFormation dynamic reference), so after changing it deploy
   * again with a change to the distribution, or they keep sending the old value.
   * @default - a 64-character secret generated in Secrets Manager (removed as `removalPolicy` says)
   */
  readonly secret?: secretsmanager.ISecret;
}
