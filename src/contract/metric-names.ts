/**
 * cdk-cable's own CloudWatch metrics: the functions write them as Embedded Metric Format log
 * lines (lambda/adapters/emf-metrics.ts), and the construct's `metric*()` methods, alarms and
 * dashboard read them (src/cable-metrics.ts). Every metric has the dimension `ApiId`; some also
 * have a second dimension, published alongside.
 */
export const CABLE_METRIC_NAMESPACE = 'cdk-cable';

/** The dimension every metric carries: one cable among several in an account. */
export const API_ID_DIMENSION = 'ApiId';

export const CABLE_METRIC_NAMES = {
  broadcasts: 'Broadcasts',
  delivered: 'Delivered',
  shards: 'Shards',
  fanOutFailures: 'FanOutFailures',
  goneConnections: 'GoneConnections',
  handlerErrors: 'HandlerErrors',
  pings: 'Pings',
  pingFailures: 'PingFailures',
  maxAgeDisconnects: 'MaxAgeDisconnects',
  rpcErrors: 'RpcErrors',
  // The pinger's workers (lambda/core/ping-workers.ts).
  /** Milliseconds the latest ping round of an invocation finished past its window's end (0: on time). */
  pingLag: 'PingLag',
  /** Pinger invocations a period was split across (the scheduled one included). */
  pingWorkers: 'PingWorkers',
  /** Periods whose first round found more connections than their workers can ping in time. */
  pingUnderstaffed: 'PingUnderstaffed',
} as const;

/** The second dimensions: `HandlerErrors` per `Handler`, `RpcErrors` per `RpcMethod`. */
export const CABLE_METRIC_DETAIL_DIMENSIONS = {
  handlerErrors: 'Handler',
  rpcErrors: 'RpcMethod',
} as const;
