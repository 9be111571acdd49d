import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { API_INFO } from '../protocol/generated/api-keys.js';

/** Broker metrics in one prom-client registry, served at /metrics by the HTTP API. */
export class BrokerMetrics {
  readonly registry = new Registry();
  private readonly requestLatency = new Histogram({
    name: 'floe_kafka_request_duration_seconds',
    help: 'Kafka request handling time by API',
    labelNames: ['api'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly bytesIn = new Counter({ name: 'floe_topic_bytes_in_total', help: 'Record bytes produced', labelNames: ['topic', 'partition'], registers: [this.registry] });
  readonly recordsIn = new Counter({ name: 'floe_topic_records_in_total', help: 'Records produced', labelNames: ['topic', 'partition'], registers: [this.registry] });
  readonly recordsOut = new Counter({ name: 'floe_topic_records_out_total', help: 'Records fetched by Kafka clients (from batch headers)', labelNames: ['topic', 'partition'], registers: [this.registry] });
  readonly bytesOut = new Counter({ name: 'floe_topic_bytes_out_total', help: 'Record bytes fetched', labelNames: ['topic', 'partition'], registers: [this.registry] });

  readonly fsyncLatency = new Histogram({
    name: 'floe_log_fsync_duration_seconds',
    help: 'fdatasync latency of log segments (group commit: one sync covers many appends)',
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'floe_' });
  }

  observeRequest(apiKey: number, ms: number): void {
    this.requestLatency.observe({ api: API_INFO[apiKey]?.name ?? String(apiKey) }, ms / 1000);
  }
}
