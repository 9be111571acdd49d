import { describe, expect, it } from 'vitest';
import { Reader } from '../../broker/protocol/primitives/reader.js';
import { Writer } from '../../broker/protocol/primitives/writer.js';

function bytesOf(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return b;
}

describe('int64 without BigInt', () => {
  const exact = [0, 1, -1, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), 1_732_700_000_000, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, -123_456_789_012];

  it('reads exact values and clamps values outside the safe range', () => {
    for (const v of exact) expect(new Reader(bytesOf(BigInt(v))).int64()).toBe(v);
    expect(new Reader(bytesOf(2n ** 53n)).int64()).toBe(Number.MAX_SAFE_INTEGER);
    expect(new Reader(bytesOf(2n ** 63n - 1n)).int64()).toBe(Number.MAX_SAFE_INTEGER);
    expect(new Reader(bytesOf(-(2n ** 53n))).int64()).toBe(Number.MIN_SAFE_INTEGER);
    expect(new Reader(bytesOf(-(2n ** 63n))).int64()).toBe(Number.MIN_SAFE_INTEGER);
  });

  it('writes the same bytes as the BigInt encoding', () => {
    for (const v of exact) expect(new Writer(16).int64(v).toBuffer().equals(bytesOf(BigInt(v)))).toBe(true);
    expect(new Writer(16).int64(2 ** 63).toBuffer().equals(bytesOf(2n ** 63n - 1n))).toBe(true);
    expect(new Writer(16).int64(1.5).toBuffer().equals(bytesOf(1n))).toBe(true);
    expect(new Writer(16).int64(-(2n ** 63n)).toBuffer().equals(bytesOf(-(2n ** 63n)))).toBe(true);
  });
});
