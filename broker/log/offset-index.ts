/** Sparse offset index: entries (offset - base: int32, file position: int32), both increasing. */
export class OffsetIndex {
  static readonly ENTRY_BYTES = 8;
  private buf: Buffer;
  private n = 0;

  constructor(readonly baseOffset: number) {
    this.buf = Buffer.allocUnsafe(64 * OffsetIndex.ENTRY_BYTES);
  }

  /** Keeps the longest valid prefix of `data`: increasing entries pointing below `dataSize`. */
  static load(baseOffset: number, data: Buffer, dataSize: number): OffsetIndex {
    const idx = new OffsetIndex(baseOffset);
    const count = Math.floor(data.length / OffsetIndex.ENTRY_BYTES);
    let lastRel = -1;
    let lastPos = -1;
    for (let i = 0; i < count; i++) {
      const rel = data.readInt32BE(i * 8);
      const pos = data.readInt32BE(i * 8 + 4);
      if (rel <= lastRel || pos <= lastPos || pos >= dataSize) break;
      idx.append(baseOffset + rel, pos);
      lastRel = rel;
      lastPos = pos;
    }
    return idx;
  }

  get count(): number {
    return this.n;
  }

  /** Last indexed (offset, position), or the segment start. */
  last(): { offset: number; position: number } {
    if (this.n === 0) return { offset: this.baseOffset, position: 0 };
    return this.entry(this.n - 1);
  }

  append(offset: number, position: number): void {
    if (this.n * 8 === this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.n * 8);
      this.buf = bigger;
    }
    this.buf.writeInt32BE(offset - this.baseOffset, this.n * 8);
    this.buf.writeInt32BE(position, this.n * 8 + 4);
    this.n++;
  }

  /** Largest entry with offset <= target, or the segment start. */
  floor(offset: number): { offset: number; position: number } {
    const rel = offset - this.baseOffset;
    let lo = 0;
    let hi = this.n - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.buf.readInt32BE(mid * 8) <= rel) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? { offset: this.baseOffset, position: 0 } : this.entry(found);
  }

  /** Drops entries at or after `position` (used when the data file is truncated). */
  truncateToPosition(position: number): void {
    while (this.n > 0 && this.buf.readInt32BE((this.n - 1) * 8 + 4) >= position) this.n--;
  }

  toBuffer(): Buffer {
    return this.buf.subarray(0, this.n * 8);
  }

  private entry(i: number): { offset: number; position: number } {
    return { offset: this.baseOffset + this.buf.readInt32BE(i * 8), position: this.buf.readInt32BE(i * 8 + 4) };
  }
}
