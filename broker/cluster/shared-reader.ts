// Serves a partition another broker writes, straight from the shared segment files. It never
// writes or recovers anything: it trusts only offsets below the published high watermark, and
// bounds every segment by the base offset of the next one (a fenced writer's late bytes in a
// sealed segment therefore stay invisible).
import { open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BASE_OFFSET, BATCH_LENGTH, LAST_OFFSET_DELTA, LOG_OVERHEAD } from '../protocol/records/batch-header.js';
import { parseSegmentFile, segmentPath, type ParsedSegmentFile } from '../log/segment-files.js';
import { META_FILE } from '../log/partition-meta.js';
import { LogError } from '../log/index.js';
import { splitFencedSegments } from './fenced-segments.js';

const EMPTY = Buffer.alloc(0);
/** One position checkpoint per this many bytes scanned, per segment file. */
const CHECKPOINT_BYTES = 256 << 10;
/** The v2 batch header with no records. */
const MIN_BATCH_BYTES = 61;

interface Checkpoint {
  offset: number;
  position: number;
}

export class SharedPartitionReader {
  /** Per segment file: batch start positions learned so far, ascending. */
  private readonly checkpoints = new Map<string, Checkpoint[]>();

  constructor(readonly dir: string) {}

  private async segments(): Promise<ParsedSegmentFile[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const files = names.map(parseSegmentFile).filter((f): f is ParsedSegmentFile => f !== null && f.kind === 'log' && f.suffix === '');
    // A zombie's late segments would otherwise cut the live one short and serve its bytes.
    return splitFencedSegments(files).live;
  }

  /** The writer's log start offset (DeleteRecords and retention move it). */
  async logStartOffset(): Promise<number> {
    const segs = await this.segments();
    let start = segs[0]?.baseOffset ?? 0;
    try {
      const meta = JSON.parse(await readFile(join(this.dir, META_FILE), 'utf8')) as { logStartOffset?: number };
      if (typeof meta.logStartOffset === 'number') start = Math.max(start, meta.logStartOffset);
    } catch {
      // No metadata yet: the first segment decides.
    }
    return start;
  }

  /** Whole batches from the one holding `offset`, none at or past `upTo`, up to `maxBytes` (one at least if `minOneBatch`). */
  async read(offset: number, maxBytes: number, upTo: number, minOneBatch: boolean): Promise<Buffer> {
    if (offset >= upTo) return EMPTY;
    const segs = await this.segments();
    let i = segs.length - 1;
    while (i > 0 && segs[i]!.baseOffset > offset) i--;
    if (segs.length === 0 || segs[i]!.baseOffset > offset) throw new LogError('OFFSET_OUT_OF_RANGE', `offset ${offset} is below the log start`);
    const parts: Buffer[] = [];
    let total = 0;
    let from = offset;
    for (; i < segs.length; i++) {
      const seg = segs[i]!;
      const next = segs[i + 1];
      const bound = next !== undefined ? Math.min(upTo, next.baseOffset) : upTo;
      if (from >= bound) continue;
      const data = await this.readSegment(seg, from, maxBytes - total, bound, minOneBatch && total === 0);
      if (data.length > 0) {
        parts.push(data);
        total += data.length;
      }
      if (bound === upTo || total >= maxBytes) break;
      // Offsets [from, bound) belong to this segment: if it yielded nothing, never skip ahead to
      // the next one (the caller would see a gap); serve what is certain and let it retry.
      if (data.length === 0) break;
      from = next!.baseOffset;
    }
    return parts.length === 1 ? parts[0]! : total === 0 ? EMPTY : Buffer.concat(parts, total);
  }

  private async readSegment(seg: ParsedSegmentFile, offset: number, maxBytes: number, bound: number, minOne: boolean): Promise<Buffer> {
    const path = segmentPath(this.dir, seg.baseOffset, seg.epoch, 'log');
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      const start = await this.locate(fh, path, seg.baseOffset, offset, size);
      if (start === null) return EMPTY;
      // Read a window and keep the whole batches below the bound.
      const want = Math.min(size - start, Math.max(maxBytes, minOne ? LOG_OVERHEAD + 4 : 0));
      let buf = Buffer.alloc(Math.max(0, want));
      const { bytesRead } = await fh.read(buf, 0, buf.length, start);
      buf = buf.subarray(0, bytesRead);
      let used = 0;
      let expect = 0;
      for (;;) {
        if (used + LAST_OFFSET_DELTA + 4 > buf.length) {
          if (used > 0 || !minOne) break;
          // The first batch is larger than maxBytes: send it whole anyway.
          const head = Buffer.alloc(LAST_OFFSET_DELTA + 4);
          const r = await fh.read(head, 0, head.length, start);
          if (r.bytesRead < head.length) break;
          const batchSize = head.readInt32BE(BATCH_LENGTH) + LOG_OVERHEAD;
          if (Number(head.readBigInt64BE(BASE_OFFSET)) + head.readInt32BE(LAST_OFFSET_DELTA) >= bound || start + batchSize > size) break;
          buf = Buffer.alloc(batchSize);
          await fh.read(buf, 0, batchSize, start);
          return buf;
        }
        const batchSize = buf.readInt32BE(used + BATCH_LENGTH) + LOG_OVERHEAD;
        const base = Number(buf.readBigInt64BE(used + BASE_OFFSET));
        const last = base + buf.readInt32BE(used + LAST_OFFSET_DELTA);
        if (last >= bound) break;
        // A hole or a fenced writer's bytes past a truncation: offsets must keep growing.
        if (batchSize < MIN_BATCH_BYTES || base < expect || last < base) break;
        expect = last + 1;
        if (used + batchSize > buf.length) {
          if (used > 0 || !minOne) break;
          buf = Buffer.alloc(batchSize);
          await fh.read(buf, 0, batchSize, start);
          return buf;
        }
        used += batchSize;
      }
      return buf.subarray(0, used);
    } finally {
      await fh.close();
    }
  }

  /** Position of the batch holding `offset`, scanning headers from the nearest checkpoint. */
  private async locate(fh: import('node:fs/promises').FileHandle, path: string, base: number, offset: number, size: number): Promise<number | null> {
    let cps = this.checkpoints.get(path);
    if (!cps) this.checkpoints.set(path, (cps = [{ offset: base, position: 0 }]));
    let lo = 0;
    for (let k = cps.length - 1; k >= 0; k--) {
      if (cps[k]!.offset <= offset) {
        lo = k;
        break;
      }
    }
    let pos = cps[lo]!.position;
    const head = Buffer.alloc(LAST_OFFSET_DELTA + 4);
    if (lo > 0) {
      // The file may have been truncated and rewritten since (a takeover): trust a checkpoint
      // only if the batch it names is still there.
      const { bytesRead } = await fh.read(head, 0, head.length, pos);
      if (bytesRead < head.length || Number(head.readBigInt64BE(BASE_OFFSET)) !== cps[lo]!.offset) {
        cps.splice(1);
        pos = 0;
      }
    }
    let lastCp = pos;
    let prevBase = -1;
    while (pos + head.length <= size) {
      const { bytesRead } = await fh.read(head, 0, head.length, pos);
      if (bytesRead < head.length) return null;
      const batchBase = Number(head.readBigInt64BE(BASE_OFFSET));
      const batchSize = head.readInt32BE(BATCH_LENGTH) + LOG_OVERHEAD;
      if (batchSize < MIN_BATCH_BYTES || batchBase < prevBase) return null;
      prevBase = batchBase;
      if (pos - lastCp >= CHECKPOINT_BYTES && batchBase > cps[cps.length - 1]!.offset) {
        cps.push({ offset: batchBase, position: pos });
        lastCp = pos;
      }
      if (batchBase + head.readInt32BE(LAST_OFFSET_DELTA) >= offset) return pos;
      pos += batchSize;
    }
    return null;
  }
}

/**
 * A partition led by another broker, as a Fetch reads it: offsets up to the high watermark the
 * leader last published in the control store.
 */
export class RemotePartition {
  logStartOffset = 0;

  constructor(
    private readonly reader: SharedPartitionReader,
    private readonly state: () => { epoch: number; highWatermark: number },
    private readonly subscribe: (listener: () => void) => () => void,
  ) {}

  get highWatermark(): number {
    return this.state().highWatermark;
  }
  /**
   * Unknown here: the leader may be ahead of the last published value this broker heard of, so
   * a fetch past it waits for data instead of failing with OFFSET_OUT_OF_RANGE.
   */
  get logEndOffset(): number {
    return Number.MAX_SAFE_INTEGER;
  }
  get leaderEpoch(): number {
    return this.state().epoch;
  }

  async refresh(): Promise<this> {
    this.logStartOffset = Math.min(await this.reader.logStartOffset(), this.highWatermark);
    return this;
  }

  async read(offset: number, maxBytes: number, opts?: { minOneBatch?: boolean; upTo?: number }): Promise<Buffer> {
    const hw = this.highWatermark;
    if (offset < this.logStartOffset || offset > hw) throw new LogError('OFFSET_OUT_OF_RANGE', `offset ${offset} is outside [${this.logStartOffset}, ${hw}]`);
    return this.reader.read(offset, maxBytes, Math.min(opts?.upTo ?? hw, hw), opts?.minOneBatch === true);
  }

  onAdvance(listener: () => void): () => void {
    return this.subscribe(listener);
  }
}
