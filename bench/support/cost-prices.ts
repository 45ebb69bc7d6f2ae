/**
 * AWS list prices the cost model uses: us-east-1, on-demand, no free tier (the API Gateway free
 * tier ends 12 months after sign-up; Lambda's always-free tier is shared by every function in the
 * account), in USD. Each figure names where it was read; docs/cost.md repeats them with the date.
 */
export const PRICES = {
  region: 'us-east-1',
  checked: '2026-11-23',
  apiGateway: {
    /** WebSocket messages, per million, by monthly volume (each started 32 KB is one message). */
    messageTiers: [{ upTo: 1e9, perMillion: 1.0 }, { upTo: Number.POSITIVE_INFINITY, perMillion: 0.8 }],
    connectionMinutePerMillion: 0.25,
    source: 'https://aws.amazon.com/api-gateway/pricing/',
  },
  lambda: {
    requestPerMillion: 0.2,
    /** Arm (Graviton2) duration, per GB-second, by monthly GB-seconds across the account. */
    armGbSecondTiers: [
      { upTo: 7.5e9, perGbSecond: 0.0000133334 },
      { upTo: 18.75e9, perGbSecond: 0.0000120001 },
      { upTo: Number.POSITIVE_INFINITY, perGbSecond: 0.0000106667 },
    ],
    source: 'https://aws.amazon.com/lambda/pricing/',
  },
  dynamodb: {
    /** On-demand, Standard table class, since 2024-11-01 (half the earlier $1.25 / $0.25). */
    writeRequestUnitPerMillion: 0.625,
    readRequestUnitPerMillion: 0.125,
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  cloudWatchLogs: {
    /** Standard ingestion, first tier (Lambda's logs are vended logs: the same $0.50 for the first 10 TB). */
    ingestionPerGb: 0.5,
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  eventBridge: {
    /** A scheduled rule's invocations of a Lambda target carry no EventBridge charge; EventBridge Scheduler: 14 M free a month, then $1.00 per million. */
    scheduledRuleInvocation: 0,
    schedulerPerMillionAfterFree: 1.0,
    schedulerFreePerMonth: 14e6,
    source: 'https://aws.amazon.com/eventbridge/pricing/',
  },
  appSyncEvents: {
    /** Event API operations (connect, subscribe, publish, each message delivered, per 5 KB), per million. */
    operationPerMillion: 1.0,
    connectionMinutePerMillion: 0.08,
    operationBytes: 5 * 1024,
    source: 'https://aws.amazon.com/appsync/pricing/',
  },
  fargate: {
    /** Linux/ARM (Graviton), per hour. */
    armVcpuHour: 0.03238,
    armGbHour: 0.00356,
    source: 'https://aws.amazon.com/fargate/pricing/',
  },
  alb: {
    hour: 0.0225,
    lcuHour: 0.008,
    /** One LCU: 25 new connections/s, 3,000 active connections (per minute), 1 GB processed per hour, 1,000 rule evaluations/s. */
    lcu: { newConnectionsPerSecond: 25, activeConnections: 3_000, processedGbPerHour: 1, ruleEvaluationsPerSecond: 1_000 },
    source: 'https://aws.amazon.com/elasticloadbalancing/pricing/',
  },
} as const;

/** A tiered price applied to a monthly volume (`perUnit` already divided to one unit). */
export function tiered(volume: number, tiers: readonly { readonly upTo: number; readonly perUnit: number }[]): number {
  let cost = 0;
  let below = 0;
  for (const tier of tiers) {
    const inTier = Math.max(0, Math.min(volume, tier.upTo) - below);
    cost += inTier * tier.perUnit;
    below = tier.upTo;
    if (volume <= tier.upTo) break;
  }
  return cost;
}

export function apiGatewayMessagesCost(messages: number): number {
  return tiered(messages, PRICES.apiGateway.messageTiers.map((tier) => ({ upTo: tier.upTo, perUnit: tier.perMillion / 1e6 })));
}

export function lambdaDurationCost(gbSeconds: number): number {
  return tiered(gbSeconds, PRICES.lambda.armGbSecondTiers.map((tier) => ({ upTo: tier.upTo, perUnit: tier.perGbSecond })));
}
