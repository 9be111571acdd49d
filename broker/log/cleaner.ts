import { CONTROL_BIT, LAST_OFFSET_DELTA, readBatchHeader, type BatchHeader } from '../protocol/records/batch-header.js';
import { decodeBatchesSync } from '../protocol/records/records.js';
import { loadCleanerCheckpoint, saveCleanerCheckpoint, type CleanerCheckpoint } from './cleaner-checkpoint.js';
import { filterBatch } from './compaction-filter.js';
import { silentLogger, type Logger } from './logger.js';
import { KeyOffsetMap } from './offset-map.js';
import type { PartitionLog, SealedSegmentInfo } from './partition-log.js';
import { lastSequenceOf } from './producer-state.js';
import { sealedSegmentBatches } from './segment-batches.js';

/** The topic settings compaction reads (a TopicLogConfig satisfies it). */
export interface CompactionConfig {
  cleanupPolicy: string;
  segmentBytes: number;
  deleteRetentionMs: number;
  minCompactionLagMs: number;
  /** Infinity = no limit. */
  maxCompactionLagMs: number;
  minCleanableDirtyRatio: number;
}

export interface CleanerOptions {
  logger?: Logger;
  /** Cap on distinct keys per cleaning (memory bound); the dirty range is cut at a segment end. */
  maxMapEntries?: number;
  /** Longest stretch of work between yields to the event loop (default 10 ms). */
  sliceMs?: number;
}

export interface CleanTarget {
  /** A name for logs and per-partition figures, e.g. "topic-0". */
  name: string;
  log: PartitionLog;
  config: CompactionConfig;
}

export type SkipReason = 'not-compacted' | 'busy' | 'nothing-sealed' | 'not-dirty-enough' | 'stopped';

export interface CleanResult {
  cleaned: boolean;
  skipped?: SkipReason;
  /** Why it ran: dirty ratio, max.compaction.lag.ms, an expired delete horizon, or forced. */
  trigger?: 'dirty-ratio' | 'max-lag' | 'delete-horizon' | 'forced';
  dirtyRatio: number;
  /** End of the cleaned range: the first offset this cleaning did not touch. */
  firstUncleanableOffset: number;
  bytesRead: number;
  bytesWritten: number;
  recordsRemoved: number;
  batchesRemoved: number;
  segmentsBefore: number;
  segmentsAfter: number;
  /** False when the rewrite changed nothing and was discarded. */
  committed: boolean;
}

export interface PartitionCleanerStats {
  lastCleanTimeMs: number;
  lastDurationMs: number;
  cleanings: number;
  bytesRead: number;
  bytesWritten: number;
  recordsRemoved: number;
  failures: number;
}

export interface CleanerStats extends PartitionCleanerStats {
  partitions: Record<string, PartitionCleanerStats>;
}

const MAX_SEGMENT_BYTES = 0x7fffffff;
// Offset-index entries hold offsets relative to the segment base as int32.
const MAX_RELATIVE_OFFSET = 0x7fffffff;
const DEFAULT_MAX_MAP_ENTRIES = 1_000_000;

/** A cleaning abandoned because the cleaner is stopping; the log is left as it was. */
export class CleanerStoppedError extends Error {
  constructor() {
    super('log cleaner stopped');
    this.name = 'CleanerStoppedError';
  }
}

function emptyStats(): PartitionCleanerStats {
  return { lastCleanTimeMs: -1, lastDurationMs: 0, cleanings: 0, bytesRead: 0, bytesWritten: 0, recordsRemoved: 0, failures: 0 };
}

/** Lets other work run whenever the cleaner has held the event loop for a slice. */
class Pacer {
  private since = performance.now();

  constructor(private readonly sliceMs: number) {}

  async tick(): Promise<void> {
    if (performance.now() - this.since < this.sliceMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.since = performance.now();
  }
}

export function isCompacted(policy: string): boolean {
  return policy.split(',').some((p) => p.trim() === 'compact');
}

/**
 * Log compaction (cleanup.policy=compact). Each cleaning rewrites the sealed segments below the
 * first uncleanable offset so that every key keeps only its latest record, with original
 * offsets. Partitions are cleaned one at a time, reading and writing in chunks that yield to
 * the event loop; appends and reads continue meanwhile and the swap-in is atomic.
 */
export class LogCleaner {
  private readonly logger: Logger;
  private readonly maxMapEntries: number;
  private readonly sliceMs: number;
  // Keyed by log instance: a re-created topic starts from a fresh (absent) checkpoint.
  private readonly checkpoints = new WeakMap<PartitionLog, CleanerCheckpoint>();
  private readonly busy = new WeakSet<PartitionLog>();
  private readonly perPartition = new Map<string, PartitionCleanerStats>();
  private readonly totals = emptyStats();
  private stopping = false;
  private readonly running = new Set<Promise<unknown>>();

  constructor(opts: CleanerOptions = {}) {
    this.logger = opts.logger ?? silentLogger;
    this.maxMapEntries = opts.maxMapEntries ?? DEFAULT_MAX_MAP_ENTRIES;
    this.sliceMs = opts.sliceMs ?? 10;
  }

  /** Cleans the compacted logs among `targets`, one after another; failures are logged. */
  async cleanAll(targets: Iterable<CleanTarget>, now: () => number = Date.now): Promise<void> {
    for (const t of targets) {
      if (this.stopping) return;
      if (!isCompacted(t.config.cleanupPolicy)) continue;
      try {
        await this.cleanLog(t, now());
      } catch (err) {
        if (err instanceof CleanerStoppedError) return;
        this.logger.warn({ err, partition: t.name }, 'log cleaning failed; will retry');
      }
    }
  }

  /** Cleans one log if it needs it (or always with `force`). */
  async cleanLog(target: CleanTarget, now = Date.now(), opts: { force?: boolean } = {}): Promise<CleanResult> {
    const { log } = target;
    if (!isCompacted(target.config.cleanupPolicy)) return skipped('not-compacted');
    if (this.stopping) return skipped('stopped');
    if (this.busy.has(log)) return skipped('busy');
    this.busy.add(log);
    const started = Date.now();
    const run = this.clean(target, now, opts.force === true);
    this.running.add(run);
    try {
      const res = await run;
      if (res.cleaned) this.record(target.name, started, res);
      return res;
    } catch (err) {
      if (!(err instanceof CleanerStoppedError)) {
        this.statsOf(target.name).failures++;
        this.totals.failures++;
      }
      throw err;
    } finally {
      this.busy.delete(log);
      this.running.delete(run);
    }
  }

  /** Stops taking work and waits for the cleaning in progress (which aborts at its next step). */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.running]);
  }

  stats(): CleanerStats {
    const partitions: Record<string, PartitionCleanerStats> = {};
    for (const [k, v] of this.perPartition) partitions[k] = { ...v };
    return { ...this.totals, partitions };
  }

  // ---- one cleaning ----------------------------------------------------------------------

  private async clean(target: CleanTarget, now: number, force: boolean): Promise<CleanResult> {
    const { log, config } = target;
    const cp = await this.checkpointOf(log);
    // Only segments wholly below the high watermark: never the active one, never undurable data.
    const hw = log.highWatermark;
    let segs = log.sealedSegments();
    const below = segs.findIndex((s) => s.nextOffset > hw);
    if (below >= 0) segs = segs.slice(0, below);
    if (segs.length === 0) return skipped('nothing-sealed');
    const firstDirty = Math.min(Math.max(cp.firstDirtyOffset, segs[0]!.baseOffset), segs[segs.length - 1]!.nextOffset);
    // Records younger than min.compaction.lag.ms stay untouched, and so does all that follows.
    if (config.minCompactionLagMs > 0) {
      const young = segs.findIndex((s) => s.nextOffset > firstDirty && s.maxTimestamp > now - config.minCompactionLagMs);
      if (young >= 0) segs = segs.slice(0, young);
    }
    if (segs.length === 0) return skipped('nothing-sealed');
    let dirty = segs.filter((s) => s.nextOffset > firstDirty);
    const dirtyBytes = dirty.reduce((n, s) => n + s.sizeBytes, 0);
    const totalBytes = segs.reduce((n, s) => n + s.sizeBytes, 0);
    const ratio = totalBytes > 0 ? dirtyBytes / totalBytes : 0;
    const trigger = this.triggerOf(cp, config, dirty, dirtyBytes, ratio, now, force);
    if (trigger === null) return { ...skipped('not-dirty-enough'), dirtyRatio: ratio };

    const pace = new Pacer(this.sliceMs);
    const map = new KeyOffsetMap();
    let mapped = 0;
    for (const s of dirty) {
      if (mapped > 0 && map.size >= this.maxMapEntries) break;
      await this.addToMap(log, s, firstDirty, map, pace);
      mapped++;
      this.checkRunning();
    }
    dirty = dirty.slice(0, mapped);
    const end = dirty.length > 0 ? dirty[dirty.length - 1]!.nextOffset : segs[segs.length - 1]!.nextOffset;
    const run = segs.filter((s) => s.nextOffset <= end);
    const tails = this.producerTails(log);
    const out = await this.rewrite(log, config, run, map, now, tails, pace);
    const next: CleanerCheckpoint = { version: 1, firstDirtyOffset: end, nextDeleteHorizonMs: out.horizon ?? -1 };
    this.checkpoints.set(log, next);
    await saveCleanerCheckpoint(log.dir, next).catch((err: Error) => this.logger.warn({ dir: log.dir, err }, 'could not save the cleaner checkpoint'));
    this.logger.info(
      { partition: target.name, trigger, end, removed: out.recordsRemoved, before: out.bytesRead, after: out.bytesWritten, committed: out.committed },
      'cleaned log',
    );
    return {
      cleaned: true,
      trigger,
      dirtyRatio: ratio,
      firstUncleanableOffset: end,
      bytesRead: out.bytesRead,
      bytesWritten: out.bytesWritten,
      recordsRemoved: out.recordsRemoved,
      batchesRemoved: out.batchesRemoved,
      segmentsBefore: run.length,
      segmentsAfter: out.segments,
      committed: out.committed,
    };
  }

  private triggerOf(
    cp: CleanerCheckpoint,
    config: CompactionConfig,
    dirty: SealedSegmentInfo[],
    dirtyBytes: number,
    ratio: number,
    now: number,
    force: boolean,
  ): CleanResult['trigger'] | null {
    if (force) return 'forced';
    if (dirtyBytes > 0 && ratio > config.minCleanableDirtyRatio) return 'dirty-ratio';
    // Approximation: the first dirty segment's newest timestamp stands for its oldest record.
    const oldest = dirty[0]?.maxTimestamp;
    if (dirtyBytes > 0 && oldest !== undefined && Number.isFinite(config.maxCompactionLagMs) && now - Math.max(oldest, 0) > config.maxCompactionLagMs) {
      return 'max-lag';
    }
    if (cp.nextDeleteHorizonMs >= 0 && now > cp.nextDeleteHorizonMs) return 'delete-horizon';
    return null;
  }

  private async addToMap(log: PartitionLog, seg: SealedSegmentInfo, firstDirty: number, map: KeyOffsetMap, pace: Pacer): Promise<void> {
    for await (const batch of sealedSegmentBatches(log.dir, seg)) {
      const h = readBatchHeader(batch);
      const last = h.baseOffset + h.lastOffsetDelta;
      if (last < firstDirty || last >= seg.nextOffset || (h.attributes & CONTROL_BIT) !== 0) continue;
      const decoded = decodeBatchesSync(batch)[0];
      if (decoded === undefined) throw new Error(`truncated batch at offset ${h.baseOffset}`);
      for (const r of decoded.records) {
        if (r.key !== null && r.offset >= firstDirty) map.put(r.key, r.offset);
      }
      await pace.tick();
    }
  }

  /** Identifies each active producer's last batch by producer id, epoch and last sequence. */
  private producerTails(log: PartitionLog): (h: BatchHeader) => boolean {
    const last = new Map<number, { epoch: number; seq: number }>();
    for (const p of log.producers()) last.set(p.producerId, { epoch: p.producerEpoch, seq: p.lastSequence });
    return (h) => {
      if (h.producerId < 0) return false;
      const p = last.get(h.producerId);
      return p !== undefined && p.epoch === h.producerEpoch && p.seq === lastSequenceOf(h.baseSequence, h.lastOffsetDelta);
    };
  }

  /**
   * Streams the run through the filter into one rewrite. Output segments are filled up to
   * segment.bytes (merging small ones) and split where the writer epoch in the name changes.
   * Reads wait for each write, so memory stays at about one read chunk.
   */
  private async rewrite(
    log: PartitionLog,
    config: CompactionConfig,
    run: SealedSegmentInfo[],
    map: KeyOffsetMap,
    now: number,
    isProducerTail: (h: BatchHeader) => boolean,
    pace: Pacer,
  ): Promise<{ bytesRead: number; bytesWritten: number; recordsRemoved: number; batchesRemoved: number; segments: number; horizon: number | null; committed: boolean }> {
    const limit = Math.min(config.segmentBytes, MAX_SEGMENT_BYTES);
    const rw = log.rewriteSegments(run.map((s) => s.baseOffset));
    const outputBases: number[] = [];
    let outBase = -1;
    let outEpoch = -1;
    let outSize = 0;
    let changed = false;
    let recordsRemoved = 0;
    let batchesRemoved = 0;
    let bytesWritten = 0;
    let horizon: number | null = null;
    const startOutput = async (base: number, epoch: number): Promise<void> => {
      await rw.startSegment(base, epoch);
      outputBases.push(base);
      outBase = base;
      outEpoch = epoch;
      outSize = 0;
    };
    try {
      for (const seg of run) {
        if (outputBases.length === 0) await startOutput(seg.baseOffset, seg.leaderEpoch);
        else if (outSize > 0 && seg.leaderEpoch !== outEpoch) await startOutput(seg.baseOffset, seg.leaderEpoch);
        let firstOfSegment = true;
        for await (const batch of sealedSegmentBatches(log.dir, seg)) {
          // Bytes past the successor's base (a fenced writer's late appends) are never served: drop them.
          if (readBatchHeader(batch).baseOffset + batch.readInt32BE(LAST_OFFSET_DELTA) >= seg.nextOffset) {
            changed = true;
            batchesRemoved++;
            continue;
          }
          const res = filterBatch(batch, { now, deleteRetentionMs: config.deleteRetentionMs, latest: map, isProducerTail });
          recordsRemoved += res.recordsRemoved;
          if (res.changed) changed = true;
          if (res.bytes === null) {
            batchesRemoved++;
          } else {
            if (res.horizon !== null) horizon = horizon === null ? res.horizon : Math.min(horizon, res.horizon);
            const h = readBatchHeader(res.bytes);
            const last = h.baseOffset + h.lastOffsetDelta;
            if (outSize > 0 && (outSize + res.bytes.length > limit || last - outBase > MAX_RELATIVE_OFFSET)) {
              await startOutput(firstOfSegment ? seg.baseOffset : h.baseOffset, seg.leaderEpoch);
            }
            firstOfSegment = false;
            await rw.append(res.bytes);
            outSize += res.bytes.length;
            bytesWritten += res.bytes.length;
          }
          await pace.tick();
        }
        this.checkRunning();
      }
      const sameLayout = outputBases.length === run.length && outputBases.every((b, i) => b === run[i]!.baseOffset);
      if (!changed && sameLayout) {
        await rw.abort();
      } else {
        await rw.commit();
      }
      const bytesRead = run.reduce((n, s) => n + s.sizeBytes, 0);
      return { bytesRead, bytesWritten, recordsRemoved, batchesRemoved, segments: outputBases.length, horizon, committed: changed || !sameLayout };
    } catch (err) {
      await rw.abort();
      throw err;
    }
  }

  private checkRunning(): void {
    if (this.stopping) throw new CleanerStoppedError();
  }

  private async checkpointOf(log: PartitionLog): Promise<CleanerCheckpoint> {
    let cp = this.checkpoints.get(log);
    if (cp === undefined) {
      cp = (await loadCleanerCheckpoint(log.dir)) ?? { version: 1, firstDirtyOffset: 0, nextDeleteHorizonMs: -1 };
      this.checkpoints.set(log, cp);
    }
    return cp;
  }

  private statsOf(name: string): PartitionCleanerStats {
    let s = this.perPartition.get(name);
    if (s === undefined) {
      s = emptyStats();
      this.perPartition.set(name, s);
    }
    return s;
  }

  private record(name: string, started: number, res: CleanResult): void {
    const finished = Date.now();
    for (const s of [this.statsOf(name), this.totals]) {
      s.lastCleanTimeMs = finished;
      s.lastDurationMs = finished - started;
      s.cleanings++;
      s.bytesRead += res.bytesRead;
      s.bytesWritten += res.bytesWritten;
      s.recordsRemoved += res.recordsRemoved;
    }
  }
}

function skipped(reason: SkipReason): CleanResult {
  return {
    cleaned: false,
    skipped: reason,
    dirtyRatio: 0,
    firstUncleanableOffset: -1,
    bytesRead: 0,
    bytesWritten: 0,
    recordsRemoved: 0,
    batchesRemoved: 0,
    segmentsBefore: 0,
    segmentsAfter: 0,
    committed: false,
  };
}
