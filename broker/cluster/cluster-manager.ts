// One broker's view of the cluster: it heartbeats its registration and leases, spreads partition
// and group leases over the live brokers by rendezvous hashing (no broker talks to another),
// opens the logs it leads and hands them over on shutdown.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { BrokerRecord, ControlStore, LeaseKey, LeaseRecord } from './control-store.js';
import { groupLeaseKey, parsePartitionLeaseKey, partitionLeaseKey } from './control-store.js';
import { rendezvousOwner } from './rendezvous.js';
import { HighWatermarkPublisher } from './hw-publisher.js';
import { LeaseLostError } from './lease-lost-error.js';
import { PartitionLog } from '../log/index.js';
import type { FsyncScheduler, LogConfig } from '../log/index.js';
import type { CoordinatorNode, CoordinatorOwnership } from '../groups/coordinator-ownership.js';
import { RemotePartition, SharedPartitionReader } from './shared-reader.js';
import { removeFencedSegments } from './fenced-segments.js';
import { parseSegmentFile, type ParsedSegmentFile } from '../log/segment-files.js';
import { readdir } from 'node:fs/promises';

async function listSegmentFiles(dir: string): Promise<ParsedSegmentFile[]> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  return names.map(parseSegmentFile).filter((f): f is ParsedSegmentFile => f !== null && f.kind === 'log' && f.suffix === '');
}

export interface ClusterOptions {
  /** How long a lease or registration lives without renewal (PostgreSQL clock). */
  leaseTtlMs: number;
  /** Renewal period; several per TTL so one slow round trip does not lose leases. */
  heartbeatMs: number;
}

/** What the manager needs from the broker, kept narrow so it can be tested alone. */
export interface ClusterHost {
  self(): BrokerRecord;
  topics(): Array<{ name: string; partitions: number }>;
  partitionDir(topic: string, partition: number): string;
  logConfig(topic: string): LogConfig;
  syncer: FsyncScheduler;
  /** The partition is now written here through `log` (or no longer: null). */
  setLog(topic: string, partition: number, log: PartitionLog | null): void;
  /** A group lease was taken (load its state) or lost. */
  groupAcquired(groupId: string): Promise<void>;
}

interface HeldPartition {
  lease: LeaseRecord;
  log: PartitionLog;
  publisher: HighWatermarkPublisher;
}

/** Lease timing from the broker config (leaseTtlMs, heartbeatMs; FLOE_LEASE_TTL_MS etc. via env). */
export function clusterOptions(config: { leaseTtlMs: number; heartbeatMs?: number | undefined }): ClusterOptions {
  const leaseTtlMs = config.leaseTtlMs;
  const fallback = Math.max(1, Math.floor(leaseTtlMs / 4));
  // A renewal period over half the TTL would lose leases to a single late heartbeat.
  const heartbeatMs = config.heartbeatMs === undefined ? fallback : Math.max(1, Math.min(config.heartbeatMs, Math.floor(leaseTtlMs / 2)));
  return { leaseTtlMs, heartbeatMs };
}

export class ClusterManager implements CoordinatorOwnership {
  private live: BrokerRecord[] = [];
  private leases = new Map<LeaseKey, LeaseRecord>();
  /** Leases this broker holds, with the local monotonic time until which they are surely valid. */
  private readonly validUntil = new Map<LeaseKey, number>();
  private readonly partitions = new Map<LeaseKey, HeldPartition>();
  private readonly groups = new Map<LeaseKey, LeaseRecord>();
  private readonly pending = new Map<LeaseKey, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private stopped = false;
  /** Published high watermarks as last heard (heartbeat listing or notification). */
  private readonly published = new Map<LeaseKey, { epoch: number; highWatermark: number }>();
  private readonly hwListeners = new Map<LeaseKey, Set<() => void>>();
  private readonly views = new Map<LeaseKey, RemotePartition>();
  private unwatch: (() => Promise<void>) | null = null;

  constructor(
    readonly store: ControlStore,
    private readonly host: ClusterHost,
    readonly options: ClusterOptions,
    private readonly log: Logger,
  ) {}

  get nodeId(): number {
    return this.host.self().nodeId;
  }

  /** Registers, takes this broker's share of leases, then keeps heartbeating. */
  async start(): Promise<void> {
    await this.store.registerBroker(this.host.self(), this.options.leaseTtlMs);
    this.unwatch =
      (await this.store.watchHighWatermarks?.(
        (key, epoch, hw) => this.notePublished(key, epoch, hw),
        (err) => this.log.warn({ err }, 'high-watermark listen connection lost; reconnecting'),
      )) ?? null;
    await this.tick();
    this.schedule();
  }

  /** Graceful leave: hands every lease over (logs drained and published first), then deregisters. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking?.catch(() => {});
    await Promise.allSettled([...this.pending.values()]);
    // Deregister first so the others stop choosing this broker, then release.
    await this.store.deregisterBroker(this.nodeId).catch((err: unknown) => this.log.warn({ err }, 'deregister failed'));
    await Promise.allSettled([...this.partitions.keys()].map((k) => this.handOver(k)));
    for (const [key, lease] of this.groups) {
      this.groups.delete(key);
      await this.store.releaseLease(key, this.nodeId, lease.epoch).catch(() => {});
    }
    await this.unwatch?.();
    for (const set of this.hwListeners.values()) for (const l of set) l();
  }

  /**
   * A read-only view of a partition led elsewhere, served from the shared files up to its
   * published high watermark; undefined when no epoch of it has started.
   */
  async readView(topic: string, partition: number): Promise<RemotePartition | undefined> {
    const key = partitionLeaseKey(topic, partition);
    if (!this.published.has(key)) return undefined;
    let v = this.views.get(key);
    if (!v) {
      v = new RemotePartition(
        new SharedPartitionReader(this.host.partitionDir(topic, partition)),
        () => this.published.get(key) ?? { epoch: 0, highWatermark: 0 },
        (listener) => {
          let set = this.hwListeners.get(key);
          if (!set) this.hwListeners.set(key, (set = new Set()));
          set.add(listener);
          return () => set.delete(listener);
        },
      );
      this.views.set(key, v);
    }
    return v.refresh();
  }

  private notePublished(key: LeaseKey, epoch: number, highWatermark: number): void {
    const cur = this.published.get(key);
    if (cur && (epoch < cur.epoch || (epoch === cur.epoch && highWatermark <= cur.highWatermark))) return;
    this.published.set(key, { epoch, highWatermark });
    const set = this.hwListeners.get(key);
    if (set) for (const l of [...set]) l();
  }

  // ---- views for handlers ----------------------------------------------------------------

  liveBrokers(): BrokerRecord[] {
    const self = this.host.self();
    return this.live.some((b) => b.nodeId === self.nodeId) ? this.live : [...this.live, self].sort((a, b) => a.nodeId - b.nodeId);
  }

  /** The partition's current leader and epoch as last seen; leader -1 when none is live. */
  leaderOf(topic: string, partition: number): { leaderId: number; leaderEpoch: number } {
    const key = partitionLeaseKey(topic, partition);
    const mine = this.partitions.get(key);
    if (mine) return { leaderId: this.nodeId, leaderEpoch: mine.lease.epoch };
    const l = this.leases.get(key);
    if (l && l.valid && this.live.some((b) => b.nodeId === l.holder)) return { leaderId: l.holder, leaderEpoch: l.epoch };
    return { leaderId: -1, leaderEpoch: l?.epoch ?? 0 };
  }

  /** Every lease as of the last heartbeat, this broker's own ones fresh. */
  leaseSnapshot(): LeaseRecord[] {
    const out = new Map(this.leases);
    for (const [k, p] of this.partitions) out.set(k, p.lease);
    for (const [k, g] of this.groups) out.set(k, g);
    return [...out.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  // ---- CoordinatorOwnership --------------------------------------------------------------

  coordinatorOf(groupId: string): CoordinatorNode | null {
    const key = groupLeaseKey(groupId);
    if (this.groups.has(key)) return this.node(this.host.self());
    const l = this.leases.get(key);
    const holder = l && l.valid ? this.live.find((b) => b.nodeId === l.holder) : undefined;
    if (holder) return this.node(holder);
    const designate = rendezvousOwner(key, this.liveIds());
    if (designate === null) return null;
    if (designate === this.nodeId) {
      this.acquireGroup(groupId);
      return this.node(this.host.self());
    }
    const b = this.live.find((x) => x.nodeId === designate);
    return b ? this.node(b) : null;
  }

  owns(groupId: string): boolean {
    const key = groupLeaseKey(groupId);
    if (!this.groups.has(key)) {
      // A request for a group this broker should coordinate starts taking its lease.
      if (!this.stopped && rendezvousOwner(key, this.liveIds()) === this.nodeId) this.acquireGroup(groupId);
      return false;
    }
    return performance.now() < (this.validUntil.get(key) ?? 0);
  }

  tenure(groupId: string): number | undefined {
    return this.groups.get(groupLeaseKey(groupId))?.epoch;
  }

  // ---- heartbeat ---------------------------------------------------------------------------

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick()
        .catch((err: unknown) => this.log.warn({ err }, 'cluster heartbeat failed'))
        .finally(() => {
          this.ticking = null;
          this.schedule();
        });
    }, this.options.heartbeatMs);
    this.timer.unref();
  }

  /** One heartbeat: renew, learn the cluster, then take or hand over leases. Public for tests. */
  async tick(): Promise<void> {
    const t0 = performance.now();
    await this.store.registerBroker(this.host.self(), this.options.leaseTtlMs);
    const renewed = await this.store.renewLeases(this.nodeId, this.options.leaseTtlMs);
    const still = new Set(renewed.map((l) => l.key));
    for (const l of renewed) {
      this.validUntil.set(l.key, t0 + this.options.leaseTtlMs);
      const p = this.partitions.get(l.key);
      if (p && p.lease.epoch === l.epoch) p.lease = l;
      if (this.groups.has(l.key)) this.groups.set(l.key, l);
    }
    // A lease taken after this renewal started is not in its answer but is not lost either.
    const lost = (key: LeaseKey) => !still.has(key) && !this.pending.has(key) && (this.validUntil.get(key) ?? 0) <= t0 + this.options.leaseTtlMs;
    for (const key of [...this.partitions.keys()]) if (lost(key)) await this.lose(key);
    for (const key of [...this.groups.keys()]) {
      if (lost(key)) {
        this.groups.delete(key);
        this.log.warn({ group: key.slice(2) }, 'group lease lost');
      }
    }
    await this.store.refresh();
    // Config changes made through another broker reach the logs led here.
    for (const [key, held] of this.partitions) {
      const tp = parsePartitionLeaseKey(key)!;
      if (this.host.topics().some((t) => t.name === tp.topic)) held.log.updateConfig(this.host.logConfig(tp.topic));
    }
    this.live = await this.store.liveBrokers();
    this.leases = new Map((await this.store.listLeases()).map((l) => [l.key, l]));
    for (const l of this.leases.values()) if (l.key.startsWith('p/')) this.notePublished(l.key, l.epoch, l.highWatermark);
    if (this.stopped) return;
    await this.balance();
  }

  private async balance(): Promise<void> {
    const ids = this.liveIds();
    const wanted = new Set<LeaseKey>();
    const work: Promise<void>[] = [];
    for (const t of this.host.topics()) {
      for (let p = 0; p < t.partitions; p++) {
        const key = partitionLeaseKey(t.name, p);
        wanted.add(key);
        const designate = rendezvousOwner(key, ids);
        const held = this.partitions.has(key);
        if (designate === this.nodeId && !held && !this.pending.has(key)) {
          const l = this.leases.get(key);
          if (!l || !l.valid || l.holder === this.nodeId) work.push(this.track(key, this.acquirePartition(t.name, p)));
        } else if (designate !== this.nodeId && held && !this.pending.has(key)) {
          work.push(this.track(key, this.handOver(key)));
        }
      }
    }
    // Partitions of deleted topics.
    for (const key of [...this.partitions.keys()]) if (!wanted.has(key) && !this.pending.has(key)) work.push(this.track(key, this.lose(key, true)));
    for (const [key, lease] of [...this.groups]) {
      if (rendezvousOwner(key, ids) !== this.nodeId && !this.pending.has(key)) {
        this.groups.delete(key);
        work.push(this.store.releaseLease(key, this.nodeId, lease.epoch));
      }
    }
    await Promise.allSettled(work);
  }

  private track(key: LeaseKey, p: Promise<void>): Promise<void> {
    const t = p
      .catch((err: unknown) => this.log.warn({ err, key }, 'lease change failed'))
      .finally(() => this.pending.delete(key));
    this.pending.set(key, t);
    return t;
  }

  // ---- partitions --------------------------------------------------------------------------

  private async acquirePartition(topic: string, partition: number): Promise<void> {
    const key = partitionLeaseKey(topic, partition);
    const prior = this.leases.get(key);
    if (prior && prior.valid && prior.holder === this.nodeId) {
      // Still ours from before a restart: that incarnation may have written and published past
      // the epoch's start, so end its epoch (sealed at the published high watermark) and start a
      // new one instead of renewing it and cutting the log back to the old start.
      await this.store.releaseLease(key, this.nodeId, prior.epoch);
    }
    const t0 = performance.now();
    const lease = await this.store.acquireLease(key, this.nodeId, this.options.leaseTtlMs);
    if (lease === null) return;
    this.validUntil.set(key, t0 + this.options.leaseTtlMs);
    if (lease.highWatermark > lease.epochStartOffset) {
      // A writer already published in this epoch: truncating to its start would drop acknowledged records.
      await this.store.releaseLease(key, this.nodeId, lease.epoch).catch(() => {});
      throw new Error(`lease ${key} epoch ${lease.epoch} already has records published past its start; released for a fresh epoch`);
    }
    const dir = this.host.partitionDir(topic, partition);
    let log: PartitionLog | null = null;
    try {
      // The first lease of a partition has no earlier writer in this cluster to seal.
      const fresh = lease.epoch === 0 && lease.highWatermark === 0;
      if (!fresh) {
        const removed = await removeFencedSegments(dir, await listSegmentFiles(dir));
        if (removed > 0) this.log.warn({ topic, partition, removed }, 'removed segments a fenced writer created');
        await PartitionLog.truncateTo(dir, lease.epochStartOffset, this.log);
      }
      const publisher = new HighWatermarkPublisher(this.store, key, this.nodeId, lease.epoch);
      log = await PartitionLog.open(dir, {
        config: this.host.logConfig(topic),
        leaderEpoch: lease.epoch,
        syncer: this.host.syncer,
        logger: this.log,
        beforeAck: (end) => publisher.publish(end),
        // A paused writer that wakes past its lease must not rewrite partition.json or delete segments.
        checkLease: () => publisher.confirm(),
      });
      if (!fresh && log.logEndOffset !== lease.epochStartOffset) {
        throw new Error(`log end ${log.logEndOffset} is not the sealed end ${lease.epochStartOffset}`);
      }
      if (fresh && log.highWatermark > 0) await publisher.publish(log.highWatermark);
      this.partitions.set(key, { lease, log, publisher });
      this.host.setLog(topic, partition, log);
      this.log.info({ topic, partition, epoch: lease.epoch, startOffset: log.logEndOffset }, 'took partition lease');
    } catch (err) {
      // Could not take the log over cleanly: give the lease back for another attempt.
      if (log !== null) await log.abandon(new LeaseLostError('takeover failed'));
      this.partitions.delete(key);
      await this.store.releaseLease(key, this.nodeId, lease.epoch).catch(() => {});
      throw err;
    }
  }

  /** Graceful: refuse new produces, drain and publish what is in flight, close, release. */
  private async handOver(key: LeaseKey): Promise<void> {
    const held = this.partitions.get(key);
    if (!held) return;
    const tp = parsePartitionLeaseKey(key)!;
    this.host.setLog(tp.topic, tp.partition, null);
    try {
      await held.log.close();
    } catch (err) {
      this.log.warn({ err, key }, 'closing a handed-over log failed');
    }
    this.partitions.delete(key);
    await this.store.releaseLease(key, this.nodeId, held.lease.epoch);
    this.log.info({ topic: tp.topic, partition: tp.partition, epoch: held.lease.epoch }, 'handed partition lease over');
  }

  /** The lease is gone (expired, taken, or its topic deleted): stop writing without touching files. */
  private async lose(key: LeaseKey, release = false): Promise<void> {
    const held = this.partitions.get(key);
    if (!held) return;
    const tp = parsePartitionLeaseKey(key)!;
    this.partitions.delete(key);
    this.host.setLog(tp.topic, tp.partition, null);
    await held.log.abandon(new LeaseLostError(`partition ${tp.topic}-${tp.partition} is no longer led by node ${this.nodeId}`));
    if (release) await this.store.releaseLease(key, this.nodeId, held.lease.epoch).catch(() => {});
    else this.log.warn({ topic: tp.topic, partition: tp.partition, epoch: held.lease.epoch }, 'partition lease lost');
  }

  // ---- groups ------------------------------------------------------------------------------

  private acquireGroup(groupId: string): void {
    const key = groupLeaseKey(groupId);
    if (this.pending.has(key) || this.groups.has(key) || this.stopped) return;
    void this.track(
      key,
      (async () => {
        const t0 = performance.now();
        const lease = await this.store.acquireLease(key, this.nodeId, this.options.leaseTtlMs);
        if (lease === null) return;
        await this.host.groupAcquired(groupId);
        this.validUntil.set(key, t0 + this.options.leaseTtlMs);
        this.groups.set(key, lease);
        this.log.info({ group: groupId, epoch: lease.epoch }, 'took group lease');
      })(),
    );
  }

  private liveIds(): number[] {
    return this.liveBrokers().map((b) => b.nodeId);
  }

  private node(b: BrokerRecord): CoordinatorNode {
    return { nodeId: b.nodeId, host: b.host, port: b.port };
  }
}
