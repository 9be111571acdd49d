import { open, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { LAST_OFFSET_DELTA, LOG_OVERHEAD, BATCH_LENGTH, HEADER_SIZE, MAX_TIMESTAMP } from '../protocol/records/batch-header.js';
import { BatchCursor } from '../protocol/records/batch-iterator.js';
import { writeFileAtomic } from './atomic-file.js';
import { scanBatches, type ScanResult } from './batch-scan.js';
import { readAt, readInt64, writeFully } from './file-io.js';
import { OffsetIndex } from './offset-index.js';
import { segmentPath } from './segment-files.js';
import { TimeIndex } from './time-index.js';

const EMPTY = Buffer.alloc(0);
/** Shared by every segment's reads: the walk over a read buffer is synchronous. */
const walk = new BatchCursor();

export interface SegmentRead {
  data: Buffer;
  /** True when the read stopped at the end of the segment's readable bytes. */
  exhausted: boolean;
  /** True when a batch at or past `upTo` stopped the read. */
  reachedUpTo: boolean;
}

async function readOptional(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * One segment: a .log file of v2 batches plus its sparse offset and time indexes. Only the
 * active segment is appended to; indexes of sealed segments are loaded on first use.
 */
export class Segment {
  /** Bytes assigned to the file, including writes still in flight. */
  size = 0;
  /** Bytes whose write has completed; reads never go past this. */
  writtenSize = 0;
  /** Offset after the last batch (baseOffset when empty). */
  nextOffset: number;
  maxTimestamp = -1;
  offsetOfMaxTimestamp = -1;
  /** maxTimestamp of the first batch, the basis for time-based rolling. */
  firstBatchTimestamp = -1;
  createdMs: number;
  /** Retention falls back to this when batches carry no timestamps. */
  lastModifiedMs: number;
  sealed = false;
  /**
   * Offsets at or past this are not the segment's, whatever the file holds: for a segment opened
   * sealed, its successor's base (bytes a fenced writer appended later, and the indexes it wrote
   * for them, are ignored).
   */
  offsetBound = Number.MAX_SAFE_INTEGER;
  /** Index interval for entries added outside the write path (rebuild, tail repair). */
  indexIntervalHint = 4096;
  private offsetIndex: OffsetIndex | null = null;
  private timeIndex: TimeIndex | null = null;
  private bytesSinceIndex = 0;
  private fh: FileHandle | null = null;
  private opening: Promise<FileHandle> | null = null;
  private readers = 0;
  private retired: { state: { due: boolean }; tryRemove: () => void } | null = null;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    readonly epoch: number,
    createdMs: number,
  ) {
    this.nextOffset = baseOffset;
    this.createdMs = createdMs;
    this.lastModifiedMs = createdMs;
  }

  /** '' for a live segment; '.cleaned' / '.swap' while compaction output is being swapped in. */
  suffix = '';

  get logPath(): string {
    return segmentPath(this.dir, this.baseOffset, this.epoch, 'log') + this.suffix;
  }

  /** Renames the data file to another state suffix; an open handle stays valid. */
  async renameTo(suffix: string): Promise<void> {
    const from = this.logPath;
    this.suffix = suffix;
    await rename(from, this.logPath);
  }
  get indexPath(): string {
    return segmentPath(this.dir, this.baseOffset, this.epoch, 'index');
  }
  get timeIndexPath(): string {
    return segmentPath(this.dir, this.baseOffset, this.epoch, 'timeindex');
  }

  /** Creates an empty active segment; the caller fsyncs the directory. */
  static async create(dir: string, baseOffset: number, epoch: number, now: number, suffix = ''): Promise<Segment> {
    const seg = new Segment(dir, baseOffset, epoch, now);
    seg.suffix = suffix;
    seg.fh = await open(seg.logPath, 'w+');
    seg.offsetIndex = new OffsetIndex(baseOffset);
    seg.timeIndex = new TimeIndex(baseOffset);
    return seg;
  }

  /** Opens a sealed segment cheaply: size and largest timestamp, indexes stay on disk. */
  static async openSealed(dir: string, baseOffset: number, epoch: number, nextOffset: number, indexInterval: number): Promise<Segment> {
    const seg = new Segment(dir, baseOffset, epoch, Date.now());
    seg.indexIntervalHint = indexInterval;
    seg.sealed = true;
    seg.offsetBound = nextOffset;
    const st = await stat(seg.logPath);
    seg.size = seg.writtenSize = st.size;
    seg.lastModifiedMs = st.mtimeMs;
    seg.nextOffset = nextOffset;
    const ti = await readOptional(seg.timeIndexPath);
    const valid =
      ti !== null &&
      ti.length % TimeIndex.ENTRY_BYTES === 0 &&
      (ti.length > 0 || seg.size === 0) &&
      (ti.length === 0 || baseOffset + ti.readInt32BE(ti.length - TimeIndex.ENTRY_BYTES + 8) < nextOffset);
    if (!valid) {
      await seg.rebuild(false);
      await seg.writeIndexes();
    } else if (ti.length > 0) {
      const last = ti.length - TimeIndex.ENTRY_BYTES;
      seg.maxTimestamp = readInt64(ti, last);
      seg.offsetOfMaxTimestamp = baseOffset + ti.readInt32BE(last + 8);
    }
    return seg;
  }

  /**
   * Opens the last segment for appending. `clean`: the log was closed cleanly, so the
   * indexes on disk are trusted after validation and only the unindexed tail is scanned.
   * Otherwise every batch is checked (CRC32C included) and a torn or corrupt tail is cut off.
   */
  static async openActive(
    dir: string,
    baseOffset: number,
    epoch: number,
    clean: boolean,
    indexInterval: number,
  ): Promise<{ segment: Segment; truncated: ScanResult | null }> {
    const seg = new Segment(dir, baseOffset, epoch, Date.now());
    seg.indexIntervalHint = indexInterval;
    seg.fh = await open(seg.logPath, 'r+');
    seg.size = seg.writtenSize = (await seg.fh.stat()).size;
    let truncated: ScanResult | null = null;
    if (!clean || !(await seg.loadIndexes())) {
      const res = await seg.rebuild(true);
      if (res.end < seg.size) {
        truncated = res;
        await seg.fh.truncate(res.end);
        await seg.fh.datasync();
        seg.size = seg.writtenSize = res.end;
      }
    }
    await seg.readFirstTimestamp();
    return { segment: seg, truncated };
  }

  async handle(): Promise<FileHandle> {
    if (this.fh !== null) return this.fh;
    this.opening ??= open(this.logPath, 'r').then((fh) => {
      this.fh = fh;
      return fh;
    });
    return this.opening;
  }

  /** The active segment's handle, which is always open. */
  get writeHandle(): FileHandle {
    if (this.fh === null) throw new Error('segment not open for writing');
    return this.fh;
  }

  /** Records a batch just placed at `position` (write path; synchronous). */
  onAppend(baseOffset: number, lastOffset: number, maxTimestamp: number, position: number, size: number, indexInterval: number): void {
    const oi = this.offsetIndex!;
    if (this.firstBatchTimestamp < 0 && position === 0) this.firstBatchTimestamp = maxTimestamp;
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.offsetOfMaxTimestamp = baseOffset;
    }
    if (this.bytesSinceIndex > indexInterval) {
      oi.append(baseOffset, position);
      this.timeIndex!.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
      this.bytesSinceIndex = 0;
    }
    this.bytesSinceIndex += size;
    this.nextOffset = lastOffset + 1;
  }

  /** Appends one whole batch outside the group-commit path (compaction output). */
  async appendBatch(batch: Buffer): Promise<void> {
    const position = this.size;
    await writeFully(this.writeHandle, [batch], position);
    const base = readInt64(batch, 0);
    const size = batch.length;
    this.size = this.writtenSize = position + size;
    this.onAppend(base, base + batch.readInt32BE(LAST_OFFSET_DELTA), readInt64(batch, MAX_TIMESTAMP), position, size, this.indexIntervalHint);
  }

  /** Stops appends; the final time index entry makes maxTimestamp recoverable from disk. */
  seal(): void {
    this.sealed = true;
    this.lastModifiedMs = Date.now();
    if (this.maxTimestamp >= 0) this.timeIndex?.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
  }

  /** Writes both indexes atomically (they are rebuildable, so this is off the append path). */
  async writeIndexes(): Promise<void> {
    if (this.offsetIndex === null || this.timeIndex === null) return;
    const ti = this.timeIndex.toBuffer();
    const oi = this.offsetIndex.toBuffer();
    await writeFileAtomic(this.indexPath, Buffer.from(oi));
    await writeFileAtomic(this.timeIndexPath, Buffer.from(ti));
  }

  /** Position of the first batch whose last offset is >= `offset`, or null if none. */
  async locate(offset: number): Promise<number | null> {
    const start = (await this.indexes()).offsetIndex.floor(offset).position;
    return this.scanFor(start, (base, last) => last >= offset);
  }

  /**
   * Whole batches from `position`, at most `maxBytes` of them (but one if `minOne`), none
   * with an offset at or past `upTo`. `alloc` supplies the main read buffer.
   */
  async readFrom(position: number, maxBytes: number, upTo: number, minOne: boolean, alloc?: (n: number) => Buffer): Promise<SegmentRead> {
    const limit = this.writtenSize;
    if (position >= limit) return { data: EMPTY, exhausted: true, reachedUpTo: false };
    const fh = await this.handle();
    const want = Math.min(Math.max(maxBytes, 0), limit - position);
    const buf = want >= LOG_OVERHEAD ? await readAt(fh, position, want, alloc) : EMPTY;
    let reachedUpTo = false;
    walk.reset(buf);
    while (walk.next()) {
      if (walk.lastOffset >= upTo) {
        reachedUpTo = true;
        break;
      }
    }
    const used = walk.position;
    const hole = walk.stop === 'corrupt';
    walk.reset(EMPTY);
    // A hole: the file was cut back at a takeover and a fenced writer then wrote past the cut.
    if (hole) return { data: buf.subarray(0, used), exhausted: false, reachedUpTo: false };
    if (used === 0 && minOne && !reachedUpTo) {
      const head = await readAt(fh, position, Math.min(LAST_OFFSET_DELTA + 4, limit - position));
      if (head.length < LAST_OFFSET_DELTA + 4) return { data: EMPTY, exhausted: true, reachedUpTo: false };
      if (readInt64(head, 0) + head.readInt32BE(LAST_OFFSET_DELTA) >= upTo) {
        return { data: EMPTY, exhausted: false, reachedUpTo: true };
      }
      const size = head.readInt32BE(BATCH_LENGTH) + LOG_OVERHEAD;
      if (size < HEADER_SIZE) return { data: EMPTY, exhausted: false, reachedUpTo: false };
      const data = await readAt(fh, position, size);
      return { data, exhausted: position + size >= limit, reachedUpTo: false };
    }
    return { data: buf.subarray(0, used), exhausted: position + used >= limit, reachedUpTo };
  }

  /** First batch with maxTimestamp >= ts: its base offset and max timestamp. */
  async findTimestamp(ts: number): Promise<{ offset: number; timestamp: number } | null> {
    if (this.maxTimestamp < ts) return null;
    const { offsetIndex, timeIndex } = await this.indexes();
    const from = timeIndex.lastBefore(ts);
    const start = from === null ? 0 : offsetIndex.floor(from).position;
    let found: { offset: number; timestamp: number } | null = null;
    const fh = await this.handle();
    await scanBatches(fh, start, this.writtenSize, { endOffset: this.offsetBound }, (h) => {
      if (h.maxTimestamp >= ts) {
        found = { offset: h.baseOffset, timestamp: h.maxTimestamp };
        return false;
      }
      return true;
    });
    return found;
  }

  /** Pins the file handle against deletion while a read runs. */
  acquire(): void {
    this.readers++;
  }

  release(): void {
    this.readers--;
    if (this.readers === 0) this.retired?.tryRemove();
  }

  /**
   * Renames the files to `.deleted` (resolving then) and unlinks them after `delayMs` once no
   * read holds the segment; `removed` settles when they are gone.
   */
  async retire(delayMs: number): Promise<void> {
    // Readers that already hold this segment keep using the open handle after the rename.
    await this.handle();
    const paths = [this.logPath, this.indexPath, this.timeIndexPath];
    await Promise.all(paths.map((p) => rename(p, `${p}.deleted`).catch(ignoreMissing)));
    let removal: Promise<void> | null = null;
    let done!: () => void;
    let failed!: (err: Error) => void;
    this.removed = new Promise<void>((resolve, reject) => {
      done = resolve;
      failed = reject;
    });
    const state = { due: false };
    this.retired = {
      state,
      tryRemove: () => {
        if (!state.due || this.readers > 0 || removal !== null) return;
        removal = (async () => {
          await this.closeHandle();
          await Promise.all(paths.map((p) => unlink(`${p}.deleted`).catch(ignoreMissing)));
        })();
        removal.then(done, failed);
      },
    };
    if (delayMs <= 0) this.expedite();
    else setTimeout(() => this.expedite(), delayMs).unref();
  }

  /** Settles once a retired segment's files are unlinked. */
  removed: Promise<void> | null = null;

  /** Lets a retired segment be removed now (shutdown) instead of after its delay. */
  expedite(): void {
    if (this.retired === null) return;
    this.retired.state.due = true;
    this.retired.tryRemove();
  }

  async closeHandle(): Promise<void> {
    const fh = this.fh ?? (this.opening !== null ? await this.opening : null);
    this.fh = null;
    this.opening = null;
    if (fh !== null) await fh.close();
  }

  /** Whole batches of this segment with their bytes, for compaction. */
  async forEachBatch(visit: (batch: Buffer, baseOffset: number, lastOffset: number) => void): Promise<void> {
    const fh = await this.handle();
    await scanBatches(fh, 0, this.writtenSize, { wantBytes: true }, (h, _pos, _size, bytes) => {
      visit(bytes!, h.baseOffset, h.baseOffset + h.lastOffsetDelta);
    });
  }

  private async indexes(): Promise<{ offsetIndex: OffsetIndex; timeIndex: TimeIndex }> {
    if (this.offsetIndex === null || this.timeIndex === null) {
      if (!(await this.loadIndexes())) await this.rebuild(false);
    }
    return { offsetIndex: this.offsetIndex!, timeIndex: this.timeIndex! };
  }

  /**
   * Loads both index files; false if either is missing or has an invalid entry. A valid but
   * short index is completed by scanning the data after its last entry.
   */
  private async loadIndexes(): Promise<boolean> {
    const [oiData, tiData] = await Promise.all([readOptional(this.indexPath), readOptional(this.timeIndexPath)]);
    if (oiData === null || tiData === null) return false;
    const oi = OffsetIndex.load(this.baseOffset, oiData, this.size);
    if (oi.count * OffsetIndex.ENTRY_BYTES !== oiData.length) return false;
    const tail = oi.last();
    if (oi.count > 0 && tail.offset >= this.offsetBound) return false;
    const fh = await this.handle();
    // The last entry must point at a batch with the offset it claims.
    if (oi.count > 0) {
      const head = await readAt(fh, tail.position, LOG_OVERHEAD).catch(() => null);
      if (head === null || readInt64(head, 0) !== tail.offset) return false;
    }
    const ti = TimeIndex.load(this.baseOffset, tiData, Number.MAX_SAFE_INTEGER);
    if (ti.count * TimeIndex.ENTRY_BYTES !== tiData.length) return false;
    const lastTime = ti.last();
    if (lastTime !== null && lastTime.offset >= this.offsetBound) return false;
    let maxTs = lastTime?.timestamp ?? -1;
    let maxTsOffset = lastTime?.offset ?? -1;
    let next = tail.offset;
    let bytesSince = 0;
    let first = true;
    const res = await scanBatches(fh, tail.position, this.size, { endOffset: this.offsetBound }, (h, pos, size) => {
      if (h.maxTimestamp > maxTs) {
        maxTs = h.maxTimestamp;
        maxTsOffset = h.baseOffset;
      }
      // The first scanned batch is the last indexed one (or the segment's first batch).
      if (!first && bytesSince > this.indexIntervalHint) {
        oi.append(h.baseOffset, pos);
        ti.maybeAppend(maxTs, maxTsOffset);
        bytesSince = 0;
      }
      first = false;
      bytesSince += size;
      next = h.baseOffset + h.lastOffsetDelta + 1;
    });
    if (res.stop !== 'end') return false;
    if (lastTime !== null && lastTime.offset >= next) return false;
    this.offsetIndex = oi;
    this.timeIndex = ti;
    this.bytesSinceIndex = bytesSince;
    this.nextOffset = next;
    this.maxTimestamp = maxTs;
    this.offsetOfMaxTimestamp = maxTsOffset;
    return true;
  }

  /** Rebuilds indexes and summary from the data; returns where the scan stopped. */
  private async rebuild(verifyCrc: boolean): Promise<ScanResult> {
    const fh = await this.handle();
    this.offsetIndex = new OffsetIndex(this.baseOffset);
    this.timeIndex = new TimeIndex(this.baseOffset);
    this.bytesSinceIndex = 0;
    this.nextOffset = this.baseOffset;
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = -1;
    this.firstBatchTimestamp = -1;
    // Recovery (verifyCrc) also demands gap-free offsets: the base offset lies outside the CRC.
    return scanBatches(fh, 0, this.size, { verifyCrc, contiguous: verifyCrc, nextOffset: this.baseOffset, endOffset: this.offsetBound }, (h, pos, size) => {
      this.onAppend(h.baseOffset, h.baseOffset + h.lastOffsetDelta, h.maxTimestamp, pos, size, this.indexIntervalHint);
    });
  }

  private async readFirstTimestamp(): Promise<void> {
    if (this.size < MAX_TIMESTAMP + 8) return;
    const head = await readAt(await this.handle(), 0, MAX_TIMESTAMP + 8);
    this.firstBatchTimestamp = readInt64(head, MAX_TIMESTAMP);
  }

  /** Walks headers from `start`; position of the first batch matching, or null. */
  private async scanFor(start: number, match: (base: number, last: number) => boolean): Promise<number | null> {
    let found: number | null = null;
    await scanBatches(await this.handle(), start, this.writtenSize, { endOffset: this.offsetBound }, (h, pos) => {
      if (match(h.baseOffset, h.baseOffset + h.lastOffsetDelta)) {
        found = pos;
        return false;
      }
      return true;
    });
    return found;
  }
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}
