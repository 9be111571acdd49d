import { describe, expect, it } from 'vitest';
import { BATCH_LENGTH, HEADER_SIZE, LOG_OVERHEAD } from '../../broker/protocol/records/batch-header.js';
import { BatchCursor, countRecords } from '../../broker/protocol/records/batch-iterator.js';
import { encodeBatchSync } from '../../broker/protocol/records/records.js';

const T0 = 1_700_000_000_000;

function batch(baseOffset: number, n: number): Buffer {
  const records = Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `v${baseOffset + i}`, timestamp: T0 + i }));
  return encodeBatchSync({ records, baseOffset });
}

function walk(buf: Buffer, start?: number, end?: number): { seen: Array<{ position: number; size: number; baseOffset: number; lastOffset: number }>; c: BatchCursor } {
  const c = new BatchCursor().reset(buf, start, end);
  const seen = [];
  while (c.next()) seen.push({ position: c.position, size: c.size, baseOffset: c.baseOffset, lastOffset: c.lastOffset });
  return { seen, c };
}

describe('BatchCursor', () => {
  const a = batch(0, 3);
  const b = batch(3, 2);
  const both = Buffer.concat([a, b]);

  it('yields every whole batch with its position, size and offsets, then stops at the end', () => {
    const { seen, c } = walk(both);
    expect(seen).toEqual([
      { position: 0, size: a.length, baseOffset: 0, lastOffset: 2 },
      { position: a.length, size: b.length, baseOffset: 3, lastOffset: 4 },
    ]);
    expect(c.stop).toBe('end');
    expect(c.position).toBe(both.length);
    expect(c.available).toBe(0);
    // Stopped stays stopped.
    expect(c.next()).toBe(false);
  });

  it('reads the other header fields without decoding', () => {
    const c = new BatchCursor().reset(a);
    expect(c.next()).toBe(true);
    expect(c.magic).toBe(2);
    expect(c.recordsCount).toBe(3);
    expect(c.lastOffsetDelta).toBe(2);
    expect(c.maxTimestamp).toBe(T0 + 2);
    expect(c.producerId).toBe(-1);
    expect(c.producerEpoch).toBe(-1);
    expect(c.baseSequence).toBe(-1);
    expect(c.header()).toMatchObject({ baseOffset: 0, recordsCount: 3, maxTimestamp: T0 + 2 });
    expect(c.bytes().equals(a)).toBe(true);
  });

  it('is empty on an empty buffer', () => {
    const { seen, c } = walk(Buffer.alloc(0));
    expect(seen).toEqual([]);
    expect(c.stop).toBe('end');
  });

  it('stops at a torn tail: the part of a batch after the whole ones', () => {
    for (const cut of [1, LOG_OVERHEAD - 1, LOG_OVERHEAD, HEADER_SIZE - 1, b.length - 1]) {
      const { seen, c } = walk(both.subarray(0, a.length + cut));
      expect(seen.map((s) => s.baseOffset)).toEqual([0]);
      expect(c.stop).toBe('torn');
      expect(c.position).toBe(a.length);
      expect(c.available).toBe(cut);
      // The declared size is known once the length field is in view.
      expect(c.size).toBe(cut < LOG_OVERHEAD ? 0 : b.length);
    }
  });

  it('treats a batchLength pointing past the buffer as torn and never reads past it', () => {
    const bad = Buffer.from(both);
    bad.writeInt32BE(0x7fffffff, a.length + BATCH_LENGTH);
    const { seen, c } = walk(bad);
    expect(seen).toHaveLength(1);
    expect(c.stop).toBe('torn');
    expect(c.size).toBe(0x7fffffff + LOG_OVERHEAD);
  });

  it('honours the end of the view, not the end of the buffer', () => {
    const { seen, c } = walk(both, 0, a.length + 20);
    expect(seen).toHaveLength(1);
    expect(c.stop).toBe('torn');
    const rest = walk(both, a.length);
    expect(rest.seen.map((s) => s.position)).toEqual([a.length]);
    expect(rest.c.stop).toBe('end');
  });

  it('calls a negative or too small length corrupt (no endless loop on length -12)', () => {
    for (const len of [-1, -LOG_OVERHEAD, -0x80000000, 0, HEADER_SIZE - LOG_OVERHEAD - 1]) {
      const bad = Buffer.from(both);
      bad.writeInt32BE(len, a.length + BATCH_LENGTH);
      const { seen, c } = walk(bad);
      expect(seen).toHaveLength(1);
      expect(c.stop).toBe('corrupt');
      expect(c.position).toBe(a.length);
      expect(c.size).toBe(len + LOG_OVERHEAD);
    }
  });

  it('is reusable: reset starts a new walk', () => {
    const c = new BatchCursor().reset(Buffer.alloc(5));
    expect(c.next()).toBe(false);
    expect(c.stop).toBe('torn');
    c.reset(a);
    expect(c.stop).toBeNull();
    expect(c.next()).toBe(true);
    expect(c.baseOffset).toBe(0);
  });
});

describe('countRecords', () => {
  it('sums recordsCount over whole batches and ignores a torn tail', () => {
    const both = Buffer.concat([batch(0, 3), batch(3, 2)]);
    expect(countRecords(both)).toBe(5);
    expect(countRecords(both.subarray(0, both.length - 1))).toBe(3);
    expect(countRecords(Buffer.alloc(0))).toBe(0);
  });
});
