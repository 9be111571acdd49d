// Metrics the HTTP API adds to the broker's registry: per-route latency, plus gauges collected on
// scrape (log size/segments per partition, consumer group lag, fsyncs, connections). In a cluster
// each broker reports what it holds: partition gauges for the partitions it leads, group lag for
// the groups it coordinates (partitions led elsewhere read from the shared medium).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Broker } from '../../broker/core/broker.js';
import { groupLeaseKey } from '../../broker/cluster/control-store.js';
import { runtimeFor } from '../../stream-functions/runtime.js';
import { tableServiceOf } from '../../vector/table-service.js';

/**
 * Groups whose lag this broker reports: all on a single node; in a cluster the ones whose lease it
 * holds, so each group is reported once across the cluster (sum over brokers without double counting).
 */
function coordinatedGroups(b: Broker): string[] {
  if (b.cluster === null) return b.groups.store.groupIds();
  const self = b.nodeId;
  const prefix = groupLeaseKey('');
  return b.cluster
    .leaseSnapshot()
    .filter((l) => l.holder === self && l.key.startsWith(prefix))
    .map((l) => l.key.slice(prefix.length))
    .filter((g) => b.groups.ownership.owns(g));
}

export interface MetricSources {
  broker: Broker;
  kafkaConnections?: () => number;
  httpConnections?: () => number;
  consumerInstances?: () => number;
}

export class HttpMetrics {
  readonly requestDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly recordsOut: Counter<'topic' | 'partition'>;
  sources: MetricSources;

  private constructor(registry: Registry, sources: MetricSources) {
    this.sources = sources;
    const src = (): MetricSources => this.sources;
    const r = [registry];
    this.requestDuration = new Histogram({
      name: 'floe_http_request_duration_seconds',
      help: 'HTTP request handling time by route',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    });
    this.recordsOut = new Counter({ name: 'floe_http_records_out_total', help: 'Records served over HTTP (reads, consumers, SSE)', labelNames: ['topic', 'partition'], registers: r });
    new Gauge({
      name: 'floe_partition_log_size_bytes',
      help: 'Bytes on disk per partition log',
      labelNames: ['topic', 'partition'],
      registers: r,
      collect() {
        this.reset();
        for (const { topic, partition, log } of src().broker.topics.allLogs()) this.set({ topic, partition }, log.sizeBytes());
      },
    });
    new Gauge({
      name: 'floe_partition_log_segments',
      help: 'Segment files per partition log',
      labelNames: ['topic', 'partition'],
      registers: r,
      collect() {
        this.reset();
        for (const { topic, partition, log } of src().broker.topics.allLogs()) this.set({ topic, partition }, log.segmentCount());
      },
    });
    new Gauge({
      name: 'floe_partition_high_watermark',
      help: 'High watermark per partition',
      labelNames: ['topic', 'partition'],
      registers: r,
      collect() {
        this.reset();
        for (const { topic, partition, log } of src().broker.topics.allLogs()) this.set({ topic, partition }, log.highWatermark);
      },
    });
    // Functions and tables: read from their own status on scrape.
    const fnGauge = (name: string, help: string, pick: (t: { processed: number; errors: number; deadLettered: number; lag: number; throughput: number }) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['function'],
        registers: r,
        collect() {
          this.reset();
          const rt = runtimeFor(src().broker);
          if (!rt) return;
          for (const f of rt.list()) {
            try {
              this.set({ function: f.name }, pick(rt.status(f.name).totals));
            } catch {
              // A function deleted between list() and status().
            }
          }
        },
      });
    fnGauge('floe_function_records_processed', 'Records processed by a stream function on this node since start', (t) => t.processed);
    fnGauge('floe_function_errors', 'Failed attempts of a stream function on this node since start', (t) => t.errors);
    fnGauge('floe_function_dead_lettered', 'Records a stream function sent to its dead-letter topic since start', (t) => t.deadLettered);
    fnGauge('floe_function_lag', 'Records not yet processed by a stream function on the partitions this node holds', (t) => t.lag);
    const tableGauge = (name: string, help: string, pick: (s: { rows: number; tailRows: number; deadInIndex: number; nextOffset: number }) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['table'],
        registers: r,
        async collect() {
          this.reset();
          const svc = tableServiceOf(src().broker);
          if (!svc) return;
          for (const name of await svc.list()) {
            try {
              this.set({ table: name }, pick((await svc.table(name)).stats()));
            } catch {
              // Dropped between list() and table().
            }
          }
        },
      });
    tableGauge('floe_table_rows', 'Live rows per table', (s) => s.rows);
    tableGauge('floe_table_unindexed_rows', 'Rows searched exactly because they are not in the ANN index yet', (s) => s.tailRows);
    tableGauge('floe_table_changelog_offset', 'Next changelog offset applied per table', (s) => s.nextOffset);
    new Gauge({
      name: 'floe_consumer_group_lag',
      help: 'High watermark minus committed offset, per group and partition (in a cluster, reported by the group\'s coordinator)',
      labelNames: ['group', 'topic', 'partition'],
      registers: r,
      async collect() {
        this.reset();
        const b = src().broker;
        for (const groupId of coordinatedGroups(b)) {
          const f = b.groups.fetchOffsets(groupId, null);
          for (const t of f.topics) {
            for (const p of t.partitions) {
              if (p.committedOffset < 0) continue;
              const view = await b.router.view(t.name, p.partitionIndex).catch(() => undefined);
              if (!view) continue;
              this.set({ group: groupId, topic: t.name, partition: p.partitionIndex }, Math.max(0, view.highWatermark - p.committedOffset));
            }
          }
        }
      },
    });
    new Counter({
      name: 'floe_log_fsyncs_total',
      help: 'fdatasync calls issued by the log (group commit)',
      registers: r,
      collect() {
        this.reset();
        this.inc(src().broker.syncer.fsyncCount);
      },
    });
    new Gauge({
      name: 'floe_kafka_connections',
      help: 'Open Kafka client connections',
      registers: r,
      collect() {
        this.set(src().kafkaConnections?.() ?? 0);
      },
    });
    new Gauge({
      name: 'floe_http_connections',
      help: 'Open HTTP connections',
      registers: r,
      collect() {
        this.set(src().httpConnections?.() ?? 0);
      },
    });
    new Gauge({
      name: 'floe_http_consumer_instances',
      help: 'Live HTTP consumer instances',
      registers: r,
      collect() {
        this.set(src().consumerInstances?.() ?? 0);
      },
    });
  }

  private static readonly byRegistry = new WeakMap<Registry, HttpMetrics>();

  /** One set per registry (a registry refuses duplicate names); the latest server's sources win. */
  static for(registry: Registry, sources: MetricSources): HttpMetrics {
    let m = HttpMetrics.byRegistry.get(registry);
    if (m) m.sources = sources;
    else HttpMetrics.byRegistry.set(registry, (m = new HttpMetrics(registry, sources)));
    return m;
  }
}
