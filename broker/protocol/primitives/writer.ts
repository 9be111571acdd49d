const CHUNK = 64 * 1024;
/** Byte fields at least this large are referenced, not copied (record sets in Fetch responses). */
const ZERO_COPY_MIN = 4096;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/**
 * Big-endian writer producing a list of buffers. Large byte fields are appended by reference so
 * a Fetch response carrying megabytes of stored batches is never copied into one buffer.
 */
export class Writer {
  private chunks: Buffer[] = [];
  private buf: Buffer;
  private pos = 0;
  private flushed = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  get length(): number {
    return this.flushed + this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.pos > 0) {
      this.chunks.push(this.buf.subarray(0, this.pos));
      this.flushed += this.pos;
    }
    // Grow geometrically: most responses are small, and a 64 KiB chunk per response is GC churn.
    this.buf = Buffer.allocUnsafe(Math.max(n, Math.min(CHUNK, Math.max(256, this.flushed * 2))));
    this.pos = 0;
  }

  int8(v: number): this {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
    return this;
  }
  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }
  int16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }
  uint16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }
  int32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }
  uint32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }
  int64(v: number | bigint): this {
    this.ensure(8);
    if (typeof v === 'number' && Number.isSafeInteger(v)) {
      // Split into halves without a BigInt: offsets and timestamps are written per partition.
      const hi = Math.floor(v / 0x1_0000_0000);
      this.buf.writeInt32BE(hi, this.pos);
      this.buf.writeUInt32BE(v - hi * 0x1_0000_0000, this.pos + 4);
      this.pos += 8;
      return this;
    }
    let b = typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
    if (b > INT64_MAX) b = INT64_MAX;
    else if (b < INT64_MIN) b = INT64_MIN;
    this.buf.writeBigInt64BE(b, this.pos);
    this.pos += 8;
    return this;
  }
  float64(v: number): this {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
    return this;
  }
  uuid(v: string): this {
    const b = Buffer.from(v, 'base64url');
    if (b.length !== 16) throw new RangeError(`bad uuid ${v}`);
    return this.raw(b);
  }
  uvarint(v: number): this {
    this.ensure(5);
    let n = v >>> 0;
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.pos++] = n;
    return this;
  }
  varint(v: number): this {
    return this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  string(v: string): this {
    const n = Buffer.byteLength(v);
    this.int16(n);
    return this.utf8(v, n);
  }
  nullableString(v: string | null | undefined): this {
    if (v == null) return this.int16(-1);
    return this.string(v);
  }
  compactString(v: string): this {
    const n = Buffer.byteLength(v);
    this.uvarint(n + 1);
    return this.utf8(v, n);
  }
  compactNullableString(v: string | null | undefined): this {
    if (v == null) return this.uvarint(0);
    return this.compactString(v);
  }
  private utf8(v: string, n: number): this {
    this.ensure(n);
    this.buf.write(v, this.pos, n, 'utf8');
    this.pos += n;
    return this;
  }

  bytes(v: Buffer): this {
    this.int32(v.length);
    return this.raw(v);
  }
  nullableBytes(v: Buffer | null | undefined): this {
    if (v == null) return this.int32(-1);
    return this.bytes(v);
  }
  compactBytes(v: Buffer): this {
    this.uvarint(v.length + 1);
    return this.raw(v);
  }
  compactNullableBytes(v: Buffer | null | undefined): this {
    if (v == null) return this.uvarint(0);
    return this.compactBytes(v);
  }

  /** Appends bytes; large ones by reference (the caller must not mutate them afterwards). */
  raw(v: Buffer): this {
    if (v.length >= ZERO_COPY_MIN) {
      if (this.pos > 0) {
        this.chunks.push(this.buf.subarray(0, this.pos));
        this.flushed += this.pos;
        this.buf = this.buf.subarray(this.pos);
        this.pos = 0;
      }
      this.chunks.push(v);
      this.flushed += v.length;
      return this;
    }
    this.ensure(v.length);
    v.copy(this.buf, this.pos);
    this.pos += v.length;
    return this;
  }

  /** The written bytes as a list of buffers (no copy). */
  finish(): Buffer[] {
    if (this.pos > 0) {
      this.chunks.push(this.buf.subarray(0, this.pos));
      this.flushed += this.pos;
      this.buf = this.buf.subarray(this.pos);
      this.pos = 0;
    }
    return this.chunks;
  }

  /** The written bytes as one buffer (copies when there are several chunks). */
  toBuffer(): Buffer {
    const parts = this.finish();
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}
