// The broker's shared state, handed to every request handler. It owns no sockets.
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/broker-config.js';
import type { ControlStore } from '../cluster/control-store.js';
import { LocalControlStore } from '../cluster/local-store.js';
import { FsyncScheduler, LogManager } from '../log/index.js';
import { isCompacted, LogCleaner, type CleanTarget } from '../log/cleaner.js';
import { TopicManager } from './topics.js';
import { BrokerMetrics } from './metrics.js';
import { ProducerIdAllocator } from './producer-ids.js';
import { join } from 'node:path';
import { GroupCoordinator } from '../groups/group-coordinator.js';
import { LocalOffsetStore } from '../groups/local-offset-store.js';
import { LocalOwnership } from '../groups/coordinator-ownership.js';
import { PostgresControlStore } from '../cluster/postgres-store.js';
import { PostgresOffsetStore } from '../cluster/postgres-offset-store.js';
import { ClusterManager, clusterOptions } from '../cluster/cluster-manager.js';
import { PartitionRouter } from '../cluster/router.js';

export class Broker {
  readonly metrics = new BrokerMetrics();
  readonly syncer = new FsyncScheduler();
  readonly logs: LogManager;
  readonly topics: TopicManager;
  readonly producerIds: ProducerIdAllocator;
  readonly groups: GroupCoordinator;
  /** Set with a postgres control store: leases decide which partitions and groups are served here. */
  readonly cluster: ClusterManager | null = null;
  /** Appends and reads for in-process users, wherever the partition is led. */
  readonly router: PartitionRouter;
  private readonly cleaners: NodeJS.Timeout[] = [];
  /** Log compaction for topics whose cleanup.policy includes compact. */
  readonly logCleaner: LogCleaner;
  private cleaning: Promise<void> | null = null;
  /** Set once shutdown starts: new work is refused, in-flight work finishes. */
  closing = false;

  private constructor(
    readonly config: BrokerConfig,
    readonly store: ControlStore,
    readonly log: Logger,
  ) {
    this.logs = new LogManager({ dataDir: config.dataDir, syncer: this.syncer, logger: log });
    this.syncer.onSyncDone = (ms) => this.metrics.fsyncLatency.observe(ms / 1000);
    this.logCleaner = new LogCleaner({ logger: log });
    this.topics = new TopicManager(store, this.logs, config, log);
    this.producerIds = new ProducerIdAllocator(store);
    let offsets: LocalOffsetStore | PostgresOffsetStore = new LocalOffsetStore(join(config.dataDir, 'groups'), { log });
    if (store instanceof PostgresControlStore) {
      const pgOffsets = new PostgresOffsetStore(store.pool, config.nodeId);
      offsets = pgOffsets;
      this.topics.clustered = true;
      this.cluster = new ClusterManager(
        store,
        {
          self: () => ({ nodeId: this.nodeId, host: this.advertised.host, port: this.advertised.port, rack: null }),
          topics: () => this.topics.list(),
          partitionDir: (topic, partition) => this.logs.partitionDir(topic, partition),
          logConfig: (topic) => this.topics.logConfigOf(topic),
          syncer: this.syncer,
          setLog: (topic, partition, log) => {
            if (log) this.topics.adoptLog(topic, partition, log);
            else this.topics.dropLog(topic, partition);
          },
          groupAcquired: (groupId) => pgOffsets.reloadGroup(groupId),
        },
        clusterOptions(config),
        log,
      );
    }
    this.groups = new GroupCoordinator(
      {
        groupInitialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
        offsetsRetentionMs: config.offsetsRetentionMinutes * 60_000,
        minSessionTimeoutMs: config.groupMinSessionTimeoutMs,
        maxSessionTimeoutMs: config.groupMaxSessionTimeoutMs,
      },
      offsets,
      { partitionCount: (topic) => this.topics.get(topic)?.partitions },
      this.cluster ?? new LocalOwnership(() => ({ nodeId: this.nodeId, ...this.advertised })),
      undefined,
      log,
    );
    this.topics.onDeleted.push((topic) => this.groups.removeTopicOffsets(topic));
    this.router = new PartitionRouter(this, log.child({ component: 'router' }));
  }

  get nodeId(): number {
    return this.config.nodeId;
  }

  get clusterId(): string {
    return this.store.clusterId();
  }

  /** The address clients are told to connect to. */
  get advertised(): { host: string; port: number } {
    return { host: this.config.advertisedHost, port: this.config.advertisedPort ?? this.config.kafkaPort };
  }

  static async open(config: BrokerConfig, log: Logger): Promise<Broker> {
    const store: ControlStore = config.control === 'local' ? new LocalControlStore(config.dataDir) : new PostgresControlStore({ url: config.control });
    await store.open();
    const b = new Broker(config, store, log);
    await b.topics.openAll();
    await b.groups.open();
    b.startBackgroundTasks();
    return b;
  }

  private startBackgroundTasks(): void {
    const retention = setInterval(() => {
      void this.runRetention();
    }, this.config.logRetentionCheckIntervalMs);
    retention.unref();
    this.cleaners.push(retention);
    const compaction = setInterval(() => {
      void this.runCleaner();
    }, this.config.logCleanerIntervalMs);
    compaction.unref();
    this.cleaners.push(compaction);
  }

  /** One pass of the log cleaner over compacted partitions, sequentially; never overlaps itself. */
  runCleaner(): Promise<void> {
    this.cleaning ??= (async () => {
      const targets: CleanTarget[] = [];
      for (const { topic, partition, log } of this.topics.allLogs()) {
        try {
          targets.push({ name: `${topic}-${partition}`, log, config: this.topics.logConfigOf(topic) });
        } catch (err) {
          this.log.error({ err, topic, partition }, 'cannot read topic config for compaction');
        }
      }
      await this.logCleaner.cleanAll(targets);
    })().finally(() => {
      this.cleaning = null;
    });
    return this.cleaning;
  }

  async runRetention(now = Date.now()): Promise<void> {
    for (const { topic, partition, log } of this.topics.allLogs()) {
      try {
        // cleanup.policy=compact alone keeps data until compaction removes it.
        const policy = this.topics.logConfigOf(topic).cleanupPolicy;
        // Only a policy listing delete deletes by retention ('' keeps everything, as in Kafka 4).
        if (!policy.includes('delete')) continue;
        await log.enforceRetention(now);
      } catch (err) {
        this.log.error({ err, topic, partition }, 'retention failed');
      }
    }
  }

  /** Cluster mode: joins the cluster once the listener's address is known. */
  async startCluster(): Promise<void> {
    await this.cluster?.start();
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.cleaners) clearInterval(t);
    await this.router.close();
    // Hand leases over first, while the store is still open.
    await this.cluster?.stop();
    await this.logCleaner.stop();
    await this.groups.close();
    await this.logs.closeAll();
    await this.store.close();
  }
}
