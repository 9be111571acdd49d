/** Thrown for any frame that does not parse: callers answer with an error or close the connection. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

/** High int32 half at which an int64 leaves the safe-integer range (2^53 = 2^21 * 2^32). */
const HI_SAFE_LIMIT = 0x20_0000;

/** Bounds-checked big-endian reader over one frame. Never reads past `end`. */
export class Reader {
  pos: number;
  readonly end: number;

  constructor(readonly buf: Buffer, start = 0, end = buf.length) {
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new ProtocolError(`truncated frame: need ${n} bytes at ${this.pos}, have ${this.end - this.pos}`);
    }
  }

  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }
  bool(): boolean {
    return this.int8() !== 0;
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  uint16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  uint32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  /** int64 as a JS number; values beyond 2^53 (e.g. Long.MAX_VALUE sentinels) are clamped. */
  int64(): number {
    this.need(8);
    // Two int32 halves instead of a BigInt: this runs for every offset and timestamp field.
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    if (hi >= HI_SAFE_LIMIT) return Number.MAX_SAFE_INTEGER;
    if (hi < -HI_SAFE_LIMIT) return Number.MIN_SAFE_INTEGER;
    const v = hi * 0x1_0000_0000 + lo;
    return v < Number.MIN_SAFE_INTEGER ? Number.MIN_SAFE_INTEGER : v;
  }
  float64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }
  uuid(): string {
    this.need(16);
    const s = this.buf.toString('base64url', this.pos, this.pos + 16);
    this.pos += 16;
    return s;
  }
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      this.need(1);
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
    throw new ProtocolError('varint too long');
  }
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  private checkLen(n: number, what: string): number {
    if (n > this.end - this.pos) throw new ProtocolError(`${what} length ${n} exceeds frame (${this.end - this.pos} left)`);
    return n;
  }

  string(): string {
    const n = this.int16();
    if (n < 0) throw new ProtocolError('null string in non-nullable field');
    return this.utf8(n);
  }
  nullableString(): string | null {
    const n = this.int16();
    return n < 0 ? null : this.utf8(n);
  }
  compactString(): string {
    const n = this.uvarint() - 1;
    if (n < 0) throw new ProtocolError('null string in non-nullable field');
    return this.utf8(n);
  }
  compactNullableString(): string | null {
    const n = this.uvarint() - 1;
    return n < 0 ? null : this.utf8(n);
  }
  private utf8(n: number): string {
    this.checkLen(n, 'string');
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** Byte fields are views into the frame (no copy); keep the frame alive while they are used. */
  bytes(): Buffer {
    const n = this.int32();
    if (n < 0) throw new ProtocolError('null bytes in non-nullable field');
    return this.slice(n);
  }
  nullableBytes(): Buffer | null {
    const n = this.int32();
    return n < 0 ? null : this.slice(n);
  }
  compactBytes(): Buffer {
    const n = this.uvarint() - 1;
    if (n < 0) throw new ProtocolError('null bytes in non-nullable field');
    return this.slice(n);
  }
  compactNullableBytes(): Buffer | null {
    const n = this.uvarint() - 1;
    return n < 0 ? null : this.slice(n);
  }
  slice(n: number): Buffer {
    this.checkLen(n, 'bytes');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** Array length (null => -1). Guards against absurd counts before any allocation. */
  arrayLength(): number {
    const n = this.int32();
    if (n > this.end - this.pos) throw new ProtocolError(`array length ${n} exceeds frame`);
    return n;
  }
  compactArrayLength(): number {
    const n = this.uvarint() - 1;
    if (n > this.end - this.pos) throw new ProtocolError(`array length ${n} exceeds frame`);
    return n;
  }

  /** Skips a tagged-field section, calling `onTag` for each tag; unknown tags are skipped. */
  taggedFields(onTag?: (tag: number, r: Reader) => boolean): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint();
      const size = this.checkLen(this.uvarint(), 'tagged field');
      const end = this.pos + size;
      if (onTag) {
        const sub = new Reader(this.buf, this.pos, end);
        if (onTag(tag, sub) && sub.pos !== end) {
          throw new ProtocolError(`tagged field ${tag} has ${end - sub.pos} unread bytes`);
        }
      }
      this.pos = end;
    }
  }
}
