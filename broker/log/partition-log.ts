import { AppendPipeline } from './append-pipeline.js';
import type { LogConfig } from './config.js';
import type { EpochHistory } from './epoch-history.js';
import { LogError } from './errors.js';
import type { FsyncScheduler } from './fsync-scheduler.js';
import { loadLog } from './log-loader.js';
import { activeSegment, type AppendResult, type LogState, sizeBytes, SNAPSHOTS_KEPT } from './log-state.js';
import { silentLogger, type Logger } from './logger.js';
import type { PartitionMetaStore } from './partition-meta.js';
import { pruneProducerSnapshots, writeProducerSnapshot } from './producer-snapshot.js';
import type { ProducerInfo } from './producer-state.js';
import { deleteRecordsBefore, enforceRetention, type RetentionDeps } from './retention.js';
import { SegmentRewrite } from './segment-rewrite.js';
import type { Segment } from './segment.js';
import { truncateLogTo } from './truncate-log.js';

export type { AppendResult } from './log-state.js';

export interface PartitionLogOptions {
  config: LogConfig;
  leaderEpoch: number;
  syncer: FsyncScheduler;
  logger?: Logger;
  /**
   * Cluster writers: runs after a commit is durable and before it is acknowledged or visible
   * (checks the lease and publishes the new high watermark). A rejection fences the log: every
   * pending and later append fails with that error.
   */
  beforeAck?: (endOffset: number) => Promise<void>;
  /**
   * Cluster writers: rejects unless this writer still holds its lease. Checked before the log
   * rewrites partition.json or deletes segments (retention, DeleteRecords), so a writer paused
   * past its lease does not change files that now belong to the next writer.
   */
  checkLease?: () => Promise<void>;
}

/** A sealed segment as seen by compaction. */
export interface SealedSegmentInfo {
  baseOffset: number;
  /** Base offset of the following segment: every offset in this one is below it. */
  nextOffset: number;
  leaderEpoch: number;
  sizeBytes: number;
  maxTimestamp: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * The durable log of one topic-partition: segment files of Kafka v2 batches stored exactly as
 * they will be served. Appends are serialized, grouped and acknowledged after fdatasync
 * (append-pipeline.ts); the high watermark never passes durable data. Retention lives in
 * retention.ts; this class is the facade over the shared state.
 */
export class PartitionLog {
  private readonly s: LogState;
  private readonly pipeline: AppendPipeline;
  private readonly retention: RetentionDeps;
  private readonly metaStore: PartitionMetaStore;
  private readonly epochs: EpochHistory;
  private readonly listeners = new Set<() => void>();
  private readonly checkLease: (() => Promise<void>) | undefined;
  private closing: Promise<void> | null = null;
  private readonly background = new Set<Promise<unknown>>();
  private readonly retiring = new Set<Segment>();

  private constructor(
    readonly dir: string,
    opts: PartitionLogOptions,
    loaded: Awaited<ReturnType<typeof loadLog>>,
  ) {
    this.s = {
      dir,
      config: opts.config,
      logger: opts.logger ?? silentLogger,
      producerState: loaded.producers,
      epoch: opts.leaderEpoch,
      segments: loaded.segments,
      startOffset: loaded.logStartOffset,
      endOffset: loaded.logEndOffset,
      hw: loaded.logEndOffset,
    };
    this.checkLease = opts.checkLease;
    this.metaStore = loaded.metaStore;
    this.epochs = loaded.epochs;
    this.pipeline = new AppendPipeline(this.s, {
      syncer: opts.syncer,
      beforeAck: opts.beforeAck,
      advanced: () => this.notifyAdvance(),
      track: (p) => this.track(p),
    });
    this.retention = {
      checkLease: opts.checkLease,
      saveStart: () => this.saveMeta(undefined, true),
      retire: (doomed) => this.retireAll(doomed),
    };
  }

  static async open(dir: string, opts: PartitionLogOptions): Promise<PartitionLog> {
    const logger = opts.logger ?? silentLogger;
    try {
      return new PartitionLog(dir, opts, await loadLog(dir, opts.leaderEpoch, opts.config, logger));
    } catch (err) {
      logger.error({ dir, err }, 'cannot open partition log');
      throw new LogError('KAFKA_STORAGE_ERROR', `cannot open ${dir}: ${(err as Error).message}`);
    }
  }

  get logStartOffset(): number {
    return this.s.startOffset;
  }
  /** Next offset to assign (includes data not yet durable). */
  get logEndOffset(): number {
    return this.s.endOffset;
  }
  /** End of the durable data. */
  get highWatermark(): number {
    return this.s.hw;
  }
  get leaderEpoch(): number {
    return this.s.epoch;
  }
  /** Last stable offset: the high watermark held back by the earliest open transaction. */
  get lastStableOffset(): number {
    const first = this.s.producerState.firstUnstableOffset();
    return first === null ? this.s.hw : Math.min(first, this.s.hw);
  }

  /** A new epoch makes the next append start a new segment named for it. */
  setLeaderEpoch(epoch: number): Promise<void> {
    return this.pipeline.runTask(async () => {
      if (epoch < this.s.epoch) throw new Error(`leader epoch ${epoch} is older than ${this.s.epoch}`);
      this.s.epoch = epoch;
      if (this.epochs.assign(epoch, this.s.endOffset)) await this.saveMeta();
    });
  }

  updateConfig(config: LogConfig): void {
    this.s.config = config;
    for (const s of this.s.segments) s.indexIntervalHint = config.indexIntervalBytes;
  }

  /**
   * Appends validated v2 batches (back to back). Offsets and leader epoch are patched in place;
   * resolves once the data is fsync'd and the high watermark covers it.
   */
  append(batches: Buffer, opts?: { now?: number }): Promise<AppendResult> {
    const failure = this.pipeline.failure;
    if (failure !== null) return Promise.reject(failure);
    if (this.closing !== null) return Promise.reject(new LogError('KAFKA_STORAGE_ERROR', `log ${this.dir} is closed`));
    return this.pipeline.append(batches, opts?.now ?? Date.now());
  }

  /**
   * Whole batches from the one containing `offset`, up to `maxBytes` (at least one batch if
   * `minOneBatch`), never including offsets at or past `upTo` (default: high watermark).
   * `alloc` supplies read buffers (a pool); the result may be a view of one of them.
   */
  async read(offset: number, maxBytes: number, opts?: { minOneBatch?: boolean; upTo?: number; alloc?: (n: number) => Buffer }): Promise<Buffer> {
    const upTo = opts?.upTo ?? this.s.hw;
    if (offset < this.s.startOffset || offset > this.s.endOffset) {
      throw new LogError('OFFSET_OUT_OF_RANGE', `offset ${offset} is outside [${this.s.startOffset}, ${this.s.endOffset}]`);
    }
    if (offset >= upTo) return EMPTY;
    const segs = this.s.segments.slice(this.segmentIndexFor(offset));
    for (const s of segs) s.acquire();
    try {
      const parts: Buffer[] = [];
      let total = 0;
      for (let i = 0; i < segs.length; i++) {
        const seg = segs[i]!;
        // Only the first segment needs a lookup; gaps left by compaction fall through to the next.
        const pos = i === 0 ? await seg.locate(offset) : 0;
        if (pos === null) continue;
        // A segment never serves offsets its successor starts at: bytes a fenced writer added
        // to a sealed segment after takeover stay invisible.
        const next = segs[i + 1];
        const bound = next !== undefined ? Math.min(upTo, next.baseOffset) : upTo;
        const r = await seg.readFrom(pos, maxBytes - total, bound, opts?.minOneBatch === true && total === 0, opts?.alloc);
        if (r.data.length > 0) {
          parts.push(r.data);
          total += r.data.length;
        }
        if ((r.reachedUpTo && bound === upTo) || (!r.exhausted && !r.reachedUpTo) || total >= maxBytes) break;
      }
      return parts.length === 1 ? parts[0]! : parts.length === 0 ? EMPTY : Buffer.concat(parts, total);
    } finally {
      for (const s of segs) s.release();
    }
  }

  /** First batch (below the high watermark) whose maxTimestamp >= ts; batch granularity. */
  async offsetForTimestamp(ts: number): Promise<{ offset: number; timestamp: number } | null> {
    const segs = this.s.segments.slice();
    for (const s of segs) s.acquire();
    try {
      for (const seg of segs) {
        if (seg.maxTimestamp < ts) continue;
        const hit = await seg.findTimestamp(ts);
        if (hit === null) continue;
        if (hit.offset >= this.s.hw) return null;
        return { offset: Math.max(hit.offset, this.s.startOffset), timestamp: hit.timestamp };
      }
      return null;
    } finally {
      for (const s of segs) s.release();
    }
  }

  /** Base offset and timestamp of the batch holding the largest timestamp; (-1, -1) if empty. */
  async maxTimestamp(): Promise<{ offset: number; timestamp: number }> {
    let best = { offset: -1, timestamp: -1 };
    for (const s of this.s.segments) {
      if (s.maxTimestamp > best.timestamp) best = { offset: s.offsetOfMaxTimestamp, timestamp: s.maxTimestamp };
    }
    return best;
  }

  /** Kafka's OffsetForLeaderEpoch: the largest epoch <= `epoch` and where it ends. */
  endOffsetForEpoch(epoch: number): { leaderEpoch: number; endOffset: number } {
    return this.epochs.endOffsetFor(epoch, this.s.endOffset);
  }

  /** DeleteRecords: moves the log start (at most to the high watermark); returns the new start. */
  deleteRecordsBefore(offset: number): Promise<number> {
    return deleteRecordsBefore(this.s, offset, this.retention);
  }

  /** Deletes whole sealed segments past retention.ms or retention.bytes; returns bytes freed. */
  enforceRetention(now: number): Promise<number> {
    return enforceRetention(this.s, now, this.retention);
  }

  producers(): ProducerInfo[] {
    return this.s.producerState.list();
  }

  /** Bytes in all segments (including appends not yet durable). */
  sizeBytes(): number {
    return sizeBytes(this.s);
  }

  segmentCount(): number {
    return this.s.segments.length;
  }

  /** Sealed segments, oldest first, for compaction. */
  sealedSegments(): SealedSegmentInfo[] {
    return this.s.segments.slice(0, -1).map((s, i) => ({
      baseOffset: s.baseOffset,
      nextOffset: this.s.segments[i + 1]!.baseOffset,
      leaderEpoch: s.epoch,
      sizeBytes: s.size,
      maxTimestamp: s.maxTimestamp,
    }));
  }

  /** Calls `visit` with every stored batch of a sealed segment (views into a read buffer). */
  async readSealedSegment(baseOffset: number, visit: (batch: Buffer, baseOffset: number, lastOffset: number) => void): Promise<void> {
    const seg = this.sealedSegment(baseOffset);
    seg.acquire();
    try {
      await seg.forEachBatch(visit);
    } finally {
      seg.release();
    }
  }

  /**
   * Starts rewriting a contiguous run of sealed segments (compaction). The rewrite writes
   * `.cleaned` files and its commit swaps them in atomically (crash-safe via `.swap`).
   */
  rewriteSegments(baseOffsets: number[]): SegmentRewrite {
    const run = baseOffsets.map((b) => this.sealedSegment(b));
    const first = this.s.segments.indexOf(run[0]!);
    run.forEach((s, i) => {
      if (this.s.segments[first + i] !== s) throw new Error('segments to rewrite must be contiguous and in order');
    });
    const endOffset = this.s.segments[first + run.length]!.baseOffset;
    return new SegmentRewrite(this.s.dir, run, endOffset, this.s.config.indexIntervalBytes, (old, fresh) => this.swapSegments(old, fresh));
  }

  /** Waits until everything appended so far is durable and writes the active indexes. */
  flush(): Promise<void> {
    return this.pipeline.runTask(async () => {
      await this.pipeline.settled();
      await activeSegment(this.s).writeIndexes();
    });
  }

  /** Graceful close: drains appends, persists indexes, producer state and a clean-shutdown mark. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.pipeline.runTask(() => this.pipeline.settled()).catch(() => {});
      await Promise.allSettled([...this.background]);
      const active = activeSegment(this.s);
      if (this.pipeline.failure === null && (await this.stillLeads())) {
        await active.writeIndexes();
        await writeProducerSnapshot(this.s.dir, this.s.endOffset, this.s.producerState.toJSON(), this.s.epoch);
        await pruneProducerSnapshots(this.s.dir, SNAPSHOTS_KEPT);
        await this.saveMeta({ activeBaseOffset: active.baseOffset, activeSize: active.size }, true);
      }
      for (const s of this.retiring) s.expedite();
      await Promise.allSettled([...this.retiring].map((s) => s.removed));
      await Promise.all(this.s.segments.map((s) => s.closeHandle()));
      this.listeners.clear();
    })();
    return this.closing;
  }

  /** For close(): a writer whose lease is gone closes like abandon(), writing nothing. */
  private async stillLeads(): Promise<boolean> {
    try {
      await this.checkLease?.();
      return true;
    } catch (err) {
      this.s.logger.warn({ dir: this.s.dir, err }, 'lease lost before close: no clean-shutdown mark written');
      return false;
    }
  }

  /**
   * Closes without writing anything (no indexes, snapshot, or metadata): for a writer that lost
   * its lease, whose files now belong to the next writer. Pending appends fail with `reason`.
   */
  abandon(reason: Error): Promise<void> {
    this.pipeline.fence(reason);
    this.closing ??= (async () => {
      await this.pipeline.abandon(reason);
      await Promise.allSettled([...this.background]);
      await Promise.all(this.s.segments.map((s) => s.closeHandle()));
      this.listeners.clear();
    })();
    return this.closing;
  }

  /**
   * Cuts the log in `dir` (not open) back to `endOffset`: drops every batch at or past it, and
   * segments starting past it, so the next open sees exactly the offsets below `endOffset`.
   * Used at takeover to seal the previous writer's epoch at its last acknowledged offset.
   * Returns the bytes dropped.
   */
  static truncateTo(dir: string, endOffset: number, logger: Logger = silentLogger): Promise<number> {
    return truncateLogTo(dir, endOffset, logger);
  }

  /** Called whenever the high watermark advances; returns an unsubscribe function. */
  onAdvance(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private notifyAdvance(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch (err) {
        this.s.logger.warn({ err }, 'high watermark listener threw');
      }
    }
  }

  // ---- helpers ----------------------------------------------------------------------------

  private sealedSegment(baseOffset: number): Segment {
    const seg = this.s.segments.find((s) => s.baseOffset === baseOffset);
    if (seg === undefined || seg === activeSegment(this.s)) throw new Error(`no sealed segment at ${baseOffset}`);
    return seg;
  }

  /** Index of the last segment whose base offset is <= offset (0 if none). */
  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.s.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.s.segments[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** Writes partition.json; `checked`: the caller has just confirmed the lease itself. */
  private async saveMeta(cleanShutdown?: { activeBaseOffset: number; activeSize: number }, checked = false): Promise<void> {
    if (!checked) await this.checkLease?.();
    return this.metaStore.save({ version: 1, logStartOffset: this.s.startOffset, epochs: this.epochs.toJSON(), ...(cleanShutdown ? { cleanShutdown } : {}) });
  }

  private async retireAll(doomed: Segment[]): Promise<void> {
    for (const s of doomed) {
      this.retiring.add(s);
      await s.retire(this.s.config.fileDeleteDelayMs);
      s.removed?.then(
        () => this.retiring.delete(s),
        (err: Error) => this.s.logger.warn({ dir: this.s.dir, err }, 'could not delete a segment'),
      );
    }
  }

  /** Runs off the append path; failures only cost rebuild work on the next open. */
  private track(p: Promise<unknown>): void {
    const t = p.catch((err: Error) => this.s.logger.warn({ dir: this.s.dir, err }, 'background write failed'));
    this.background.add(t);
    void t.finally(() => this.background.delete(t));
  }

  /** Compaction commit: replaces `old` (still contiguous) with `fresh` in one synchronous step. */
  private async swapSegments(old: Segment[], fresh: Segment[]): Promise<void> {
    // Old handles must be open before their files are renamed away.
    for (const s of old) await s.handle();
    const at = this.s.segments.indexOf(old[0]!);
    if (at < 0 || old.some((s, i) => this.s.segments[at + i] !== s) || at + old.length >= this.s.segments.length) {
      throw new Error('segments changed while being rewritten');
    }
    this.s.segments.splice(at, old.length, ...fresh);
    await this.retireAll(old);
  }
}
