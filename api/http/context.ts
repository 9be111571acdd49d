// What every route plugin gets: the broker plus the HTTP layer's own state.
import type { Broker } from '../../broker/core/broker.js';
import type { ConsumerRegistry } from './consumers/consumer-registry.js';
import type { HttpMetrics } from './http-metrics.js';
import type { HttpPartitioner } from './partitioner.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean>;
}

export interface HttpContext {
  broker: Broker;
  partitioner: HttpPartitioner;
  consumers: ConsumerRegistry;
  metrics: HttpMetrics;
  /** Open SSE streams, ended on shutdown. */
  streams: Set<() => void>;
  readiness(): Promise<Readiness>;
}

export interface PluginOptions {
  ctx: HttpContext;
}
