import { open, readdir, truncate, unlink } from 'node:fs/promises';
import { crc32c } from '@node-rs/crc32';
import {
  ATTRIBUTES,
  BASE_OFFSET,
  CRC,
  CRC_START,
  HEADER_SIZE,
  MAX_TIMESTAMP,
  PARTITION_LEADER_EPOCH,
  TIMESTAMP_TYPE_BIT,
} from '../protocol/records/batch-header.js';
import { BatchCursor } from '../protocol/records/batch-iterator.js';
import { fsyncDir } from './atomic-file.js';
import { scanBatches } from './batch-scan.js';
import type { LogConfig } from './config.js';
import type { EpochHistory } from './epoch-history.js';
import { LogError } from './errors.js';
import { writeFully, writeInt64 } from './file-io.js';
import type { FsyncScheduler } from './fsync-scheduler.js';
import { loadLog } from './log-loader.js';
import { silentLogger, type Logger } from './logger.js';
import type { PartitionMetaStore } from './partition-meta.js';
import { pruneProducerSnapshots, writeProducerSnapshot } from './producer-snapshot.js';
import type { ProducerBatch, ProducerInfo, ProducerStateManager } from './producer-state.js';
import { parseSegmentFile, segmentPath, type ParsedSegmentFile } from './segment-files.js';
import { SegmentRewrite } from './segment-rewrite.js';
import { Segment } from './segment.js';

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** -1 unless the topic uses LogAppendTime. */
  logAppendTime: number;
  logStartOffset: number;
  duplicate: boolean;
}

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

interface ParsedBatch extends ProducerBatch {
  pos: number;
  size: number;
}

interface AppendItem {
  kind: 'append';
  data: Buffer;
  now: number;
  resolve: (r: AppendResult) => void;
  reject: (e: Error) => void;
}

interface TaskItem {
  kind: 'task';
  run: () => Promise<void>;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** Appends written together and made durable by one sync. */
interface Commit {
  endOffset: number;
  done: boolean;
  waiters: Array<{ item: AppendItem; result: AppendResult }>;
  durable: Promise<void>;
  settle: (err?: Error) => void;
}

const EMPTY = Buffer.alloc(0);
/** The append path's walk (synchronous, so one cursor serves every log). */
const appendWalk = new BatchCursor();
const MAX_SEGMENT_BYTES = 0x7fffffff; // index positions are int32
const SNAPSHOTS_KEPT = 3;
const DEFAULT_PRODUCER_EXPIRATION_MS = 86400000;

/**
 * The durable log of one topic-partition: segment files of Kafka v2 batches stored exactly as
 * they will be served. Appends are serialized, grouped and acknowledged after fdatasync; the
 * high watermark never passes durable data.
 */
export class PartitionLog {
  private config: LogConfig;
  private readonly syncer: FsyncScheduler;
  private readonly logger: Logger;
  private readonly metaStore: PartitionMetaStore;
  private readonly producerState: ProducerStateManager;
  private readonly epochs: EpochHistory;
  private segments: Segment[];
  private startOffset: number;
  private endOffset: number;
  private hw: number;
  private epoch: number;
  private queue: Array<AppendItem | TaskItem> = [];
  private draining = false;
  /** The running drain loop: abandon() waits for it before closing the files it writes. */
  private drained: Promise<void> = Promise.resolve();
  private commits: Commit[] = [];
  private readonly listeners = new Set<() => void>();
  private failure: Error | null = null;
  private readonly beforeAck: ((endOffset: number) => Promise<void>) | undefined;
  private readonly checkLease: (() => Promise<void>) | undefined;
  private closing: Promise<void> | null = null;
  private readonly background = new Set<Promise<unknown>>();
  private readonly retiring = new Set<Segment>();

  private constructor(
    readonly dir: string,
    opts: PartitionLogOptions,
    loaded: Awaited<ReturnType<typeof loadLog>>,
  ) {
    this.config = opts.config;
    this.syncer = opts.syncer;
    this.logger = opts.logger ?? silentLogger;
    this.epoch = opts.leaderEpoch;
    this.beforeAck = opts.beforeAck;
    this.checkLease = opts.checkLease;
    this.metaStore = loaded.metaStore;
    this.producerState = loaded.producers;
    this.epochs = loaded.epochs;
    this.segments = loaded.segments;
    this.startOffset = loaded.logStartOffset;
    this.endOffset = loaded.logEndOffset;
    this.hw = loaded.logEndOffset;
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
    return this.startOffset;
  }
  /** Next offset to assign (includes data not yet durable). */
  get logEndOffset(): number {
    return this.endOffset;
  }
  /** End of the durable data. */
  get highWatermark(): number {
    return this.hw;
  }
  get leaderEpoch(): number {
    return this.epoch;
  }
  /** Last stable offset: the high watermark held back by the earliest open transaction. */
  get lastStableOffset(): number {
    const first = this.producerState.firstUnstableOffset();
    return first === null ? this.hw : Math.min(first, this.hw);
  }

  /** A new epoch makes the next append start a new segment named for it. */
  setLeaderEpoch(epoch: number): Promise<void> {
    return this.runTask(async () => {
      if (epoch < this.epoch) throw new Error(`leader epoch ${epoch} is older than ${this.epoch}`);
      this.epoch = epoch;
      if (this.epochs.assign(epoch, this.endOffset)) await this.saveMeta();
    });
  }

  updateConfig(config: LogConfig): void {
    this.config = config;
    for (const s of this.segments) s.indexIntervalHint = config.indexIntervalBytes;
  }

  /**
   * Appends validated v2 batches (back to back). Offsets and leader epoch are patched in place;
   * resolves once the data is fsync'd and the high watermark covers it.
   */
  append(batches: Buffer, opts?: { now?: number }): Promise<AppendResult> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closing !== null) return Promise.reject(new LogError('KAFKA_STORAGE_ERROR', `log ${this.dir} is closed`));
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ kind: 'append', data: batches, now: opts?.now ?? Date.now(), resolve, reject });
      this.kick();
    });
  }

  /**
   * Whole batches from the one containing `offset`, up to `maxBytes` (at least one batch if
   * `minOneBatch`), never including offsets at or past `upTo` (default: high watermark).
   * `alloc` supplies read buffers (a pool); the result may be a view of one of them.
   */
  async read(offset: number, maxBytes: number, opts?: { minOneBatch?: boolean; upTo?: number; alloc?: (n: number) => Buffer }): Promise<Buffer> {
    const upTo = opts?.upTo ?? this.hw;
    if (offset < this.startOffset || offset > this.endOffset) {
      throw new LogError('OFFSET_OUT_OF_RANGE', `offset ${offset} is outside [${this.startOffset}, ${this.endOffset}]`);
    }
    if (offset >= upTo) return EMPTY;
    const segs = this.segments.slice(this.segmentIndexFor(offset));
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
    const segs = this.segments.slice();
    for (const s of segs) s.acquire();
    try {
      for (const seg of segs) {
        if (seg.maxTimestamp < ts) continue;
        const hit = await seg.findTimestamp(ts);
        if (hit === null) continue;
        if (hit.offset >= this.hw) return null;
        return { offset: Math.max(hit.offset, this.startOffset), timestamp: hit.timestamp };
      }
      return null;
    } finally {
      for (const s of segs) s.release();
    }
  }

  /** Base offset and timestamp of the batch holding the largest timestamp; (-1, -1) if empty. */
  async maxTimestamp(): Promise<{ offset: number; timestamp: number }> {
    let best = { offset: -1, timestamp: -1 };
    for (const s of this.segments) {
      if (s.maxTimestamp > best.timestamp) best = { offset: s.offsetOfMaxTimestamp, timestamp: s.maxTimestamp };
    }
    return best;
  }

  /** Kafka's OffsetForLeaderEpoch: the largest epoch <= `epoch` and where it ends. */
  endOffsetForEpoch(epoch: number): { leaderEpoch: number; endOffset: number } {
    return this.epochs.endOffsetFor(epoch, this.endOffset);
  }

  /** DeleteRecords: moves the log start (at most to the high watermark); returns the new start. */
  async deleteRecordsBefore(offset: number): Promise<number> {
    if (offset < 0 || offset > this.hw) {
      throw new LogError('OFFSET_OUT_OF_RANGE', `cannot delete before ${offset}: high watermark is ${this.hw}`);
    }
    if (offset <= this.startOffset) return this.startOffset;
    await this.checkLease?.();
    this.startOffset = offset;
    await this.saveMeta(undefined, true);
    const doomed: Segment[] = [];
    while (this.segments.length > 1 && this.segments[1]!.baseOffset <= offset) doomed.push(this.segments.shift()!);
    await this.retireAll(doomed);
    return this.startOffset;
  }

  /** Deletes whole sealed segments past retention.ms or retention.bytes; returns bytes freed. */
  async enforceRetention(now: number): Promise<number> {
    this.producerState.expire(now, this.config.producerIdExpirationMs ?? DEFAULT_PRODUCER_EXPIRATION_MS);
    if (this.retentionCount(now) === 0) return 0;
    await this.checkLease?.();
    // Counted again: appends or compaction may have changed the segments during the check.
    const count = this.retentionCount(now);
    if (count === 0) return 0;
    const doomed = this.segments.splice(0, count);
    this.startOffset = Math.max(this.startOffset, this.segments[0]!.baseOffset);
    await this.saveMeta(undefined, true);
    await this.retireAll(doomed);
    const freed = doomed.reduce((n, s) => n + s.size, 0);
    this.logger.info({ dir: this.dir, segments: count, bytes: freed, logStartOffset: this.startOffset }, 'retention deleted segments');
    return freed;
  }

  /** How many leading sealed segments are past retention.ms or retention.bytes. */
  private retentionCount(now: number): number {
    const { retentionMs, retentionBytes } = this.config;
    let count = 0;
    let excess = retentionBytes >= 0 ? this.sizeBytes() - retentionBytes : 0;
    // Never the active segment, and never past the high watermark.
    while (count < this.segments.length - 1 && this.segments[count + 1]!.baseOffset <= this.hw) {
      const seg = this.segments[count]!;
      const newest = seg.maxTimestamp >= 0 ? seg.maxTimestamp : seg.lastModifiedMs;
      const expired = retentionMs >= 0 && now - newest > retentionMs;
      const oversize = retentionBytes >= 0 && excess - seg.size >= 0;
      if (!expired && !oversize) break;
      excess -= seg.size;
      count++;
    }
    return count;
  }

  producers(): ProducerInfo[] {
    return this.producerState.list();
  }

  /** Bytes in all segments (including appends not yet durable). */
  sizeBytes(): number {
    return this.segments.reduce((n, s) => n + s.size, 0);
  }

  segmentCount(): number {
    return this.segments.length;
  }

  /** Sealed segments, oldest first, for compaction. */
  sealedSegments(): SealedSegmentInfo[] {
    return this.segments.slice(0, -1).map((s, i) => ({
      baseOffset: s.baseOffset,
      nextOffset: this.segments[i + 1]!.baseOffset,
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
    const first = this.segments.indexOf(run[0]!);
    run.forEach((s, i) => {
      if (this.segments[first + i] !== s) throw new Error('segments to rewrite must be contiguous and in order');
    });
    const endOffset = this.segments[first + run.length]!.baseOffset;
    return new SegmentRewrite(this.dir, run, endOffset, this.config.indexIntervalBytes, (old, fresh) => this.swapSegments(old, fresh));
  }

  /** Waits until everything appended so far is durable and writes the active indexes. */
  flush(): Promise<void> {
    return this.runTask(async () => {
      await this.settled();
      await this.activeSegment().writeIndexes();
    });
  }

  /** Graceful close: drains appends, persists indexes, producer state and a clean-shutdown mark. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.runTask(() => this.settled()).catch(() => {});
      await Promise.allSettled([...this.background]);
      const active = this.activeSegment();
      if (this.failure === null && (await this.stillLeads())) {
        await active.writeIndexes();
        await writeProducerSnapshot(this.dir, this.endOffset, this.producerState.toJSON(), this.epoch);
        await pruneProducerSnapshots(this.dir, SNAPSHOTS_KEPT);
        await this.saveMeta({ activeBaseOffset: active.baseOffset, activeSize: active.size }, true);
      }
      for (const s of this.retiring) s.expedite();
      await Promise.allSettled([...this.retiring].map((s) => s.removed));
      await Promise.all(this.segments.map((s) => s.closeHandle()));
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
      this.logger.warn({ dir: this.dir, err }, 'lease lost before close: no clean-shutdown mark written');
      return false;
    }
  }

  /**
   * Closes without writing anything (no indexes, snapshot, or metadata): for a writer that lost
   * its lease, whose files now belong to the next writer. Pending appends fail with `reason`.
   */
  abandon(reason: Error): Promise<void> {
    if (this.failure === null) this.failure = reason;
    this.closing ??= (async () => {
      for (const item of this.queue.splice(0)) item.reject(reason);
      for (const c of this.commits) {
        for (const w of c.waiters) w.item.reject(reason);
        c.settle(reason);
      }
      this.commits = [];
      // A write in flight still uses the handles.
      await this.drained.catch(() => {});
      await Promise.allSettled([...this.background]);
      await Promise.all(this.segments.map((s) => s.closeHandle()));
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
  static async truncateTo(dir: string, endOffset: number, logger: Logger = silentLogger): Promise<number> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    const files = names
      .map(parseSegmentFile)
      .filter((f): f is ParsedSegmentFile => f !== null && f.kind === 'log' && f.suffix === '')
      .sort((a, b) => a.baseOffset - b.baseOffset || a.epoch - b.epoch);
    let dropped = 0;
    const remove = async (f: ParsedSegmentFile): Promise<void> => {
      for (const kind of ['log', 'index', 'timeindex'] as const) await unlink(segmentPath(dir, f.baseOffset, f.epoch, kind)).catch(() => {});
    };
    // Whole segments past the end go; the first one is kept (emptied) so the log keeps its start.
    while (files.length > 1 && files[files.length - 1]!.baseOffset >= endOffset) {
      const f = files.pop()!;
      dropped += (await open(segmentPath(dir, f.baseOffset, f.epoch, 'log'), 'r').then(async (fh) => {
        try {
          return (await fh.stat()).size;
        } finally {
          await fh.close();
        }
      }).catch(() => 0));
      await remove(f);
    }
    const last = files[files.length - 1];
    if (last !== undefined) {
      const path = segmentPath(dir, last.baseOffset, last.epoch, 'log');
      const fh = await open(path, 'r+');
      try {
        const size = (await fh.stat()).size;
        let cut = size;
        if (last.baseOffset >= endOffset) cut = 0;
        else {
          const res = await scanBatches(fh, 0, size, {}, (h, position) => {
            if (h.baseOffset >= endOffset) {
              cut = position;
              return false;
            }
            return true;
          });
          if (res.stop !== 'stopped') cut = res.end;
        }
        if (cut < size) {
          await fh.truncate(cut);
          await fh.datasync();
          dropped += size - cut;
          // Indexes may point past the cut; they are rebuilt on open.
          for (const kind of ['index', 'timeindex'] as const) await truncate(segmentPath(dir, last.baseOffset, last.epoch, kind), 0).catch(() => {});
        }
      } finally {
        await fh.close();
      }
    }
    await fsyncDir(dir);
    if (dropped > 0) logger.warn({ dir, endOffset, dropped }, 'truncated the log to the sealed end of the previous epoch');
    return dropped;
  }

  /** Called whenever the high watermark advances; returns an unsubscribe function. */
  onAdvance(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  // ---- write path -------------------------------------------------------------------------

  private kick(): void {
    if (this.draining) return;
    this.draining = true;
    this.drained = this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0]!;
        if (head.kind === 'task') {
          this.queue.shift();
          try {
            await head.run();
            head.resolve();
          } catch (err) {
            head.reject(err as Error);
          }
          continue;
        }
        let n = 0;
        while (n < this.queue.length && this.queue[n]!.kind === 'append') n++;
        const group = this.queue.splice(0, n) as AppendItem[];
        try {
          await this.writeGroup(group);
        } catch (err) {
          // E.g. the files were closed under it (abandon): fail the log, never the process.
          this.fail(err as Error);
          for (const it of group) it.reject(this.failure!);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Runs `run` after every earlier queued append has been written, before later ones. */
  private runTask(run: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'task', run, resolve, reject });
      this.kick();
    });
  }

  /** Writes a group of appends with one gather write and requests one sync for them. */
  private async writeGroup(items: AppendItem[]): Promise<void> {
    if (this.failure !== null) {
      for (const it of items) it.reject(this.failure);
      return;
    }
    const waiters: Commit['waiters'] = [];
    let seg = this.activeSegment();
    let bufs: Buffer[] = [];
    let bufStart = seg.size;
    let wrote = false;
    try {
      for (const item of items) {
        let batches: ParsedBatch[];
        let dup: { firstOffset: number; lastOffset: number } | null;
        try {
          batches = this.parseAppend(item.data);
          if (this.mustRoll(seg, item, batches)) {
            if (bufs.length > 0) {
              await writeFully(seg.writeHandle, bufs, bufStart);
              seg.writtenSize = seg.size;
              bufs = [];
            }
            await this.roll(item.now);
            seg = this.activeSegment();
            bufStart = seg.size;
            wrote = false;
          }
          dup = this.producerState.check(batches);
        } catch (err) {
          if (!(err instanceof LogError)) throw err;
          item.reject(err);
          continue;
        }
        if (dup !== null) {
          const result = { baseOffset: dup.firstOffset, lastOffset: dup.lastOffset, logAppendTime: -1, logStartOffset: this.startOffset, duplicate: true };
          waiters.push({ item, result });
          continue;
        }
        const baseOffset = this.endOffset;
        const logAppendTime = this.assign(item.data, batches, seg, item.now);
        bufs.push(item.data);
        wrote = true;
        const result = { baseOffset, lastOffset: this.endOffset - 1, logAppendTime, logStartOffset: this.startOffset, duplicate: false };
        waiters.push({ item, result });
      }
      if (bufs.length > 0) {
        await writeFully(seg.writeHandle, bufs, bufStart);
        seg.writtenSize = seg.size;
      }
    } catch (err) {
      this.fail(err as Error);
      for (const it of items) it.reject(this.failure!);
      return;
    }
    // Abandoned (lease lost) while writing: nothing written now may be acknowledged.
    if (this.failure !== null) {
      for (const it of items) it.reject(this.failure);
      return;
    }
    if (waiters.length === 0) return;
    const commit = this.newCommit(waiters);
    this.commits.push(commit);
    const sync = wrote ? this.syncer.sync(seg.writeHandle) : Promise.resolve();
    const gate = this.beforeAck;
    sync.then(
      () => {
        if (gate === undefined) {
          commit.done = true;
          this.advance();
          return;
        }
        gate(commit.endOffset).then(
          () => {
            commit.done = true;
            this.advance();
          },
          (err: Error) => this.fail(err, true),
        );
      },
      (err: Error) => this.fail(err),
    );
  }

  private newCommit(waiters: Commit['waiters']): Commit {
    let settle!: (err?: Error) => void;
    const durable = new Promise<void>((resolve, reject) => {
      settle = (err) => (err === undefined ? resolve() : reject(err));
    });
    durable.catch(() => {});
    return { endOffset: this.endOffset, done: false, waiters, durable, settle };
  }

  /** Resolves, in order, every commit whose sync finished and moves the high watermark. */
  private advance(): void {
    let moved = false;
    while (this.commits.length > 0 && this.commits[0]!.done) {
      const c = this.commits.shift()!;
      if (c.endOffset > this.hw) {
        this.hw = c.endOffset;
        moved = true;
      }
      for (const w of c.waiters) {
        w.result.logStartOffset = this.startOffset;
        w.item.resolve(w.result);
      }
      c.settle();
    }
    if (!moved) return;
    for (const l of this.listeners) {
      try {
        l();
      } catch (err) {
        this.logger.warn({ err }, 'high watermark listener threw');
      }
    }
  }

  /**
   * A failed write or sync leaves memory and disk out of step: the log goes offline. `fenced`:
   * the commit gate refused (the writer lost its lease); its error is passed on as is.
   */
  private fail(err: Error, fenced = false): void {
    if (this.failure === null) {
      this.failure = fenced ? err : new LogError('KAFKA_STORAGE_ERROR', `log ${this.dir} failed: ${err.message}`);
      if (fenced) this.logger.warn({ dir: this.dir, err: err.message }, 'partition log fenced; it accepts no more appends');
      else this.logger.error({ dir: this.dir, err }, 'partition log failed; it accepts no more appends');
    }
    for (const c of this.commits) {
      for (const w of c.waiters) w.item.reject(this.failure);
      c.settle(this.failure);
    }
    this.commits = [];
  }

  /** Resolves when every commit so far is durable (or the log failed). */
  private async settled(): Promise<void> {
    const last = this.commits[this.commits.length - 1];
    if (last !== undefined) await last.durable.catch(() => {});
  }

  /** Splits an append into batches with the sanity checks the write path relies on. */
  private parseAppend(data: Buffer): ParsedBatch[] {
    const out: ParsedBatch[] = [];
    if (data.length === 0) throw new LogError('CORRUPT_MESSAGE', 'empty append');
    const c = appendWalk.reset(data);
    while (c.next()) {
      const pos = c.position;
      const size = c.size;
      if (c.magic !== 2) throw new LogError('CORRUPT_MESSAGE', `unsupported magic at byte ${pos}`);
      if (size > this.config.maxMessageBytes) {
        throw new LogError('MESSAGE_TOO_LARGE', `batch of ${size} bytes exceeds max.message.bytes ${this.config.maxMessageBytes}`);
      }
      const lastOffsetDelta = c.lastOffsetDelta;
      if (lastOffsetDelta < 0) throw new LogError('CORRUPT_MESSAGE', `negative lastOffsetDelta at byte ${pos}`);
      out.push({
        pos,
        size,
        lastOffsetDelta,
        attributes: c.attributes,
        maxTimestamp: c.maxTimestamp,
        producerId: c.producerId,
        producerEpoch: c.producerEpoch,
        baseSequence: c.baseSequence,
      });
    }
    if (c.stop !== 'end') {
      const pos = c.position;
      if (c.available < HEADER_SIZE) throw new LogError('CORRUPT_MESSAGE', `truncated batch header at byte ${pos}`);
      throw new LogError('CORRUPT_MESSAGE', `bad batch length at byte ${pos}`);
    }
    c.reset(EMPTY);
    if (data.length > Math.min(this.config.segmentBytes, MAX_SEGMENT_BYTES)) {
      throw new LogError('MESSAGE_TOO_LARGE', `append of ${data.length} bytes exceeds segment.bytes ${this.config.segmentBytes}`);
    }
    return out;
  }

  private mustRoll(seg: Segment, item: AppendItem, batches: ParsedBatch[]): boolean {
    if (seg.epoch !== this.epoch) return true;
    if (seg.size === 0) return false;
    if (seg.size + item.data.length > Math.min(this.config.segmentBytes, MAX_SEGMENT_BYTES)) return true;
    // As Kafka: compare batch time with the segment's first batch, else wall time with creation.
    const ts = this.config.timestampType === 'LogAppendTime' ? item.now : Math.max(...batches.map((b) => b.maxTimestamp));
    const waited = seg.firstBatchTimestamp >= 0 && ts >= 0 ? ts - seg.firstBatchTimestamp : item.now - seg.createdMs;
    return waited >= this.config.segmentMs;
  }

  /** Patches offsets, epoch (and LogAppendTime) into the batches and records them in memory. */
  private assign(data: Buffer, batches: ParsedBatch[], seg: Segment, now: number): number {
    const logAppendTime = this.config.timestampType === 'LogAppendTime';
    let offset = this.endOffset;
    let position = seg.size;
    for (const b of batches) {
      writeInt64(data, b.pos + BASE_OFFSET, offset);
      data.writeInt32BE(this.epoch, b.pos + PARTITION_LEADER_EPOCH);
      if (logAppendTime) {
        b.attributes |= TIMESTAMP_TYPE_BIT;
        b.maxTimestamp = now;
        data.writeInt16BE(b.attributes, b.pos + ATTRIBUTES);
        writeInt64(data, b.pos + MAX_TIMESTAMP, now);
        data.writeUInt32BE(crc32c(data.subarray(b.pos + CRC_START, b.pos + b.size)), b.pos + CRC);
      }
      seg.onAppend(offset, offset + b.lastOffsetDelta, b.maxTimestamp, position, b.size, this.config.indexIntervalBytes);
      this.producerState.apply(b, offset);
      offset += b.lastOffsetDelta + 1;
      position += b.size;
    }
    seg.size = position;
    this.endOffset = offset;
    return logAppendTime ? now : -1;
  }

  /**
   * Seals the active segment and starts a new one at the log end. The old segment is synced
   * first, so only the last segment can ever hold non-durable bytes (what recovery relies on).
   */
  private async roll(now: number): Promise<void> {
    const old = this.activeSegment();
    if (old.size === 0) {
      // Nothing was written under the old name: replace the empty file instead of keeping it.
      this.segments.pop();
      await old.closeHandle();
      await unlink(old.logPath);
    } else {
      await this.syncer.sync(old.writeHandle);
      old.seal();
      this.track(old.writeIndexes());
    }
    const seg = await Segment.create(this.dir, this.endOffset, this.epoch, now);
    seg.indexIntervalHint = this.config.indexIntervalBytes;
    await fsyncDir(this.dir);
    this.segments.push(seg);
    if (old.size > 0) {
      this.track(writeProducerSnapshot(this.dir, this.endOffset, this.producerState.toJSON(), this.epoch).then(() => pruneProducerSnapshots(this.dir, SNAPSHOTS_KEPT)));
    }
    this.logger.debug({ dir: this.dir, baseOffset: this.endOffset, epoch: this.epoch }, 'rolled segment');
  }

  // ---- helpers ----------------------------------------------------------------------------

  private activeSegment(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  private sealedSegment(baseOffset: number): Segment {
    const seg = this.segments.find((s) => s.baseOffset === baseOffset);
    if (seg === undefined || seg === this.activeSegment()) throw new Error(`no sealed segment at ${baseOffset}`);
    return seg;
  }

  /** Index of the last segment whose base offset is <= offset (0 if none). */
  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) {
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
    return this.metaStore.save({ version: 1, logStartOffset: this.startOffset, epochs: this.epochs.toJSON(), ...(cleanShutdown ? { cleanShutdown } : {}) });
  }

  private async retireAll(doomed: Segment[]): Promise<void> {
    for (const s of doomed) {
      this.retiring.add(s);
      await s.retire(this.config.fileDeleteDelayMs);
      s.removed?.then(
        () => this.retiring.delete(s),
        (err: Error) => this.logger.warn({ dir: this.dir, err }, 'could not delete a segment'),
      );
    }
  }

  /** Runs off the append path; failures only cost rebuild work on the next open. */
  private track(p: Promise<unknown>): void {
    const t = p.catch((err: Error) => this.logger.warn({ dir: this.dir, err }, 'background write failed'));
    this.background.add(t);
    void t.finally(() => this.background.delete(t));
  }

  /** Compaction commit: replaces `old` (still contiguous) with `fresh` in one synchronous step. */
  private async swapSegments(old: Segment[], fresh: Segment[]): Promise<void> {
    // Old handles must be open before their files are renamed away.
    for (const s of old) await s.handle();
    const at = this.segments.indexOf(old[0]!);
    if (at < 0 || old.some((s, i) => this.segments[at + i] !== s) || at + old.length >= this.segments.length) {
      throw new Error('segments changed while being rewritten');
    }
    this.segments.splice(at, old.length, ...fresh);
    await this.retireAll(old);
  }
}
