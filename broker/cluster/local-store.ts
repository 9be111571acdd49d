import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../log/atomic-file.js';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { BrokerRecord, ControlStore, LeaseKey, LeaseRecord, ManifestEpoch, TopicRecord } from './control-store.js';
import { ControlStoreError } from './control-store.js';

interface LocalState {
  version: 1;
  clusterId: string;
  nextProducerId: number;
  topics: Record<string, TopicRecord>;
  /** Lease epochs and manifests survive restarts; expiries are in memory only. */
  leases?: Record<LeaseKey, { holder: number; epoch: number; highWatermark: number; epochStartOffset: number; manifest: ManifestEpoch[] }>;
}

/** Single-node control store: one JSON document in <data>/control/state.json, rewritten atomically. */
export class LocalControlStore implements ControlStore {
  readonly kind = 'local' as const;
  private state!: LocalState;
  private readonly path: string;
  private brokers: BrokerRecord[] = [];
  private readonly expiries = new Map<LeaseKey, number>();
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly dataDir: string) {
    this.path = join(dataDir, 'control', 'state.json');
  }

  async open(): Promise<void> {
    await mkdir(join(this.dataDir, 'control'), { recursive: true });
    try {
      this.state = JSON.parse(await readFile(this.path, 'utf8')) as LocalState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.state = { version: 1, clusterId: randomBytes(16).toString('base64url'), nextProducerId: 1000, topics: {} };
      await this.persist();
    }
  }

  async close(): Promise<void> {
    await this.writing;
  }

  clusterId(): string {
    return this.state.clusterId;
  }

  async registerBroker(b: BrokerRecord): Promise<void> {
    this.brokers = [b];
  }

  async deregisterBroker(nodeId: number): Promise<void> {
    this.brokers = this.brokers.filter((b) => b.nodeId !== nodeId);
  }

  async liveBrokers(): Promise<BrokerRecord[]> {
    return this.brokers;
  }

  async refresh(): Promise<void> {}

  // One process is the whole cluster, so the local clock is the store's clock.
  async now(): Promise<number> {
    return Date.now();
  }

  async acquireLease(key: LeaseKey, holder: number, ttlMs: number): Promise<LeaseRecord | null> {
    const now = Date.now();
    const leases = (this.state.leases ??= {});
    const cur = leases[key];
    const valid = cur !== undefined && (this.expiries.get(key) ?? 0) > now;
    if (cur !== undefined && valid && cur.holder !== holder) return null;
    if (cur === undefined || !valid || cur.holder !== holder) {
      const epoch = cur === undefined ? 0 : cur.epoch + 1;
      const start = cur?.highWatermark ?? 0;
      const manifest = cur?.manifest ?? [];
      const open = manifest[manifest.length - 1];
      if (open !== undefined && open.endOffset === null) open.endOffset = start;
      manifest.push({ epoch, holder, startOffset: start, endOffset: null });
      leases[key] = { holder, epoch, highWatermark: start, epochStartOffset: start, manifest };
      await this.persist();
    }
    this.expiries.set(key, now + ttlMs);
    return this.leaseRecord(key, now);
  }

  async renewLeases(holder: number, ttlMs: number): Promise<LeaseRecord[]> {
    const now = Date.now();
    const out: LeaseRecord[] = [];
    for (const [key, l] of Object.entries(this.state.leases ?? {})) {
      if (l.holder !== holder || (this.expiries.get(key) ?? 0) <= now) continue;
      this.expiries.set(key, now + ttlMs);
      out.push(this.leaseRecord(key, now));
    }
    return out;
  }

  async releaseLease(key: LeaseKey, holder: number, epoch: number): Promise<void> {
    const l = this.state.leases?.[key];
    if (l !== undefined && l.holder === holder && l.epoch === epoch) this.expiries.set(key, 0);
  }

  async listLeases(prefix = ''): Promise<LeaseRecord[]> {
    const now = Date.now();
    return Object.keys(this.state.leases ?? {})
      .filter((k) => k.startsWith(prefix))
      .sort()
      .map((k) => this.leaseRecord(k, now));
  }

  async publishHighWatermark(key: LeaseKey, holder: number, epoch: number, highWatermark: number): Promise<boolean> {
    const l = this.state.leases?.[key];
    if (l === undefined || l.holder !== holder || l.epoch !== epoch || (this.expiries.get(key) ?? 0) <= Date.now()) return false;
    // Kept in memory: a single node re-derives its high watermark from the log on restart.
    if (highWatermark > l.highWatermark) l.highWatermark = highWatermark;
    return true;
  }

  async manifest(key: LeaseKey): Promise<ManifestEpoch[]> {
    return (this.state.leases?.[key]?.manifest ?? []).map((m) => ({ ...m }));
  }

  private leaseRecord(key: LeaseKey, now: number): LeaseRecord {
    const l = this.state.leases![key]!;
    const expiresAt = this.expiries.get(key) ?? 0;
    return { key, holder: l.holder, epoch: l.epoch, expiresAt, valid: expiresAt > now, highWatermark: l.highWatermark, epochStartOffset: l.epochStartOffset };
  }

  listTopics(): TopicRecord[] {
    return Object.values(this.state.topics);
  }

  getTopic(name: string): TopicRecord | undefined {
    return this.state.topics[name];
  }

  async createTopic(t: TopicRecord): Promise<void> {
    if (this.state.topics[t.name]) throw new ControlStoreError('TOPIC_ALREADY_EXISTS', `Topic '${t.name}' already exists.`);
    this.state.topics[t.name] = t;
    await this.persist();
  }

  async deleteTopic(name: string): Promise<void> {
    if (!this.state.topics[name]) throw new ControlStoreError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist.`);
    delete this.state.topics[name];
    await this.persist();
  }

  async updateTopic(name: string, patch: Partial<Pick<TopicRecord, 'partitions' | 'configs' | 'leaderEpochs'>>): Promise<TopicRecord> {
    const t = this.state.topics[name];
    if (!t) throw new ControlStoreError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist.`);
    Object.assign(t, patch);
    await this.persist();
    return t;
  }

  async allocateProducerIds(count: number): Promise<number> {
    const first = this.state.nextProducerId;
    this.state.nextProducerId += count;
    await this.persist();
    return first;
  }

  /** A write queued behind the running one; later changes join it instead of adding their own. */
  private queued: Promise<void> | null = null;

  /**
   * Serializes writes; each persists the whole document, snapshotted when the write starts, so
   * changes made while one runs (100 topics of one CreateTopics) share the next write instead of
   * rewriting a document that grows with every topic once per change.
   */
  private persist(): Promise<void> {
    if (this.queued !== null) return this.queued;
    const next = this.writing.then(() => {
      this.queued = null;
      return writeFileAtomic(this.path, JSON.stringify(this.state, null, 1));
    });
    this.queued = next;
    this.writing = next;
    return next;
  }
}
