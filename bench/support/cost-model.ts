import { apiGatewayMessagesCost, lambdaDurationCost, PRICES } from './cost-prices';

/**
 * Monthly cost of cdk-cable, AWS AppSync Events and one AnyCable-Go task on Fargate behind an
 * ALB, for the same load, from the counts bench/cost-counts.ts measured and the assumptions
 * below (every one of them is written into the results and docs/cost.md).
 */

/** The per-operation counts the model reads (a subset of what the bench reports). */
export interface OperationCounts {
  /** `posts`: the `@connections` posts made inside the function's invocations (absent in older results: all posts of the operation). */
  readonly lambda: Readonly<Record<string, {
    readonly invocations: number;
    readonly logLines: number;
    readonly logBytes: number;
    readonly posts?: number;
  }>>;
  readonly apiGateway: Readonly<Record<string, number>>;
  readonly dynamodb: Readonly<Record<string, { readonly requests: number }>>;
  readonly dynamodbTotals: { readonly requests: number; readonly readRequestUnits: number; readonly writeRequestUnits: number };
}

export interface MeasuredInputs {
  readonly operations: Readonly<Record<string, OperationCounts>>;
  /** CPU per PostToConnection for its caller, µs (HTTPS, this machine). */
  readonly postCpuMicros: number;
  readonly sizes: readonly number[];
  readonly payloadBytes: number;
  readonly pingFrameBytes: number;
  readonly broadcastMetricsLineBytes: number;
}

export const ASSUMPTIONS = {
  /** 30 days: 43,200 minutes (AWS's calculator uses 730 hours, 1.4% more). */
  monthSeconds: 30 * 24 * 3600,
  /** Subscriptions per connection (a page with `turbo_stream_from` for its record and for the user). */
  subscriptionsPerConnection: 2,
  /** At "1 msg/s": each connection receives one broadcast frame a second, through streams of this many subscribers. */
  streamSubscribers: 100,
  /** The pinger closes a connection at this age and the client reconnects and resubscribes (the construct's default). */
  sessionMinutes: 118,
  /** Sessions of AppSync Events and AnyCable-Go: no 2-hour cut; one reconnect a day (page loads not counted for any option). */
  otherSessionsPerDay: 1,
  lambdaMemoryMb: 256,
  /** Lambda gives a full vCPU at 1,769 MB and CPU in proportion below it. */
  fullVcpuMb: 1769,
  /** CPU of the same work on Lambda arm64 relative to the machine the bench ran on (not measured). */
  armCpuFactor: 1.25,
  /** Latencies inside the region (not measured: the bench runs on loopback). */
  dynamoRequestMs: 6,
  connectionsCallMs: 20,
  invokeMs: 20,
  handlerOverheadMs: 3,
  /** Posts in flight per fan-out and ping round (the construct's `broadcastConcurrency`). */
  concurrency: 64,
  pingMaxPerSecond: 5_000,
  pingSegments: 4,
  /** Lambda's text log format: START, END and REPORT lines per invocation, and the prefix on each line the code writes. */
  platformLogBytesPerInvocation: 270,
  logLinePrefixBytes: 67,
  /** AnyCable-Go: one task, 1 vCPU / 2 GB, Linux/ARM, always on, behind one ALB. */
  fargateVcpu: 1,
  fargateGb: 2,
  /** Bytes a WebSocket frame adds around its payload (server → client, unmasked, payload < 64 KB). */
  wsFrameOverheadBytes: 4,
  /** AnyCable-Go's ping frame: {"type":"ping","message":<unix seconds>}, as the Rails server sends. */
  pingIntervals: [3, 30, 540],
  connectionCounts: [100, 1_000, 10_000],
} as const;

const A = ASSUMPTIONS;
const MONTH_MINUTES = A.monthSeconds / 60;

export interface Scenario {
  readonly connections: number;
  readonly pingIntervalSeconds: number;
  /** Frames received per connection per second (0: idle). */
  readonly messagesPerSecond: number;
}

/** Monthly usage of cdk-cable, by meter, before prices. */
export interface CdkCableUsage {
  connectionMinutes: number;
  messages: number;
  lambdaRequests: number;
  lambdaGbSeconds: number;
  readRequestUnits: number;
  writeRequestUnits: number;
  logBytes: number;
  /** What the pinger needs to keep up: posts per second in a round and the memory that CPU takes. */
  pinger: { roundsPerMinute: number; postsPerRound: number; roundMs: number; invocationMs: number; memoryMb: number; keepsUp: boolean };
  /** `@connections` calls per second at the steady state (pings + broadcast posts). */
  connectionsCallsPerSecond: number;
}

export interface ScenarioCosts {
  readonly scenario: Scenario;
  readonly cdkCable: { readonly total: number; readonly byMeter: Record<string, number>; readonly usage: CdkCableUsage };
  readonly appSyncEvents: { readonly total: number; readonly byMeter: Record<string, number> };
  readonly anyCableFargate: { readonly total: number; readonly byMeter: Record<string, number>; readonly lcu: number };
}

export interface Model {
  readonly assumptions: typeof ASSUMPTIONS;
  readonly prices: typeof PRICES;
  readonly perOperation: Record<string, { readonly usd: number; readonly lambdaMs: Record<string, number> }>;
  readonly formulas: Record<string, string>;
  readonly scenarios: ScenarioCosts[];
  readonly synth: { readonly pingCostPer1000: Record<string, number>; readonly pingerFixedMonthly: Record<string, number> };
}

function op(inputs: MeasuredInputs, name: string): OperationCounts {
  const found = inputs.operations[name];
  if (!found) throw new Error(`cost model: no measured operation "${name}"`);
  return found;
}

/**
 * Billed duration of one invocation of `fn` in AWS, from what the operation did: the calls the
 * function makes one after another, each at the assumed in-region latency plus the CPU an SDK
 * call takes (the measured PostToConnection CPU, scaled to Lambda's share of a vCPU), and the
 * posts of a fan-out or ping round, `concurrency` at a time (see `postingMs`).
 */
function awsMs(counts: OperationCounts, fn: string, cpuMicros: number): number {
  const n = counts.lambda[fn]?.invocations ?? 0;
  if (n === 0) return 0;
  const api = counts.apiGateway;
  const sdkMs = (cpuMicros * A.armCpuFactor) / 1000 / VCPU;
  const call = (latencyMs: number) => latencyMs + sdkMs;
  const scans = counts.dynamodb.Scan?.requests ?? 0;
  const fanouts = counts.lambda.fanout?.invocations ?? 0;
  // A whisper or a presence announcement: the fan-out function's Query (one each, as below) is not the message function's.
  const handedOver = fn === 'message' || fn === 'disconnect' ? fanouts : 0;
  const dynamo = (fn === 'ping' ? scans : counts.dynamodbTotals.requests - scans - handedOver) / n;
  const own = counts.lambda[fn]?.posts;
  const posts = (own ?? ((api.postsDelivered ?? 0) + (api.postsGone ?? 0))) / n;
  const deletes = (api.deleteConnections ?? 0) / n;
  switch (fn) {
    case 'connect':
      return A.handlerOverheadMs + dynamo * call(A.dynamoRequestMs) + ((counts.lambda.deliver?.invocations ?? 0) / n) * call(A.invokeMs);
    case 'deliver':
      // A 410 (the handshake not done yet) is retried after 20 ms, then 40, … (lambda/core/deliver.ts).
      return A.handlerOverheadMs + posts * call(A.connectionsCallMs) + ((api.postsGone ?? 0) / n) * 20;
    case 'message':
      // A whisper or an announced join/leave also invokes the fan-out function asynchronously.
      return A.handlerOverheadMs + dynamo * call(A.dynamoRequestMs) + posts * call(A.connectionsCallMs) + (fanouts / n) * call(A.invokeMs);
    case 'disconnect':
      return A.handlerOverheadMs + dynamo * call(A.dynamoRequestMs) + (fanouts / n) * call(A.invokeMs);
    case 'broadcast':
      // With shards, the walk reads pages and the fan-out workers post (one Query each).
      return fanouts > 0
        ? A.handlerOverheadMs + ((counts.dynamodbTotals.requests - fanouts) / n) * call(A.dynamoRequestMs) + (fanouts / n) * call(A.invokeMs)
        : A.handlerOverheadMs + dynamo * call(A.dynamoRequestMs) + postingMs(posts, cpuMicros, VCPU);
    case 'fanout':
      return A.handlerOverheadMs + call(A.dynamoRequestMs) + postingMs(posts, cpuMicros, VCPU);
    case 'ping':
      return A.handlerOverheadMs + Math.ceil(dynamo / A.pingSegments) * call(A.dynamoRequestMs)
        + postingMs(posts + deletes, cpuMicros, VCPU, A.pingMaxPerSecond);
    default:
      return A.handlerOverheadMs;
  }
}

const GB = A.lambdaMemoryMb / 1024;
const VCPU = A.lambdaMemoryMb / A.fullVcpuMb;

/** Time to post `posts` frames with `concurrency` in flight on `vcpu`, and the rate ceiling. */
function postingMs(posts: number, cpuMicros: number, vcpu: number, ceilingPerSecond = Number.POSITIVE_INFINITY): number {
  const cpuMs = (posts * cpuMicros * A.armCpuFactor) / 1000 / Math.min(1, vcpu);
  const latencyMs = (posts * A.connectionsCallMs) / A.concurrency;
  const rateMs = (posts / ceilingPerSecond) * 1000;
  return Math.max(cpuMs, latencyMs, rateMs);
}

/** Usage and meters of one lifecycle (connect, k subscribes, 2-hour close, disconnect with k rows). */
function lifecycle(inputs: MeasuredInputs) {
  const k = A.subscriptionsPerConnection;
  const connect = op(inputs, 'connect');
  const subscribe = op(inputs, 'subscribe');
  const d1 = op(inputs, 'disconnect (1 subscriptions)');
  const d3 = op(inputs, 'disconnect (3 subscriptions)');
  const close = op(inputs, `2-hour close over N = ${Math.max(...inputs.sizes)}`);
  // Disconnect with k rows, linear between the measured 1 and 3.
  const at = (a: number, b: number) => a + ((b - a) * (k - 1)) / 2;
  const disconnect = {
    rru: at(d1.dynamodbTotals.readRequestUnits, d3.dynamodbTotals.readRequestUnits),
    wru: at(d1.dynamodbTotals.writeRequestUnits, d3.dynamodbTotals.writeRequestUnits),
    requests: at(d1.dynamodbTotals.requests, d3.dynamodbTotals.requests),
    logLines: at(d1.lambda.disconnect?.logLines ?? 0, d3.lambda.disconnect?.logLines ?? 0),
    logBytes: at(d1.lambda.disconnect?.logBytes ?? 0, d3.lambda.disconnect?.logBytes ?? 0),
  };
  const messages = (connect.apiGateway.outboundBilled ?? 0)
    + k * ((subscribe.apiGateway.inboundBilled ?? 0) + (subscribe.apiGateway.outboundBilled ?? 0))
    + (close.apiGateway.outboundBilled ?? 0);
  const cpu = inputs.postCpuMicros;
  const sdkMs = (cpu * A.armCpuFactor) / 1000 / VCPU;
  const ms = {
    connect: awsMs(connect, 'connect', cpu),
    deliver: awsMs(connect, 'deliver', cpu),
    subscribe: awsMs(subscribe, 'message', cpu),
    disconnect: A.handlerOverheadMs + disconnect.requests * (A.dynamoRequestMs + sdkMs),
  };
  const invocations = 3 + k;
  const gbSeconds = (ms.connect + ms.deliver + k * ms.subscribe + ms.disconnect) / 1000 * GB;
  const lines = (fn: string, o: OperationCounts) => o.lambda[fn]?.logLines ?? 0;
  const bytes = (fn: string, o: OperationCounts) => o.lambda[fn]?.logBytes ?? 0;
  const logLines = lines('connect', connect) + lines('deliver', connect) + k * lines('message', subscribe) + disconnect.logLines;
  const logBytes = bytes('connect', connect) + bytes('deliver', connect) + k * bytes('message', subscribe) + disconnect.logBytes
    + logLines * A.logLinePrefixBytes + invocations * A.platformLogBytesPerInvocation;
  return {
    messages,
    invocations,
    gbSeconds,
    rru: connect.dynamodbTotals.readRequestUnits + k * subscribe.dynamodbTotals.readRequestUnits + disconnect.rru,
    wru: connect.dynamodbTotals.writeRequestUnits + k * subscribe.dynamodbTotals.writeRequestUnits + disconnect.wru,
    logBytes,
    ms,
  };
}

/** Read units of one ping round's Scan over C connections, from the measured round with nothing due. */
function scanReadUnits(inputs: MeasuredInputs, connections: number): number {
  const n = Math.max(...inputs.sizes);
  const measured = op(inputs, `ping round over N = ${n}, none due (9-minute interval)`).dynamodbTotals.readRequestUnits;
  const minimum = A.pingSegments * 0.5;
  const perConnection = Math.max(0, measured - minimum) / n;
  return Math.max(minimum, minimum + perConnection * connections);
}

/** Query read units of one broadcast to a stream of S subscribers (measured at S = 100). */
function broadcastReadUnits(inputs: MeasuredInputs, subscribers: number): number {
  const measured = op(inputs, `broadcast to N = ${subscribers}`).dynamodbTotals.readRequestUnits;
  return measured;
}

export function cdkCableUsage(inputs: MeasuredInputs, scenario: Scenario): CdkCableUsage {
  const { connections: C, pingIntervalSeconds: P, messagesPerSecond: rate } = scenario;
  const cycle = lifecycle(inputs);
  const cycles = C * MONTH_MINUTES / A.sessionMinutes;

  // The pinger: one scheduled invocation a minute, a round every tick (the interval, when under a minute).
  const tick = Math.min(P, 60);
  const roundsPerMinute = Math.ceil(60 / tick);
  const postsPerRound = C * tick / P;
  const scanMs = (A.dynamoRequestMs + (inputs.postCpuMicros * A.armCpuFactor) / 1000 / VCPU) * Math.max(1, Math.ceil(C / A.pingSegments / 15_000));
  let memoryMb: number = A.lambdaMemoryMb;
  let roundMs = scanMs + postingMs(postsPerRound, inputs.postCpuMicros, memoryMb / A.fullVcpuMb, A.pingMaxPerSecond);
  // Size the pinger so that a round fits in its tick with a fifth to spare, if one vCPU can do it at all.
  while (roundMs > tick * 1000 * 0.8 && memoryMb < A.fullVcpuMb) {
    memoryMb = Math.min(A.fullVcpuMb, memoryMb + 128);
    roundMs = scanMs + postingMs(postsPerRound, inputs.postCpuMicros, memoryMb / A.fullVcpuMb, A.pingMaxPerSecond);
  }
  const keepsUp = roundMs <= tick * 1000;
  const invocationMs = (roundsPerMinute - 1) * tick * 1000 + roundMs;
  const pingMessages = C * A.monthSeconds / P;

  // Broadcast load: `rate` frames a second to every connection through streams of S subscribers.
  const S = A.streamSubscribers;
  const deliveries = C * rate * A.monthSeconds;
  const broadcasts = deliveries / S;
  const chunks = Math.max(1, Math.ceil(inputs.payloadBytes / (32 * 1024)));
  const broadcastOp = op(inputs, `broadcast to N = ${S}`);
  const broadcastMs = awsMs(broadcastOp, 'broadcast', inputs.postCpuMicros);
  const broadcastLog = (broadcastOp.lambda.broadcast?.logBytes ?? 0) + ((broadcastOp.lambda.broadcast?.logLines ?? 0) + 1) * A.logLinePrefixBytes
    + inputs.broadcastMetricsLineBytes + A.platformLogBytesPerInvocation;

  const pingInvocations = MONTH_MINUTES;
  const pingRoundLog = op(inputs, `ping round over N = ${Math.max(...inputs.sizes)} (3 s interval)`).lambda.ping;
  const pingLogBytes = pingInvocations * A.platformLogBytesPerInvocation
    + pingInvocations * roundsPerMinute * ((pingRoundLog?.logBytes ?? 0) + (pingRoundLog?.logLines ?? 0) * A.logLinePrefixBytes);

  return {
    connectionMinutes: C * MONTH_MINUTES,
    messages: pingMessages + cycles * cycle.messages + deliveries * chunks,
    lambdaRequests: cycles * cycle.invocations + broadcasts + pingInvocations,
    lambdaGbSeconds: cycles * cycle.gbSeconds + broadcasts * (broadcastMs / 1000) * GB + pingInvocations * (invocationMs / 1000) * (memoryMb / 1024),
    readRequestUnits: cycles * cycle.rru + broadcasts * broadcastReadUnits(inputs, S) + pingInvocations * roundsPerMinute * scanReadUnits(inputs, C),
    writeRequestUnits: cycles * cycle.wru,
    logBytes: cycles * cycle.logBytes + broadcasts * broadcastLog + pingLogBytes,
    pinger: { roundsPerMinute, postsPerRound, roundMs: Math.round(roundMs), invocationMs: Math.round(invocationMs), memoryMb, keepsUp },
    connectionsCallsPerSecond: C / P + C * rate,
  };
}

export function cdkCableCost(usage: CdkCableUsage): { total: number; byMeter: Record<string, number> } {
  const byMeter = {
    apiGatewayMessages: apiGatewayMessagesCost(usage.messages),
    apiGatewayConnectionMinutes: usage.connectionMinutes * PRICES.apiGateway.connectionMinutePerMillion / 1e6,
    lambdaRequests: usage.lambdaRequests * PRICES.lambda.requestPerMillion / 1e6,
    lambdaDuration: lambdaDurationCost(usage.lambdaGbSeconds),
    dynamodb: usage.readRequestUnits * PRICES.dynamodb.readRequestUnitPerMillion / 1e6
      + usage.writeRequestUnits * PRICES.dynamodb.writeRequestUnitPerMillion / 1e6,
    cloudWatchLogs: usage.logBytes / 1e9 * PRICES.cloudWatchLogs.ingestionPerGb,
    eventBridge: MONTH_MINUTES * PRICES.eventBridge.scheduledRuleInvocation,
  };
  return { total: sum(byMeter), byMeter };
}

export function appSyncEventsCost(scenario: Scenario, inputs: MeasuredInputs): { total: number; byMeter: Record<string, number> } {
  const { connections: C, messagesPerSecond: rate } = scenario;
  const S = A.streamSubscribers;
  const sessions = C * A.otherSessionsPerDay * 30;
  const perMessage = Math.max(1, Math.ceil(inputs.payloadBytes / PRICES.appSyncEvents.operationBytes));
  const deliveries = C * rate * A.monthSeconds;
  const operations = sessions * (1 + A.subscriptionsPerConnection) + deliveries * perMessage + (deliveries / S) * perMessage;
  const byMeter = {
    operations: operations * PRICES.appSyncEvents.operationPerMillion / 1e6,
    connectionMinutes: C * MONTH_MINUTES * PRICES.appSyncEvents.connectionMinutePerMillion / 1e6,
  };
  return { total: sum(byMeter), byMeter };
}

export function anyCableFargateCost(scenario: Scenario, inputs: MeasuredInputs): { total: number; byMeter: Record<string, number>; lcu: number } {
  const { connections: C, pingIntervalSeconds: P, messagesPerSecond: rate } = scenario;
  const hours = A.monthSeconds / 3600;
  const { lcu: per } = PRICES.alb;
  const bytesPerHour = C * 3600 * ((inputs.pingFrameBytes + A.wsFrameOverheadBytes) / P + rate * (inputs.payloadBytes + A.wsFrameOverheadBytes));
  const newConnectionsPerSecond = (C * A.otherSessionsPerDay) / 86_400;
  const lcu = Math.max(newConnectionsPerSecond / per.newConnectionsPerSecond, C / per.activeConnections, bytesPerHour / 1e9 / per.processedGbPerHour);
  const byMeter = {
    fargate: hours * (A.fargateVcpu * PRICES.fargate.armVcpuHour + A.fargateGb * PRICES.fargate.armGbHour),
    albHours: hours * PRICES.alb.hour,
    albLcu: hours * lcu * PRICES.alb.lcuHour,
  };
  return { total: sum(byMeter), byMeter, lcu };
}

function sum(values: Record<string, number>): number {
  return Object.values(values).reduce((total, value) => total + value, 0);
}

/** The cost of one of each measured operation, priced one by one (first tiers). */
function perOperationCosts(inputs: MeasuredInputs): Model['perOperation'] {
  const result: Model['perOperation'] = {};
  for (const [name, counts] of Object.entries(inputs.operations)) {
    const lambdaMs: Record<string, number> = {};
    let cost = 0;
    for (const [fn, c] of Object.entries(counts.lambda)) {
      const ms = awsMs(counts, fn, inputs.postCpuMicros);
      lambdaMs[fn] = Math.round(ms * 10) / 10;
      cost += c.invocations * (PRICES.lambda.requestPerMillion / 1e6 + (ms / 1000) * GB * PRICES.lambda.armGbSecondTiers[0].perGbSecond);
      const logBytes = c.logBytes + c.logLines * A.logLinePrefixBytes + c.invocations * A.platformLogBytesPerInvocation;
      cost += (logBytes / 1e9) * PRICES.cloudWatchLogs.ingestionPerGb;
    }
    const api = counts.apiGateway;
    cost += ((api.inboundBilled ?? 0) + (api.outboundBilled ?? 0)) * PRICES.apiGateway.messageTiers[0].perMillion / 1e6;
    cost += counts.dynamodbTotals.readRequestUnits * PRICES.dynamodb.readRequestUnitPerMillion / 1e6;
    cost += counts.dynamodbTotals.writeRequestUnits * PRICES.dynamodb.writeRequestUnitPerMillion / 1e6;
    result[name] = { usd: cost, lambdaMs };
  }
  return result;
}

export function buildModel(inputs: MeasuredInputs): Model {
  const scenarios: ScenarioCosts[] = [];
  for (const connections of A.connectionCounts) {
    for (const messagesPerSecond of [0, 1]) {
      for (const pingIntervalSeconds of A.pingIntervals) {
        const scenario = { connections, pingIntervalSeconds, messagesPerSecond };
        const usage = cdkCableUsage(inputs, scenario);
        scenarios.push({
          scenario,
          cdkCable: { ...cdkCableCost(usage), usage },
          appSyncEvents: appSyncEventsCost(scenario, inputs),
          anyCableFargate: anyCableFargateCost(scenario, inputs),
        });
      }
    }
  }
  const pingCostPer1000: Record<string, number> = {};
  const pingerFixedMonthly: Record<string, number> = {};
  for (const P of [3, 10, 30, 60, 300, 540]) {
    pingCostPer1000[`${P}s`] = apiGatewayMessagesCost(1000 * A.monthSeconds / P);
    const tick = Math.min(P, 60);
    const seconds = P < 60 ? 60 - tick : 0.5;
    pingerFixedMonthly[`${P}s`] = MONTH_MINUTES * (PRICES.lambda.requestPerMillion / 1e6 + seconds * GB * PRICES.lambda.armGbSecondTiers[0].perGbSecond);
  }
  return {
    assumptions: ASSUMPTIONS,
    prices: PRICES,
    perOperation: perOperationCosts(inputs),
    formulas: {
      pingMessagesPerConnectionMonth: '2,592,000 / P (P = ping interval in seconds; 30-day month)',
      pingCostPer1000ConnectionsMonth: '1000 × 2,592,000 / P × $1.00 / 1e6 = $2,592 / P (first billion messages a month; $0.80 per million above)',
      pingerFixedMonthly: 'P < 60 s: 43,200 × (60 − P) s × memory GB × $0.0000133334 (the function waits between rounds); P ≥ 60 s: one round a minute',
      connectionsCallsPerSecond: 'C / P (pings) + C × r (broadcast frames per connection per second), against 10,000 requests/s per account and region',
      connectionMinute: '$0.25 / 1e6 API Gateway + lifecycle / 118 minutes',
    },
    scenarios,
    synth: { pingCostPer1000, pingerFixedMonthly },
  };
}

function usd(value: number): string {
  if (value >= 100) return `$${Math.round(value).toLocaleString('en-US')}`;
  if (value >= 1) return `$${value.toFixed(2)}`;
  return `$${value.toFixed(value >= 0.01 ? 3 : 6)}`;
}

export function printModel(model: Model): void {
  console.log('\nmonthly cost (us-east-1, 30 days): cdk-cable | AppSync Events | AnyCable-Go on Fargate + ALB');
  console.log(`${'connections'.padStart(11)} ${'load'.padEnd(7)} ${'ping'.padStart(5)} | ${'cdk-cable'.padStart(10)} ${'pinger'.padStart(22)} | ${'AppSync'.padStart(9)} | ${'Fargate+ALB'.padStart(11)}`);
  for (const { scenario, cdkCable, appSyncEvents, anyCableFargate } of model.scenarios) {
    const p = cdkCable.usage.pinger;
    const pinger = `${p.memoryMb} MB${p.keepsUp ? '' : ' BEHIND'} ${p.roundMs} ms/round`;
    console.log(`${String(scenario.connections).padStart(11)} ${(scenario.messagesPerSecond ? '1 msg/s' : 'idle').padEnd(7)} ${`${scenario.pingIntervalSeconds}s`.padStart(5)} | ${usd(cdkCable.total).padStart(10)} ${pinger.padStart(22)} | ${usd(appSyncEvents.total).padStart(9)} | ${usd(anyCableFargate.total).padStart(11)}`);
  }
  console.log('\nper operation (USD, first price tiers):');
  for (const [name, { usd: cost, lambdaMs }] of Object.entries(model.perOperation)) {
    console.log(`  ${name.padEnd(52)} ${usd(cost).padStart(12)}  ${Object.entries(lambdaMs).map(([fn, ms]) => `${fn} ${ms} ms`).join(', ')}`);
  }
}
