// Zigzag varint (int32) and varlong (int64) as used inside v2 records, with bounds checks.
// Varlongs are carried as JS numbers: exact up to 2^53, which covers ms timestamps.

import { invalidRecord } from './errors.js';

/** Bounds-checked reader over buf[pos, end); every overrun throws INVALID_RECORD, as Java does. */
export class Cursor {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  get remaining(): number {
    return this.end - this.pos;
  }

  int8(): number {
    if (this.pos >= this.end) throw invalidRecord('record data ends early');
    return this.buf.readInt8(this.pos++);
  }

  varint(): number {
    const buf = this.buf;
    let raw = 0;
    for (let i = 0, shift = 0; i < 5; i++, shift += 7) {
      if (this.pos >= this.end) throw invalidRecord('varint runs past the end of the data');
      const b = buf[this.pos++]!;
      raw |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return (raw >>> 1) ^ -(raw & 1);
    }
    throw invalidRecord('varint is longer than 5 bytes');
  }

  varlong(): number {
    const buf = this.buf;
    const start = this.pos;
    let value = 0;
    let mul = 1;
    // Up to 7 bytes (49 bits) doubles are exact; longer encodings take the BigInt path.
    for (let i = 0; i < 7; i++, mul *= 128) {
      if (this.pos >= this.end) throw invalidRecord('varlong runs past the end of the data');
      const b = buf[this.pos++]!;
      value += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    }
    this.pos = start;
    return this.bigVarlong();
  }

  private bigVarlong(): number {
    let raw = 0n;
    for (let i = 0n; i < 10n; i++) {
      if (this.pos >= this.end) throw invalidRecord('varlong runs past the end of the data');
      const b = this.buf[this.pos++]!;
      raw |= BigInt(b & 0x7f) << (7n * i);
      if ((b & 0x80) === 0) {
        raw = BigInt.asUintN(64, raw);
        return Number((raw >> 1n) ^ -(raw & 1n));
      }
    }
    throw invalidRecord('varlong is longer than 10 bytes');
  }

  /** A view (not a copy) of the next `len` bytes. */
  bytes(len: number): Buffer {
    this.skip(len);
    return this.buf.subarray(this.pos - len, this.pos);
  }

  skip(len: number): void {
    if (len < 0 || len > this.end - this.pos) throw invalidRecord(`length ${len} exceeds the ${this.end - this.pos} bytes left`);
    this.pos += len;
  }
}

function zigzag32(value: number): number {
  return ((value << 1) ^ (value >> 31)) >>> 0;
}

/** Below this magnitude the zigzag value (2|v| + 1) is still exact in a double. */
const EXACT = 2 ** 52;

function zigzag64(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

function zigzag64Big(value: number): bigint {
  const v = BigInt(value);
  return BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
}

export function sizeOfVarint(value: number): number {
  let v = zigzag32(value);
  let n = 1;
  while (v >= 0x80) {
    v >>>= 7;
    n++;
  }
  return n;
}

export function sizeOfVarlong(value: number): number {
  if (Math.abs(value) >= EXACT) {
    let big = zigzag64Big(value);
    let n = 1;
    while (big >= 128n) {
      big >>= 7n;
      n++;
    }
    return n;
  }
  let v = zigzag64(value);
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Writes `value` (int32) at pos; returns the position after it. */
export function writeVarint(buf: Buffer, pos: number, value: number): number {
  if ((value | 0) !== value) throw new RangeError(`varint value ${value} is not an int32`);
  let v = zigzag32(value);
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Writes a safe-integer `value` as a zigzag varlong at pos; returns the position after it. */
export function writeVarlong(buf: Buffer, pos: number, value: number): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`varlong value ${value} is not a safe integer`);
  if (Math.abs(value) >= EXACT) {
    let big = zigzag64Big(value);
    while (big >= 128n) {
      buf[pos++] = Number(big & 0x7fn) | 0x80;
      big >>= 7n;
    }
    buf[pos++] = Number(big);
    return pos;
  }
  let v = zigzag64(value);
  while (v >= 128) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}
