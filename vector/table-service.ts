// Tables as a Floe feature: the engine's TableStore with changelogs on compacted topics, plus the
// input and query topics served from inside the node. Definitions live in <data>/tables/<name>/.
// In a cluster every broker shares that directory: each discovers tables created or dropped
// elsewhere, materializes every table by tailing its changelog (see TableFollower), sends
// writes to the changelog's leader, and only that leader writes the table's snapshots.
import type { Logger } from 'pino';
import type { Broker } from '../broker/core/broker.js';
import { TopicError } from '../broker/core/topics.js';
import { ErrorCode } from '../broker/protocol/generated/error-codes.js';
import type { EmbedderFactory } from './embedder.js';
import { InputApplier } from './input-applier.js';
import { KafkaChangelog, type KeyType } from './kafka-changelog.js';
import { QueryServer } from './query-server.js';
import type { ColumnDef, TableSchema } from './schema.js';
import { TableStore, type TableDescription, type TableTuning } from './store.js';
import { readSchemaFile, type Table } from './table.js';
import { tableGroups, tableTopics, type TableTopics } from './table-topics.js';
import { TopicBridge } from './topic-bridge.js';
import { TableFollower } from './table-follower.js';

export interface TableServiceOptions {
  workers?: number;
  tuning?: TableTuning;
  embedders?: Record<string, EmbedderFactory>;
  /** Serve the input and query topics (default true). */
  bridges?: boolean;
  /** Cluster: how often to look for tables created or dropped elsewhere (default 500 ms). */
  discoveryMs?: number;
}

export interface TableInfo extends TableDescription {
  topics: TableTopics;
}

interface Bridges {
  input: TopicBridge;
  query: TopicBridge;
  applier: InputApplier;
  server: QueryServer;
}

const services = new WeakMap<Broker, TableService>();

/** The table service running beside a broker, if any (the HTTP routes find it here). */
export function tableServiceOf(broker: Broker): TableService | undefined {
  return services.get(broker);
}

export class TableService {
  readonly store: TableStore;
  private readonly bridges = new Map<string, Bridges>();
  private readonly followers = new Map<string, TableFollower>();
  private discovery: NodeJS.Timeout | null = null;
  private discovering: Promise<void> | null = null;
  private closed = false;

  private constructor(
    private readonly broker: Broker,
    private readonly opts: TableServiceOptions,
    private readonly log: Logger,
  ) {
    this.store = new TableStore({
      dataDir: broker.config.dataDir,
      changelogFactory: async (name, dir) => {
        const schema = await readSchemaFile(dir);
        const keyType = schema.columns.find((c) => c.name === schema.primaryKey)!.type as KeyType;
        return KafkaChangelog.open(broker, tableTopics(name).changelog, keyType);
      },
      ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
      ...(opts.embedders ? { embedders: opts.embedders } : {}),
      ...(opts.tuning ? { tuning: opts.tuning } : {}),
      logger: { warn: (obj, msg) => log.warn(obj, msg) },
      // Two writers of one snapshots dir would prune each other's files.
      writesSnapshots: (name) => broker.router.leads(tableTopics(name).changelog, 0),
    });
  }

  private get clustered(): boolean {
    return this.broker.cluster !== null;
  }

  /** Opens every table found in the data dir and starts serving their topics. */
  static async open(broker: Broker, log: Logger, opts: TableServiceOptions = {}): Promise<TableService> {
    const svc = new TableService(broker, opts, log.child({ component: 'tables' }));
    for (const name of await svc.store.list()) {
      try {
        await svc.store.get(name);
        await svc.startBridges(name);
        svc.startFollower(name);
      } catch (err) {
        // One broken table must not keep the node down; its routes answer with the error.
        svc.log.error({ err, table: name }, 'table failed to open');
      }
    }
    services.set(broker, svc);
    svc.startDiscovery();
    return svc;
  }

  /** Cluster: periodically opens tables created and closes tables dropped through other brokers. */
  private startDiscovery(): void {
    if (!this.clustered) return;
    const tick = () => {
      this.discovery = setTimeout(() => {
        this.discovering = this.discover()
          .catch((err: unknown) => this.log.warn({ err }, 'table discovery failed'))
          .finally(() => {
            this.discovering = null;
            if (!this.closed) tick();
          });
      }, this.opts.discoveryMs ?? 500);
      this.discovery.unref();
    };
    tick();
  }

  /** One discovery pass (public for tests). */
  async discover(): Promise<void> {
    if (this.closed) return;
    const { opened, closed } = await this.store.discover();
    for (const name of closed) {
      this.log.info({ table: name }, 'table dropped elsewhere');
      await this.stopFollower(name);
      await this.stopBridges(name);
    }
    for (const name of opened) this.log.info({ table: name }, 'table created elsewhere');
    // Every open table, however it was opened (discovery, or a request that named it first).
    for (const name of this.store.openNames()) {
      if (this.followers.has(name) && (this.opts.bridges === false || this.bridges.has(name))) continue;
      try {
        await this.store.get(name);
        await this.startBridges(name);
        this.startFollower(name);
      } catch (err) {
        this.log.warn({ err, table: name }, 'cannot serve table yet');
      }
    }
  }

  /** Cluster: keeps the local replica of the table applying its changelog as it grows. */
  private startFollower(name: string): void {
    if (!this.clustered || this.followers.has(name) || this.closed) return;
    const f = new TableFollower({
      changelogTopic: tableTopics(name).changelog,
      router: this.broker.router,
      catchUp: async () => {
        await this.store.refreshSchema(name);
        await (await this.store.get(name)).catchUp();
      },
      log: this.log.child({ table: name }),
    });
    this.followers.set(name, f);
    f.start();
  }

  private async stopFollower(name: string): Promise<void> {
    const f = this.followers.get(name);
    this.followers.delete(name);
    await f?.stop();
  }

  topics(name: string): TableTopics {
    return tableTopics(name);
  }

  async create(rawSchema: unknown): Promise<TableInfo> {
    const table = await this.store.create(rawSchema);
    await this.startBridges(table.name);
    this.startFollower(table.name);
    return this.info(table);
  }

  list(): Promise<string[]> {
    return this.store.list();
  }

  async table(name: string): Promise<Table> {
    // Cluster: a column may have been added through another broker; writes validate against it.
    if (this.clustered) await this.store.refreshSchema(name).catch(() => undefined);
    return this.store.get(name);
  }

  async describe(name: string): Promise<TableInfo> {
    return this.info(await this.store.get(name));
  }

  addColumn(name: string, column: ColumnDef): Promise<TableSchema> {
    return this.store.addColumn(name, column);
  }

  /** Stops the table's topic consumers, drops it (changelog topic too) and deletes its other topics. */
  async drop(name: string): Promise<void> {
    await this.stopFollower(name);
    await this.stopBridges(name);
    await this.store.drop(name);
    const t = tableTopics(name);
    for (const topic of [t.input, t.query, t.errors]) {
      try {
        if (this.broker.topics.get(topic)) await this.broker.topics.delete(topic);
      } catch (err) {
        if (!(err instanceof TopicError && err.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)) throw err;
      }
    }
  }

  /** Resolves once the input and query topics are applied up to their current end (tests, tooling). */
  async caughtUp(name: string): Promise<void> {
    const b = this.bridges.get(name);
    if (!b) return;
    await Promise.all([b.input.caughtUp(), b.query.caughtUp()]);
  }

  bridgeStats(name: string): { applied: number; rejected: number; answered: number; failedQueries: number } | undefined {
    const b = this.bridges.get(name);
    return b && { applied: b.applier.stats.applied, rejected: b.applier.stats.rejected, answered: b.server.answered, failedQueries: b.server.failed };
  }

  async close(opts: { checkpoint?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (services.get(this.broker) === this) services.delete(this.broker);
    if (this.discovery) clearTimeout(this.discovery);
    await this.discovering;
    for (const name of [...this.followers.keys()]) await this.stopFollower(name);
    for (const name of [...this.bridges.keys()]) await this.stopBridges(name);
    await this.store.close(opts);
  }

  private info(table: Table): TableInfo {
    return { schema: table.describe(), stats: table.stats(), topics: tableTopics(table.name) };
  }

  private async startBridges(name: string): Promise<void> {
    if (this.opts.bridges === false || this.bridges.has(name)) return;
    const topics = tableTopics(name);
    const groups = tableGroups(name);
    // Another broker may have created them since this one last heard.
    if (this.clustered) await this.broker.store.refresh();
    for (const [topic, configs] of [
      [topics.input, {}],
      [topics.query, { 'retention.ms': String(24 * 3600_000) }],
      [topics.errors, {}],
    ] as const) {
      if (this.broker.topics.get(topic)) continue;
      try {
        await this.broker.topics.create({ name: topic, partitions: 1, replicationFactor: -1, configs: { ...configs } });
      } catch (err) {
        if (!(err instanceof TopicError && err.code === ErrorCode.TOPIC_ALREADY_EXISTS)) throw err;
      }
    }
    const get = () => this.store.get(name);
    const applier = new InputApplier(this.broker, get, topics.errors);
    const server = new QueryServer(this.broker, get, topics.errors);
    const log = this.log.child({ table: name });
    const input = new TopicBridge(this.broker, { topic: topics.input, groupId: groups.input, handle: (r) => applier.handle(r), log });
    const query = new TopicBridge(this.broker, { topic: topics.query, groupId: groups.query, handle: (r) => server.handle(r), log });
    this.bridges.set(name, { input, query, applier, server });
    input.start();
    query.start();
  }

  private async stopBridges(name: string): Promise<void> {
    const b = this.bridges.get(name);
    if (!b) return;
    this.bridges.delete(name);
    await Promise.all([b.input.stop(), b.query.stop()]);
  }
}
