// The broker's shared state, handed to every request handler. It owns no sockets.
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/broker-config.js';
import type { ControlStore } from '../cluster/control-store.js';
import { LocalControlStore } from '../cluster/local-store.js';
import { FsyncScheduler, LogManager } from '../log/index.js';
import { TopicManager } from './topics.js';
import { BrokerMetrics } from './metrics.js';
import { ProducerIdAllocator } from './producer-ids.js';
import { join } from 'node:path';
import { GroupCoordinator } from '../groups/group-coordinator.js';
import { LocalOffsetStore } from '../groups/local-offset-store.js';
import { LocalOwnership } from '../groups/coordinator-ownership.js';

export class Broker {
  readonly metrics = new BrokerMetrics();
  readonly syncer = new FsyncScheduler();
  readonly logs: LogManager;
  readonly topics: TopicManager;
  readonly producerIds: ProducerIdAllocator;
  readonly groups: GroupCoordinator;
  private readonly cleaners: NodeJS.Timeout[] = [];
  /** Set once shutdown starts: new work is refused, in-flight work finishes. */
  closing = false;

  private constructor(
    readonly config: BrokerConfig,
    readonly store: ControlStore,
    readonly log: Logger,
  ) {
    this.logs = new LogManager({ dataDir: config.dataDir, syncer: this.syncer, logger: log });
    this.topics = new TopicManager(store, this.logs, config, log);
    this.producerIds = new ProducerIdAllocator(store);
    this.groups = new GroupCoordinator(
      { groupInitialRebalanceDelayMs: config.groupInitialRebalanceDelayMs, offsetsRetentionMs: config.offsetsRetentionMinutes * 60_000 },
      new LocalOffsetStore(join(config.dataDir, 'groups'), { log }),
      { partitionCount: (topic) => this.topics.get(topic)?.partitions },
      new LocalOwnership(() => ({ nodeId: this.nodeId, ...this.advertised })),
      undefined,
      log,
    );
    this.topics.onDeleted.push((topic) => this.groups.removeTopicOffsets(topic));
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
    const store = new LocalControlStore(config.dataDir);
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
  }

  async runRetention(now = Date.now()): Promise<void> {
    for (const { topic, partition, log } of this.topics.allLogs()) {
      try {
        await log.enforceRetention(now);
      } catch (err) {
        this.log.error({ err, topic, partition }, 'retention failed');
      }
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.cleaners) clearInterval(t);
    await this.groups.close();
    await this.logs.closeAll();
    await this.store.close();
  }
}
