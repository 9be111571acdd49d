// Serves a partition another broker writes, straight from the shared segment files. It never
// writes or recovers anything: it trusts only offsets below the published high watermark, and
// bounds every segment by the base offset of the next one (a fenced writer's late bytes in a
// sealed segment therefore stay invisible).
import { open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BASE_OFFSET, LAST_OFFSET_DELTA, LOG_OVERHEAD, MAX_TIMESTAMP } from '../protocol/records/batch-header.js';
import { BatchCursor } from '../protocol/records/batch-iterator.js';
import { parseSegmentFile, segmentPath, type ParsedSegmentFile } from '../log/segment-files.js';
import { META_FILE } from '../log/partition-meta.js';
import { LogError } from '../log/index.js';
import { splitFencedSegments } from './fenced-segments.js';

const EMPTY = Buffer.alloc(0);
/** One position checkpoint per this many bytes scanned, per segment file. */
const CHECKPOINT_BYTES = 256 << 10;
/** Header scans (timestamp lookups) read segment files in chunks of this size. */
const SCAN_CHUNK = 1 << 20;
const HEADER_BYTES = MAX_TIMESTAMP + 8;
/** Enough of a header for a batch's length and offsets. */
const HEAD_BYTES = LAST_OFFSET_DELTA + 4;

/** Points `c` at the batch whose first bytes `head` holds; false if its length is invalid. */
function peek(c: BatchCursor, head: Buffer): boolean {
  c.reset(head);
  return c.next() || c.stop === 'torn';
}

/** One stored batch as a header scan sees it. */
interface BatchHead {
  base: number;
  last: number;
  maxTimestamp: number;
}

interface Checkpoint {
  offset: number;
  position: number;
}

export class SharedPartitionReader {
  /** Per segment file: batch start positions learned so far, ascending. */
  private readonly checkpoints = new Map<string, Checkpoint[]>();

  /** Largest batch timestamp of a segment below its successor's base ('path@bound'): fixed once sealed. */
  private readonly sealedMaxTs = new Map<string, number>();

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

  /**
   * The first batch below `upTo` whose max timestamp is at least `ts` (its base offset and max
   * timestamp), or null. Scans batch headers only: indexes on the shared medium may have been
   * written by a fenced writer, so they are not trusted here.
   */
  async offsetForTimestamp(ts: number, upTo: number): Promise<{ offset: number; timestamp: number } | null> {
    const segs = await this.segments();
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      const next = segs[i + 1];
      const bound = next !== undefined ? Math.min(upTo, next.baseOffset) : upTo;
      if (seg.baseOffset >= upTo) break;
      const key = this.sealedKey(seg, next, upTo);
      const known = key === null ? undefined : this.sealedMaxTs.get(key);
      if (known !== undefined && known < ts) continue;
      let hit: { offset: number; timestamp: number } | null = null;
      const max = await this.scanHeaders(seg, bound, (b) => {
        if (hit === null && b.maxTimestamp >= ts) hit = { offset: b.base, timestamp: b.maxTimestamp };
        // The whole segment is scanned only when its maximum is to be remembered.
        return hit === null || (key !== null && known === undefined);
      });
      if (key !== null && known === undefined && max.complete) this.sealedMaxTs.set(key, max.maxTimestamp);
      // A hole (a fenced writer's bytes past a takeover's cut) ends what this segment can serve.
      if (hit !== null) return hit;
    }
    return null;
  }

  /** Base offset and timestamp of the batch with the largest timestamp below `upTo`; (-1, -1) if none. */
  async maxTimestamp(upTo: number): Promise<{ offset: number; timestamp: number }> {
    const segs = await this.segments();
    let best = { offset: -1, timestamp: -1 };
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      const next = segs[i + 1];
      if (seg.baseOffset >= upTo) break;
      const bound = next !== undefined ? Math.min(upTo, next.baseOffset) : upTo;
      const key = this.sealedKey(seg, next, upTo);
      const known = key === null ? undefined : this.sealedMaxTs.get(key);
      if (known !== undefined && known <= best.timestamp) continue;
      const res = await this.scanHeaders(seg, bound, (b) => {
        if (b.maxTimestamp > best.timestamp) best = { offset: b.base, timestamp: b.maxTimestamp };
        return true;
      });
      if (key !== null && res.complete) this.sealedMaxTs.set(key, res.maxTimestamp);
    }
    return best;
  }

  /** Cache key of a segment whose readable range is final (it has a successor below `upTo`); else null. */
  private sealedKey(seg: ParsedSegmentFile, next: ParsedSegmentFile | undefined, upTo: number): string | null {
    if (next === undefined || next.baseOffset > upTo) return null;
    return `${segmentPath(this.dir, seg.baseOffset, seg.epoch, 'log')}@${next.baseOffset}`;
  }

  /**
   * Visits the headers of a segment's whole batches below `bound`, in order, until `visit`
   * returns false. `complete`: the scan reached the bound or the clean end of the file.
   */
  private async scanHeaders(seg: ParsedSegmentFile, bound: number, visit: (b: BatchHead) => boolean): Promise<{ complete: boolean; maxTimestamp: number }> {
    let fh: import('node:fs/promises').FileHandle;
    try {
      fh = await open(segmentPath(this.dir, seg.baseOffset, seg.epoch, 'log'), 'r');
    } catch (err) {
      // Retention or a takeover removed it meanwhile.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { complete: false, maxTimestamp: -1 };
      throw err;
    }
    try {
      const size = (await fh.stat()).size;
      const buf = Buffer.alloc(Math.min(SCAN_CHUNK, Math.max(size, HEADER_BYTES)));
      let bufPos = 0;
      let bufLen = 0;
      let pos = 0;
      let expect = 0;
      let maxTimestamp = -1;
      const c = new BatchCursor();
      while (pos < size) {
        if (pos + HEADER_BYTES > bufPos + bufLen) {
          if (pos + HEADER_BYTES > size) return { complete: false, maxTimestamp };
          bufPos = pos;
          bufLen = (await fh.read(buf, 0, Math.min(buf.length, size - pos), pos)).bytesRead;
          if (bufLen < HEADER_BYTES) return { complete: false, maxTimestamp };
        }
        // Headers only: a batch the chunk cuts is used if its header is in it.
        c.reset(buf, pos - bufPos, bufLen);
        for (;;) {
          const inChunk = c.next();
          pos = bufPos + c.position;
          if (!inChunk && (c.stop === 'end' || c.available < HEADER_BYTES)) break;
          const base = c.baseOffset;
          const last = c.lastOffset;
          if (last >= bound) return { complete: true, maxTimestamp };
          if (c.stop === 'corrupt' || base < expect || last < base || pos + c.size > size) return { complete: false, maxTimestamp };
          expect = last + 1;
          const ts = c.maxTimestamp;
          if (ts > maxTimestamp) maxTimestamp = ts;
          if (!visit({ base, last, maxTimestamp: ts })) return { complete: false, maxTimestamp };
          if (!inChunk) {
            pos += c.size;
            break;
          }
        }
      }
      return { complete: true, maxTimestamp };
    } finally {
      await fh.close();
    }
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
      const { data, complete } = await this.readSegment(seg, from, maxBytes - total, bound, minOneBatch && total === 0);
      if (data.length > 0) {
        parts.push(data);
        total += data.length;
      }
      if (bound === upTo || total >= maxBytes) break;
      // Only a segment read through to its bound (or its clean end) may be followed by the next
      // one: a read cut short by the byte budget, a partial window or a hole would otherwise
      // make the caller skip the rest of this segment.
      if (!complete) break;
      from = next!.baseOffset;
    }
    return parts.length === 1 ? parts[0]! : total === 0 ? EMPTY : Buffer.concat(parts, total);
  }

  /**
   * Whole batches of one segment file from the one holding `offset`, none at or past `bound`.
   * `complete`: nothing below `bound` is left unread in this file (the read stopped at a batch at
   * or past the bound, or at the clean end of the file), so the caller may go on to the next.
   */
  private async readSegment(seg: ParsedSegmentFile, offset: number, maxBytes: number, bound: number, minOne: boolean): Promise<{ data: Buffer; complete: boolean }> {
    const path = segmentPath(this.dir, seg.baseOffset, seg.epoch, 'log');
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      const start = await this.locate(fh, path, seg.baseOffset, offset, size);
      if (start === 'end') return { data: EMPTY, complete: true };
      if (start === 'hole') return { data: EMPTY, complete: false };
      // Read a window and keep the whole batches below the bound.
      const want = Math.min(size - start, Math.max(maxBytes, minOne ? LOG_OVERHEAD + 4 : 0));
      let buf = Buffer.alloc(Math.max(0, want));
      const { bytesRead } = await fh.read(buf, 0, buf.length, start);
      buf = buf.subarray(0, bytesRead);
      const c = new BatchCursor().reset(buf);
      let expect = 0;
      while (c.next()) {
        const base = c.baseOffset;
        const last = c.lastOffset;
        if (last >= bound) return { data: buf.subarray(0, c.position), complete: true };
        // A hole or a fenced writer's bytes past a truncation: offsets must keep growing.
        if (base < expect || last < base) return { data: buf.subarray(0, c.position), complete: false };
        expect = last + 1;
      }
      const used = c.position;
      if (c.available < HEAD_BYTES) {
        // Every byte of the file up to its end was a whole batch below the bound.
        if (start + used === size) return { data: buf.subarray(0, used), complete: true };
        if (used > 0 || !minOne) return { data: buf.subarray(0, used), complete: false };
        // The first batch is larger than maxBytes: send it whole anyway.
        const head = Buffer.alloc(HEAD_BYTES);
        const r = await fh.read(head, 0, head.length, start);
        if (r.bytesRead < head.length || !peek(c, head) || c.lastOffset >= bound || start + c.size > size) return { data: EMPTY, complete: false };
        return { data: await this.readWhole(fh, start, c.size), complete: false };
      }
      // The window cuts a batch (or holds bytes that are not one) whose header it holds.
      const base = c.baseOffset;
      const last = c.lastOffset;
      if (last >= bound) return { data: buf.subarray(0, used), complete: true };
      if (c.stop === 'corrupt' || base < expect || last < base) return { data: buf.subarray(0, used), complete: false };
      if (used > 0 || !minOne || start + c.size > size) return { data: buf.subarray(0, used), complete: false };
      return { data: await this.readWhole(fh, start, c.size), complete: false };
    } finally {
      await fh.close();
    }
  }

  private async readWhole(fh: import('node:fs/promises').FileHandle, position: number, size: number): Promise<Buffer> {
    const buf = Buffer.alloc(size);
    const { bytesRead } = await fh.read(buf, 0, size, position);
    return bytesRead === size ? buf : EMPTY;
  }

  /**
   * Position of the batch holding `offset` (or the first one past it), scanning headers from the
   * nearest checkpoint; 'end' if the file ends cleanly before it, 'hole' at anything else.
   */
  private async locate(fh: import('node:fs/promises').FileHandle, path: string, base: number, offset: number, size: number): Promise<number | 'end' | 'hole'> {
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
    const head = Buffer.alloc(HEAD_BYTES);
    const c = new BatchCursor();
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
      if (bytesRead < head.length || !peek(c, head)) return 'hole';
      const batchBase = c.baseOffset;
      if (batchBase < prevBase) return 'hole';
      prevBase = batchBase;
      if (pos - lastCp >= CHECKPOINT_BYTES && batchBase > cps[cps.length - 1]!.offset) {
        cps.push({ offset: batchBase, position: pos });
        lastCp = pos;
      }
      if (c.lastOffset >= offset) return pos;
      pos += c.size;
    }
    return pos === size ? 'end' : 'hole';
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

  /** First batch at or after the log start, below the high watermark, with a max timestamp >= ts. */
  async offsetForTimestamp(ts: number): Promise<{ offset: number; timestamp: number } | null> {
    const hit = await this.reader.offsetForTimestamp(ts, this.highWatermark);
    return hit === null ? null : { offset: Math.max(hit.offset, this.logStartOffset), timestamp: hit.timestamp };
  }

  maxTimestamp(): Promise<{ offset: number; timestamp: number }> {
    return this.reader.maxTimestamp(this.highWatermark);
  }

  onAdvance(listener: () => void): () => void {
    return this.subscribe(listener);
  }
}
