import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from './atomic-file.js';
import { scanBatches } from './batch-scan.js';
import type { LogConfig } from './config.js';
import { EpochHistory, type EpochEntry } from './epoch-history.js';
import type { Logger } from './logger.js';
import { PartitionMetaStore, type PartitionMeta } from './partition-meta.js';
import { loadProducerSnapshot } from './producer-snapshot.js';
import { ProducerStateManager } from './producer-state.js';
import { parseSegmentFile, segmentPath, type ParsedSegmentFile } from './segment-files.js';
import { Segment } from './segment.js';

export interface LoadedLog {
  segments: Segment[];
  logStartOffset: number;
  logEndOffset: number;
  producers: ProducerStateManager;
  epochs: EpochHistory;
  metaStore: PartitionMetaStore;
}

const LEFTOVER_SUFFIXES = ['.tmp', '.cleaned', '.deleted'];

async function removeSegmentFiles(dir: string, f: { baseOffset: number; epoch: number }): Promise<void> {
  for (const kind of ['log', 'index', 'timeindex'] as const) {
    await unlink(segmentPath(dir, f.baseOffset, f.epoch, kind)).catch(() => {});
  }
}

/**
 * Finishes a compaction swap interrupted by a crash: the `.swap` file is complete (it was
 * fsync'd before being named so), so the segments it replaces go and it takes their place.
 */
async function completeSwaps(dir: string, names: string[], logger: Logger): Promise<void> {
  const swaps = names.map(parseSegmentFile).filter((f): f is ParsedSegmentFile => f !== null && f.kind === 'log' && f.suffix === '.swap');
  for (const swap of swaps) {
    const swapPath = segmentPath(dir, swap.baseOffset, swap.epoch, 'log') + '.swap';
    const fh = await open(swapPath, 'r');
    let next = swap.baseOffset;
    try {
      const size = (await fh.stat()).size;
      await scanBatches(fh, 0, size, {}, (h) => {
        next = h.baseOffset + h.lastOffsetDelta + 1;
      });
    } finally {
      await fh.close();
    }
    const live = (await readdir(dir)).map(parseSegmentFile).filter((f): f is ParsedSegmentFile => f !== null && f.kind === 'log' && f.suffix === '');
    for (const old of live) {
      if (old.baseOffset >= swap.baseOffset && old.baseOffset < Math.max(next, swap.baseOffset + 1)) await removeSegmentFiles(dir, old);
    }
    await unlink(segmentPath(dir, swap.baseOffset, swap.epoch, 'index')).catch(() => {});
    await unlink(segmentPath(dir, swap.baseOffset, swap.epoch, 'timeindex')).catch(() => {});
    await rename(swapPath, segmentPath(dir, swap.baseOffset, swap.epoch, 'log'));
    logger.warn({ dir, baseOffset: swap.baseOffset }, 'completed an interrupted segment swap');
  }
  if (swaps.length > 0) await fsyncDir(dir);
}

function mergeEpochs(meta: PartitionMeta | null, files: ParsedSegmentFile[]): EpochHistory {
  // Segment names carry the epoch of the writer that created them, which bounds its start.
  const starts = new Map<number, number>();
  const note = (e: EpochEntry): void => {
    const cur = starts.get(e.epoch);
    if (cur === undefined || e.startOffset < cur) starts.set(e.epoch, e.startOffset);
  };
  for (const e of meta?.epochs ?? []) note(e);
  for (const f of files) note({ epoch: f.epoch, startOffset: f.baseOffset });
  return new EpochHistory([...starts].map(([epoch, startOffset]) => ({ epoch, startOffset })));
}

/** Opens (creating if needed) a partition directory and recovers it after a crash. */
export async function loadLog(dir: string, leaderEpoch: number, config: LogConfig, logger: Logger): Promise<LoadedLog> {
  await mkdir(dir, { recursive: true });
  let names = await readdir(dir);
  for (const n of names) if (LEFTOVER_SUFFIXES.some((s) => n.endsWith(s))) await unlink(join(dir, n)).catch(() => {});
  await completeSwaps(dir, names, logger);
  names = await readdir(dir);

  let files = names
    .map(parseSegmentFile)
    .filter((f): f is ParsedSegmentFile => f !== null && f.kind === 'log' && f.suffix === '')
    .sort((a, b) => a.baseOffset - b.baseOffset || a.epoch - b.epoch);
  // Two files with one base offset: an empty segment replaced on an epoch change; keep the newer.
  const unique: ParsedSegmentFile[] = [];
  for (const f of files) {
    const prev = unique[unique.length - 1];
    if (prev !== undefined && prev.baseOffset === f.baseOffset) {
      await removeSegmentFiles(dir, prev);
      unique.pop();
    }
    unique.push(f);
  }
  files = unique;

  const metaStore = new PartitionMetaStore(dir);
  const meta = await metaStore.load();
  let logStartOffset = Math.max(meta?.logStartOffset ?? 0, files[0]?.baseOffset ?? 0);
  // Segments wholly below the log start: a crash came between saving it and deleting them.
  while (files.length > 1 && files[1]!.baseOffset <= logStartOffset) await removeSegmentFiles(dir, files.shift()!);

  const segments: Segment[] = [];
  for (let i = 0; i + 1 < files.length; i++) {
    segments.push(await Segment.openSealed(dir, files[i]!.baseOffset, files[i]!.epoch, files[i + 1]!.baseOffset, config.indexIntervalBytes));
  }

  const last = files[files.length - 1];
  let active: Segment;
  if (last === undefined) {
    active = await Segment.create(dir, logStartOffset, leaderEpoch, Date.now());
    active.indexIntervalHint = config.indexIntervalBytes;
    await fsyncDir(dir);
  } else {
    const size = (await stat(segmentPath(dir, last.baseOffset, last.epoch, 'log'))).size;
    const c = meta?.cleanShutdown;
    const clean = c !== undefined && c.activeBaseOffset === last.baseOffset && c.activeSize === size;
    const opened = await Segment.openActive(dir, last.baseOffset, last.epoch, clean, config.indexIntervalBytes);
    active = opened.segment;
    if (opened.truncated !== null) {
      logger.warn({ dir, position: opened.truncated.end, dropped: size - opened.truncated.end, reason: opened.truncated.reason }, 'truncated a torn or corrupt log tail');
    }
    // After a process crash the data may still sit in the page cache only.
    if (!clean) await active.writeHandle.datasync();
  }
  segments.push(active);
  const logEndOffset = active.nextOffset;
  if (logStartOffset > logEndOffset) logStartOffset = logEndOffset;

  const epochs = mergeEpochs(meta, files);
  // A snapshot taken by a fenced writer (a zombie after takeover) covers offsets a later epoch
  // rewrote: trust one only if no later epoch starts below its offset.
  const history = epochs.toJSON();
  const producers = new ProducerStateManager();
  const snap = await loadProducerSnapshot(dir, logEndOffset, (offset, epoch) => epoch === undefined || !history.some((e) => e.epoch > epoch && e.startOffset < offset));
  let replayFrom = segments[0]!.baseOffset;
  if (snap !== null) {
    producers.load(snap.producers);
    replayFrom = snap.offset;
  }
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const next = segments[i + 1]?.baseOffset ?? logEndOffset;
    if (next <= replayFrom || seg.size === 0) continue;
    const start = seg.baseOffset >= replayFrom ? 0 : ((await seg.locate(replayFrom)) ?? seg.writtenSize);
    await scanBatches(await seg.handle(), start, seg.writtenSize, {}, (h) => {
      if (h.baseOffset >= replayFrom) producers.apply(h, h.baseOffset);
    });
  }

  epochs.truncateAfter(logEndOffset);
  epochs.assign(leaderEpoch, logEndOffset);
  const changed =
    meta === null ||
    meta.cleanShutdown !== undefined ||
    meta.logStartOffset !== logStartOffset ||
    JSON.stringify(meta.epochs) !== JSON.stringify(epochs.toJSON());
  // Saving also clears the clean-shutdown mark: from here on a crash needs a full recovery.
  if (changed) await metaStore.save({ version: 1, logStartOffset, epochs: epochs.toJSON() });
  return { segments, logStartOffset, logEndOffset, producers, epochs, metaStore };
}
