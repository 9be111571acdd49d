// Topic lifecycle on top of the control store (metadata) and the log manager (data).
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ControlStore, TopicRecord } from '../cluster/control-store.js';
import { ControlStoreError } from '../cluster/control-store.js';
import type { LogManager, PartitionLog } from '../log/index.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { BrokerConfig } from '../config/broker-config.js';
import { toLogConfig, validateTopicConfig } from '../config/topic-config.js';
import { parseSegmentFile } from '../log/segment-files.js';

export class TopicError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const LEGAL = /^[a-zA-Z0-9._-]+$/;
export const MAX_TOPIC_NAME = 249;
/** Kafka's controller refuses more partitions than this in one request. */
export const MAX_PARTITIONS_PER_REQUEST = 10_000;

/** A name as it may appear in a message: clients can send megabytes of it. */
export function shownName(name: string): string {
  const MAX = 64;
  return name.length <= MAX ? name : `${name.slice(0, MAX)}... (${name.length} characters)`;
}

export function validateTopicName(name: string): string | null {
  if (name.length === 0) return 'Topic name is illegal, it can\'t be empty';
  if (name === '.' || name === '..') return 'Topic name cannot be "." or ".."';
  if (name.length > MAX_TOPIC_NAME) return `Topic name is illegal, it can't be longer than ${MAX_TOPIC_NAME} characters, topic name: ${shownName(name)}`;
  if (!LEGAL.test(name)) return `Topic name "${shownName(name)}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  return null;
}

/** Floe's own topics (tables, bridges) are created in-process only. */
export const FLOE_INTERNAL_PREFIX = '_floe.';

/**
 * Why a client may not create `name`, or null. Kafka refuses creating its internal topics
 * (INVALID_REQUEST, "Creation of internal topic ... is prohibited."); Floe reserves every
 * `__` name (Metadata reports them as internal) and its own `_floe.` prefix as well.
 */
export function reservedTopicName(name: string): string | null {
  if (name.startsWith('__')) return `Creation of internal topic ${shownName(name)} is prohibited: names starting with '__' are reserved.`;
  if (name.startsWith(FLOE_INTERNAL_PREFIX)) return `Creation of internal topic ${shownName(name)} is prohibited: names starting with '${FLOE_INTERNAL_PREFIX}' are reserved for Floe.`;
  return null;
}

const ERRNO_MESSAGES: Record<string, string> = {
  EMFILE: 'the broker ran out of file descriptors (EMFILE)',
  ENFILE: 'the system ran out of file descriptors (ENFILE)',
  ENOSPC: 'the broker\'s disk is full (ENOSPC)',
  EDQUOT: 'the broker\'s disk quota is exhausted (EDQUOT)',
  EPERM: 'the broker may not write its data directory (EPERM)',
  EACCES: 'the broker may not write its data directory (EACCES)',
  EROFS: 'the broker\'s data directory is read-only (EROFS)',
  EIO: 'the broker hit a disk I/O error (EIO)',
};

/** A message for clients about an unexpected failure: no internal paths or stack details. */
export function clientErrorMessage(err: unknown, what: string): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const reason = code !== undefined ? (ERRNO_MESSAGES[code] ?? `a storage error (${code})`) : 'an internal error';
  return `${what} failed: ${reason}; see the broker log.`;
}

export interface CreateTopicSpec {
  name: string;
  partitions: number; // -1 = broker default
  replicationFactor: number; // -1 = broker default
  configs: Record<string, string>;
  validateOnly?: boolean;
}

export class TopicManager {
  /** Open logs by "topic/partition". */
  private readonly logs = new Map<string, PartitionLog>();
  private readonly creating = new Map<string, Promise<TopicRecord>>();
  private readonly logConfigs = new Map<string, { source: Readonly<Record<string, string>>; config: ReturnType<typeof toLogConfig> }>();
  /** Called after a topic is deleted (e.g. to drop its committed offsets). */
  readonly onDeleted: Array<(topic: string) => void | Promise<void>> = [];
  /** Cluster mode: a broker opens only the logs it holds leases for (see adoptLog). */
  clustered = false;
  /** Partitions of creations in progress, counted against floe.max.partitions. */
  private pendingPartitions = 0;

  constructor(
    private readonly store: ControlStore,
    private readonly logManager: LogManager,
    private readonly config: BrokerConfig,
    private readonly log: Logger,
  ) {}

  /**
   * Startup: removes what an interrupted creation left and opens the logs of every known
   * topic (which also completes a committed topic whose partitions were not all created).
   */
  async openAll(): Promise<void> {
    if (!this.clustered) await this.sweepUncommitted();
    for (const t of this.store.listTopics()) await this.openLogs(t);
  }

  /**
   * A creation writes partition files first and commits the metadata last, so a topic
   * directory without metadata is a creation cut short. It is removed when it holds no records
   * (nobody could have produced to it); one with records is left alone with a warning.
   */
  private async sweepUncommitted(): Promise<void> {
    const onDisk = new Set((await this.logManager.scan()).map((p) => p.topic));
    for (const topic of onDisk) {
      if (this.store.getTopic(topic) !== undefined) continue;
      if (await this.holdsRecords(topic)) {
        this.log.warn({ topic }, 'topic directory without metadata holds records; leaving it in place');
        continue;
      }
      await this.logManager.deleteTopic(topic);
      this.log.warn({ topic }, 'removed the files of a topic creation that did not complete');
    }
  }

  private async holdsRecords(topic: string): Promise<boolean> {
    const dir = join(this.logManager.topicsDir, topic);
    for (const p of await readdir(dir)) {
      let files: string[];
      try {
        files = await readdir(join(dir, p));
      } catch {
        continue;
      }
      for (const f of files) {
        if (parseSegmentFile(f)?.kind !== 'log') continue;
        if ((await stat(join(dir, p, f))).size > 0) return true;
      }
    }
    return false;
  }

  /** Partitions over all topics plus creations in progress. */
  private partitionCount(): number {
    let n = this.pendingPartitions;
    for (const t of this.store.listTopics()) n += t.partitions;
    return n;
  }

  private checkPartitionBudget(adding: number): void {
    const limit = this.config.maxPartitions;
    const total = this.partitionCount();
    if (total + adding > limit) {
      throw new TopicError(
        ErrorCode.POLICY_VIOLATION,
        `Adding ${adding} partitions would bring the broker to ${total + adding} partitions, above floe.max.partitions=${limit}.`,
      );
    }
  }

  list(): TopicRecord[] {
    return this.store.listTopics();
  }

  get(name: string): TopicRecord | undefined {
    return this.store.getTopic(name);
  }

  byId(topicId: string): TopicRecord | undefined {
    return this.store.listTopics().find((t) => t.topicId === topicId);
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(`${topic}/${partition}`);
  }

  create(spec: CreateTopicSpec): Promise<TopicRecord> {
    return spec.validateOnly ? this.createNow(spec) : this.serialized(spec.name, () => this.createNow(spec));
  }

  private async createNow(spec: CreateTopicSpec): Promise<TopicRecord> {
    const bad = validateTopicName(spec.name);
    if (bad) throw new TopicError(ErrorCode.INVALID_TOPIC_EXCEPTION, bad);
    const partitions = spec.partitions === -1 ? this.config.numPartitions : spec.partitions;
    if (!Number.isInteger(partitions) || partitions <= 0) throw new TopicError(ErrorCode.INVALID_PARTITIONS, `Number of partitions must be larger than 0, got ${partitions}.`);
    if (partitions > MAX_PARTITIONS_PER_REQUEST) throw new TopicError(ErrorCode.INVALID_PARTITIONS, `Number of partitions ${partitions} exceeds the limit of ${MAX_PARTITIONS_PER_REQUEST} per request.`);
    const rf = spec.replicationFactor === -1 ? 1 : spec.replicationFactor;
    // Durability comes from the shared medium, so any requested factor is met by one writer;
    // reject only nonsense values, like Kafka does.
    if (rf <= 0) throw new TopicError(ErrorCode.INVALID_REPLICATION_FACTOR, `Replication factor must be larger than 0, got ${rf}.`);
    for (const [k, v] of Object.entries(spec.configs)) {
      const err = validateTopicConfig(k, v);
      if (err) throw new TopicError(ErrorCode.INVALID_CONFIG, err);
    }
    if (this.store.getTopic(spec.name) || this.creating.has(spec.name)) {
      throw new TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${spec.name}' already exists.`);
    }
    this.checkPartitionBudget(partitions);
    const record: TopicRecord = {
      name: spec.name,
      topicId: randomBytes(16).toString('base64url'),
      partitions,
      configs: { ...spec.configs },
      createdAt: Date.now(),
      leaderEpochs: new Array<number>(partitions).fill(0),
    };
    if (spec.validateOnly) return record;
    // All or nothing: partition files first, the metadata commit last; a failure undoes both.
    const p = (async () => {
      try {
        await this.openLogs(record);
        await this.store.createTopic(record);
      } catch (err) {
        await this.rollBackCreate(record, err);
        if (err instanceof ControlStoreError && err.code === 'TOPIC_ALREADY_EXISTS') throw new TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, err.message);
        throw err;
      }
      this.log.info({ topic: record.name, partitions }, 'topic created');
      return record;
    })();
    this.creating.set(spec.name, p);
    this.pendingPartitions += partitions;
    try {
      return await p;
    } finally {
      this.pendingPartitions -= partitions;
      this.creating.delete(spec.name);
    }
  }

  private async rollBackCreate(record: TopicRecord, cause: unknown): Promise<void> {
    this.log.error({ topic: record.name, partitions: record.partitions, err: cause }, 'topic creation failed; removing what was created');
    try {
      // A store may hold the record in memory although persisting it failed.
      if (this.store.getTopic(record.name)?.topicId === record.topicId) await this.store.deleteTopic(record.name);
    } catch (err) {
      this.log.error({ topic: record.name, err }, 'could not remove the metadata of a failed creation');
    }
    for (let i = 0; i < record.partitions; i++) this.logs.delete(`${record.name}/${i}`);
    this.logConfigs.delete(record.name);
    if (this.clustered) return;
    try {
      await this.logManager.deleteTopic(record.name);
    } catch (err) {
      // The next start removes it (see sweepUncommitted).
      this.log.error({ topic: record.name, err }, 'could not remove the files of a failed creation');
    }
  }

  /**
   * Returns the topic, creating it with broker defaults when auto-creation is on. Only Kafka
   * clients' requests (Metadata, Produce) come here, so reserved names are never auto-created.
   */
  async ensure(name: string): Promise<TopicRecord | undefined> {
    const t = this.store.getTopic(name);
    if (t) return t;
    const pending = this.creating.get(name);
    if (pending) return pending;
    if (!this.config.autoCreateTopics || validateTopicName(name) || reservedTopicName(name)) return undefined;
    try {
      return await this.create({ name, partitions: -1, replicationFactor: -1, configs: {} });
    } catch (err) {
      if (err instanceof TopicError && err.code === ErrorCode.TOPIC_ALREADY_EXISTS) return this.store.getTopic(name) ?? (await this.creating.get(name));
      throw err;
    }
  }

  /** Runs topic-structure changes (create/delete/add partitions) of one topic one at a time. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private serialized<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(name, tail);
    void tail.then(() => {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    });
    return run;
  }

  delete(name: string): Promise<void> {
    return this.serialized(name, () => this.deleteNow(name));
  }

  private async deleteNow(name: string): Promise<void> {
    await this.creating.get(name)?.catch(() => undefined);
    const t = this.store.getTopic(name);
    if (!t) throw new TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `This server does not host this topic: ${name}`);
    await this.store.deleteTopic(name);
    this.logConfigs.delete(name);
    for (let p = 0; p < t.partitions; p++) this.logs.delete(`${name}/${p}`);
    await this.logManager.deleteTopic(name);
    for (const fn of this.onDeleted) await fn(name);
    this.log.info({ topic: name }, 'topic deleted');
  }

  addPartitions(name: string, total: number, validateOnly = false): Promise<void> {
    return this.serialized(name, () => this.addPartitionsNow(name, total, validateOnly));
  }

  private async addPartitionsNow(name: string, total: number, validateOnly: boolean): Promise<void> {
    const t = this.store.getTopic(name);
    if (!t) throw new TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`);
    if (total < t.partitions) throw new TopicError(ErrorCode.INVALID_PARTITIONS, `Topic currently has ${t.partitions} partitions, which is higher than the requested ${total}.`);
    if (total === t.partitions) throw new TopicError(ErrorCode.INVALID_PARTITIONS, `Topic already has ${t.partitions} partitions.`);
    this.checkPartitionBudget(total - t.partitions);
    if (validateOnly) return;
    const epochs = [...t.leaderEpochs];
    while (epochs.length < total) epochs.push(0);
    const updated = await this.store.updateTopic(name, { partitions: total, leaderEpochs: epochs });
    await this.openLogs(updated);
  }

  /** Replaces (incremental=false) or merges the topic's config overrides. null value = delete. */
  async setConfigs(name: string, changes: Record<string, string | null>, replace: boolean, validateOnly = false): Promise<void> {
    const t = this.store.getTopic(name);
    if (!t) throw new TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) continue;
      const err = validateTopicConfig(k, v);
      if (err) throw new TopicError(ErrorCode.INVALID_CONFIG, err);
    }
    const next: Record<string, string> = replace ? {} : { ...t.configs };
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) delete next[k];
      else next[k] = v;
    }
    if (validateOnly) return;
    const updated = await this.store.updateTopic(name, { configs: next });
    const lc = toLogConfig(updated.configs, this.config);
    for (let p = 0; p < updated.partitions; p++) this.logs.get(`${name}/${p}`)?.updateConfig(lc);
  }

  /**
   * Parsed log config of a topic, cached per topic: Produce asks on every request. Stores
   * replace a topic's configs object on change, so its identity tells when to re-parse.
   */
  logConfigOf(name: string): ReturnType<typeof toLogConfig> {
    const configs = this.store.getTopic(name)?.configs;
    if (configs === undefined) return toLogConfig({}, this.config);
    const hit = this.logConfigs.get(name);
    if (hit !== undefined && hit.source === configs) return hit.config;
    const config = toLogConfig(configs, this.config);
    this.logConfigs.set(name, { source: configs, config });
    return config;
  }

  /** Cluster mode: this broker now writes the partition through `log`. */
  adoptLog(topic: string, partition: number, log: PartitionLog): void {
    this.logs.set(`${topic}/${partition}`, log);
  }

  /** Cluster mode: stops serving the partition here; returns its log for the caller to close. */
  dropLog(topic: string, partition: number): PartitionLog | undefined {
    const key = `${topic}/${partition}`;
    const log = this.logs.get(key);
    this.logs.delete(key);
    return log;
  }

  allLogs(): Array<{ topic: string; partition: number; log: PartitionLog }> {
    return [...this.logs].map(([k, log]) => {
      const i = k.lastIndexOf('/');
      return { topic: k.slice(0, i), partition: Number(k.slice(i + 1)), log };
    });
  }

  private async openLogs(t: TopicRecord): Promise<void> {
    if (this.clustered) return;
    const lc = toLogConfig(t.configs, this.config);
    // Opening a partition creates files and fsyncs directories: do a few at a time.
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (next < t.partitions && !failed) {
        const p = next++;
        const key = `${t.name}/${p}`;
        if (this.logs.has(key)) continue;
        try {
          this.logs.set(key, await this.logManager.open(t.name, p, lc, t.leaderEpochs[p] ?? 0));
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    };
    // Every worker has stopped before a failure is reported, so a rollback sees all opened logs.
    const results = await Promise.allSettled(Array.from({ length: Math.min(16, t.partitions) }, worker));
    const first = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (first !== undefined) throw first.reason;
  }
}
