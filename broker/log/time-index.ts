import { readInt64, writeInt64 } from './file-io.js';

/**
 * Sparse time index: entries (largest timestamp so far: int64, offset - base: int32) with
 * strictly increasing timestamps. Every batch up to an entry's offset has maxTimestamp <= its
 * timestamp, which is what lets a lookup skip ahead.
 */
export class TimeIndex {
  static readonly ENTRY_BYTES = 12;
  private buf: Buffer;
  private n = 0;

  constructor(readonly baseOffset: number) {
    this.buf = Buffer.allocUnsafe(64 * TimeIndex.ENTRY_BYTES);
  }

  /** Keeps the longest valid prefix: increasing timestamps, non-decreasing offsets below `nextOffset`. */
  static load(baseOffset: number, data: Buffer, nextOffset: number): TimeIndex {
    const idx = new TimeIndex(baseOffset);
    const count = Math.floor(data.length / TimeIndex.ENTRY_BYTES);
    for (let i = 0; i < count; i++) {
      const ts = readInt64(data, i * 12);
      const offset = baseOffset + data.readInt32BE(i * 12 + 8);
      const prev = idx.n > 0 ? idx.entry(idx.n - 1) : null;
      if (offset < baseOffset || offset >= nextOffset) break;
      if (prev !== null && (ts <= prev.timestamp || offset < prev.offset)) break;
      idx.maybeAppend(ts, offset);
    }
    return idx;
  }

  get count(): number {
    return this.n;
  }

  last(): { timestamp: number; offset: number } | null {
    return this.n === 0 ? null : this.entry(this.n - 1);
  }

  /** Adds an entry if `timestamp` is larger than the last one. */
  maybeAppend(timestamp: number, offset: number): void {
    const last = this.last();
    if (last !== null && timestamp <= last.timestamp) return;
    this.append(timestamp, offset);
  }

  /** Offset of the last entry with timestamp < ts; null if none. */
  lastBefore(ts: number): number | null {
    let lo = 0;
    let hi = this.n - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (readInt64(this.buf, mid * 12) < ts) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? null : this.entry(found).offset;
  }

  /** Drops entries pointing at or past `offset`. */
  truncateToOffset(offset: number): void {
    while (this.n > 0 && this.entry(this.n - 1).offset >= offset) this.n--;
  }

  toBuffer(): Buffer {
    return this.buf.subarray(0, this.n * 12);
  }

  private append(timestamp: number, offset: number): void {
    if (this.n * 12 === this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.n * 12);
      this.buf = bigger;
    }
    writeInt64(this.buf, this.n * 12, timestamp);
    this.buf.writeInt32BE(offset - this.baseOffset, this.n * 12 + 8);
    this.n++;
  }

  private entry(i: number): { timestamp: number; offset: number } {
    return { timestamp: readInt64(this.buf, i * 12), offset: this.baseOffset + this.buf.readInt32BE(i * 12 + 8) };
  }
}
