import { describe, expect, it } from 'vitest';
import { Cursor, sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from '../../broker/protocol/records/varint.js';
import { RecordsError } from '../../broker/protocol/records/errors.js';

function encInt(v: number): Buffer {
  const b = Buffer.alloc(10);
  return b.subarray(0, writeVarint(b, 0, v));
}
function encLong(v: number): Buffer {
  const b = Buffer.alloc(10);
  return b.subarray(0, writeVarlong(b, 0, v));
}
const cur = (b: Buffer) => new Cursor(b, 0, b.length);

describe('zigzag varints', () => {
  it('encodes the protobuf zigzag vectors', () => {
    expect(encInt(0).toString('hex')).toBe('00');
    expect(encInt(-1).toString('hex')).toBe('01');
    expect(encInt(1).toString('hex')).toBe('02');
    expect(encInt(63).toString('hex')).toBe('7e');
    expect(encInt(-64).toString('hex')).toBe('7f');
    expect(encInt(64).toString('hex')).toBe('8001');
    expect(encInt(300).toString('hex')).toBe('d804');
    expect(encInt(2147483647).toString('hex')).toBe('feffffff0f');
    expect(encInt(-2147483648).toString('hex')).toBe('ffffffff0f');
    expect(encLong(-1).toString('hex')).toBe('01');
    expect(encLong(2 ** 31).toString('hex')).toBe('8080808010');
  });

  it('round-trips int32 and safe int64 values with matching sizes', () => {
    const ints = [0, 1, -1, 127, -128, 8191, -8192, 1 << 20, -(1 << 27), 2147483647, -2147483648];
    for (const v of ints) {
      const b = encInt(v);
      expect(b.length).toBe(sizeOfVarint(v));
      expect(cur(b).varint()).toBe(v);
    }
    const longs = [...ints, 2 ** 40, -(2 ** 40) - 7, 1_700_000_000_000, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    for (const v of longs) {
      const b = encLong(v);
      expect(b.length).toBe(sizeOfVarlong(v));
      expect(cur(b).varlong()).toBe(v);
    }
  });

  it('decodes full-width 64-bit varlongs written by other clients', () => {
    // Long.MIN_VALUE and Long.MAX_VALUE zigzag to all-ones / all-ones-but-one (10 bytes).
    expect(cur(Buffer.from('ffffffffffffffffff01', 'hex')).varlong()).toBe(-(2 ** 63));
    expect(cur(Buffer.from('feffffffffffffffff01', 'hex')).varlong()).toBe(2 ** 63);
    expect(encLong(Number.MAX_SAFE_INTEGER).toString('hex')).toBe('feffffffffffff1f');
    const c = cur(Buffer.from('ffffffffffffffffff0102', 'hex'));
    c.varlong();
    expect(c.varint()).toBe(1); // the cursor stopped right after the 10-byte value
  });

  it('rejects truncated and over-long varints with INVALID_RECORD', () => {
    expect(() => cur(Buffer.from([0x80, 0x80])).varint()).toThrow(RecordsError);
    expect(() => cur(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).varint()).toThrow(/longer than 5/);
    expect(() => cur(Buffer.alloc(11, 0xff)).varlong()).toThrow(/longer than 10/);
    try {
      cur(Buffer.from([0x80])).varint();
    } catch (e) {
      expect((e as RecordsError).code).toBe(87);
    }
  });

  it('respects the cursor end, not just the buffer end', () => {
    const b = Buffer.from([0x02, 0x04, 0x06]);
    const c = new Cursor(b, 0, 1);
    expect(c.varint()).toBe(1);
    expect(() => c.varint()).toThrow(RecordsError);
    expect(() => new Cursor(b, 0, 2).bytes(3)).toThrow(RecordsError);
  });

  it('refuses to write values outside their type', () => {
    expect(() => writeVarint(Buffer.alloc(10), 0, 2 ** 31)).toThrow(RangeError);
    expect(() => writeVarlong(Buffer.alloc(10), 0, 2 ** 60)).toThrow(RangeError);
  });
});
