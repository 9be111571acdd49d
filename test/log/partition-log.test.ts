import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { LogError } from '../../broker/log/errors.js';
import { buildBatch, decodeBatches, valuesBatch } from './batch-builder.js';
import { openLog, tempDir } from './helpers.js';

async function fill(log: Awaited<ReturnType<typeof openLog>>, batches: number, recordsPerBatch = 1, ts = 1000): Promise<void> {
  for (let i = 0; i < batches; i++) {
    await log.append(buildBatch(Array.from({ length: recordsPerBatch }, (_, j) => ({ value: `b${i}r${j}`, timestamp: ts + i }))));
  }
}

describe('PartitionLog append/read', () => {
  it('assigns consecutive offsets and reads back the same records', async () => {
    const log = await openLog(await tempDir());
    const r1 = await log.append(valuesBatch(3, 'a'));
    const r2 = await log.append(valuesBatch(2, 'b'));
    expect(r1).toMatchObject({ baseOffset: 0, lastOffset: 2, duplicate: false, logAppendTime: -1 });
    expect(r2).toMatchObject({ baseOffset: 3, lastOffset: 4 });
    expect(log.logEndOffset).toBe(5);
    expect(log.highWatermark).toBe(5);
    const got = decodeBatches(await log.read(0, 1 << 20));
    expect(got.map((b) => [b.baseOffset, b.lastOffset])).toEqual([[0, 2], [3, 4]]);
    expect(got.flatMap((b) => b.values)).toEqual(['a0', 'a1', 'a2', 'b0', 'b1']);
    expect(got.every((b) => b.crcOk && b.leaderEpoch === 0)).toBe(true);
  });

  it('round-trips across size-based segment rolls and reopen', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, { segmentBytes: 600, indexIntervalBytes: 200 });
    await fill(log, 60, 2);
    expect(log.segmentCount()).toBeGreaterThan(5);
    const all = decodeBatches(await log.read(0, 10 << 20));
    expect(all).toHaveLength(60);
    expect(all.map((b) => b.baseOffset)).toEqual(Array.from({ length: 60 }, (_, i) => i * 2));
    await log.close();
    const names = (await readdir(dir)).filter((n) => n.endsWith('.log'));
    expect(names.length).toBe(log.segmentCount());
    expect(names.every((n) => /^\d{20}-e0\.log$/.test(n))).toBe(true);
    const again = await openLog(dir, { segmentBytes: 600, indexIntervalBytes: 200 });
    expect(again.logEndOffset).toBe(120);
    expect(decodeBatches(await again.read(0, 10 << 20)).flatMap((b) => b.values)).toEqual(all.flatMap((b) => b.values));
    await again.append(valuesBatch(1));
    expect(again.logEndOffset).toBe(121);
  });

  it('finds the batch containing any offset through the sparse index', async () => {
    const log = await openLog(await tempDir(), { segmentBytes: 5000, indexIntervalBytes: 100 });
    await fill(log, 80, 3);
    for (const off of [0, 1, 2, 3, 50, 119, 120, 121, 200, 238, 239]) {
      const [first] = decodeBatches(await log.read(off, 1, { minOneBatch: true }));
      expect(first!.baseOffset).toBeLessThanOrEqual(off);
      expect(first!.lastOffset).toBeGreaterThanOrEqual(off);
    }
  });

  it('honours maxBytes, minOneBatch and upTo', async () => {
    const log = await openLog(await tempDir());
    await fill(log, 10);
    const one = (await log.read(0, 1 << 20)).length / 10;
    expect(decodeBatches(await log.read(0, one * 3))).toHaveLength(3);
    expect(decodeBatches(await log.read(0, one * 3 + one - 1))).toHaveLength(3);
    expect((await log.read(2, one - 1)).length).toBe(0);
    expect(decodeBatches(await log.read(2, one - 1, { minOneBatch: true })).map((b) => b.baseOffset)).toEqual([2]);
    expect(decodeBatches(await log.read(2, 1 << 20, { upTo: 5 })).map((b) => b.baseOffset)).toEqual([2, 3, 4]);
    expect((await log.read(5, 1 << 20, { upTo: 5 })).length).toBe(0);
    expect((await log.read(10, 1 << 20)).length).toBe(0);
    await expect(log.read(11, 100)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    await expect(log.read(-1, 100)).rejects.toBeInstanceOf(LogError);
  });

  it('reads across segment boundaries in one call', async () => {
    const log = await openLog(await tempDir(), { segmentBytes: 200 });
    await fill(log, 12);
    expect(log.segmentCount()).toBeGreaterThan(3);
    expect(decodeBatches(await log.read(1, 1 << 20)).map((b) => b.baseOffset)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('rejects malformed and oversized appends without writing', async () => {
    const log = await openLog(await tempDir(), { maxMessageBytes: 200 });
    const bad = valuesBatch(1);
    bad.writeInt8(1, 16);
    await expect(log.append(bad)).rejects.toMatchObject({ code: 'CORRUPT_MESSAGE' });
    await expect(log.append(valuesBatch(1).subarray(0, 40))).rejects.toMatchObject({ code: 'CORRUPT_MESSAGE' });
    await expect(log.append(buildBatch([{ value: 'x'.repeat(300) }]))).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    expect(log.logEndOffset).toBe(0);
    expect((await log.append(valuesBatch(1))).baseOffset).toBe(0);
  });

  it('accepts several batches in one append', async () => {
    const log = await openLog(await tempDir());
    const r = await log.append(Buffer.concat([valuesBatch(2, 'x'), valuesBatch(3, 'y')]));
    expect(r).toMatchObject({ baseOffset: 0, lastOffset: 4 });
    expect(decodeBatches(await log.read(0, 1 << 20)).map((b) => b.baseOffset)).toEqual([0, 2]);
  });

  it('stamps LogAppendTime and recomputes the CRC', async () => {
    const log = await openLog(await tempDir(), { timestampType: 'LogAppendTime' });
    const r = await log.append(valuesBatch(2), { now: 1_234_567 });
    expect(r.logAppendTime).toBe(1_234_567);
    const [b] = decodeBatches(await log.read(0, 1 << 20));
    expect(b!.maxTimestamp).toBe(1_234_567);
    expect(b!.attributes & 0x08).toBe(0x08);
    expect(b!.crcOk).toBe(true);
  });

  it('rolls by time relative to the first batch timestamp', async () => {
    const log = await openLog(await tempDir(), { segmentMs: 1000 });
    await log.append(buildBatch([{ value: 'a', timestamp: 10_000 }]));
    await log.append(buildBatch([{ value: 'b', timestamp: 10_500 }]));
    expect(log.segmentCount()).toBe(1);
    await log.append(buildBatch([{ value: 'c', timestamp: 11_000 }]));
    expect(log.segmentCount()).toBe(2);
  });
});

describe('timestamps', () => {
  it('offsetForTimestamp finds the first batch with maxTimestamp >= ts across segments', async () => {
    const log = await openLog(await tempDir(), { segmentBytes: 1000, indexIntervalBytes: 100 });
    for (let i = 0; i < 40; i++) await log.append(buildBatch([{ value: `v${i}`, timestamp: 1000 + i * 10 }]));
    expect(await log.offsetForTimestamp(0)).toEqual({ offset: 0, timestamp: 1000 });
    expect(await log.offsetForTimestamp(1000)).toEqual({ offset: 0, timestamp: 1000 });
    expect(await log.offsetForTimestamp(1001)).toEqual({ offset: 1, timestamp: 1010 });
    expect(await log.offsetForTimestamp(1255)).toEqual({ offset: 26, timestamp: 1260 });
    expect(await log.offsetForTimestamp(1390)).toEqual({ offset: 39, timestamp: 1390 });
    expect(await log.offsetForTimestamp(1391)).toBeNull();
    // Out-of-order CreateTime timestamps: still the first batch reaching ts.
    await log.append(buildBatch([{ value: 'late', timestamp: 500 }]));
    await log.append(buildBatch([{ value: 'max', timestamp: 5000 }]));
    expect(await log.offsetForTimestamp(2000)).toEqual({ offset: 41, timestamp: 5000 });
    expect(await log.maxTimestamp()).toEqual({ offset: 41, timestamp: 5000 });
  });

  it('maxTimestamp of an empty log is (-1, -1) and survives reopen', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, { segmentBytes: 300 });
    expect(await log.maxTimestamp()).toEqual({ offset: -1, timestamp: -1 });
    await log.append(buildBatch([{ value: 'a', timestamp: 7000 }]));
    await log.append(buildBatch([{ value: 'b', timestamp: 9000 }]));
    for (let i = 0; i < 5; i++) await log.append(buildBatch([{ value: 'c', timestamp: 8000 }]));
    await log.close();
    const again = await openLog(dir, { segmentBytes: 300 });
    expect(await again.maxTimestamp()).toEqual({ offset: 1, timestamp: 9000 });
    expect(await again.offsetForTimestamp(8500)).toEqual({ offset: 1, timestamp: 9000 });
  });
});

describe('leader epochs', () => {
  it('starts a new segment named for the new epoch and answers OffsetForLeaderEpoch', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, {}, 3);
    await fill(log, 4);
    await log.setLeaderEpoch(5);
    await fill(log, 2);
    await log.setLeaderEpoch(6);
    await log.setLeaderEpoch(9);
    await fill(log, 3);
    const names = (await readdir(dir)).filter((n) => n.endsWith('.log')).sort();
    expect(names).toEqual(['00000000000000000000-e3.log', '00000000000000000004-e5.log', '00000000000000000006-e9.log']);
    expect(decodeBatches(await log.read(0, 1 << 20)).map((b) => b.leaderEpoch)).toEqual([3, 3, 3, 3, 5, 5, 9, 9, 9]);
    expect(log.endOffsetForEpoch(9)).toEqual({ leaderEpoch: 9, endOffset: 9 });
    expect(log.endOffsetForEpoch(3)).toEqual({ leaderEpoch: 3, endOffset: 4 });
    expect(log.endOffsetForEpoch(4)).toEqual({ leaderEpoch: 3, endOffset: 4 });
    expect(log.endOffsetForEpoch(5)).toEqual({ leaderEpoch: 5, endOffset: 6 });
    expect(log.endOffsetForEpoch(6)).toEqual({ leaderEpoch: 6, endOffset: 6 });
    expect(log.endOffsetForEpoch(7)).toEqual({ leaderEpoch: 6, endOffset: 6 });
    expect(log.endOffsetForEpoch(1)).toEqual({ leaderEpoch: 1, endOffset: 0 });
    expect(log.endOffsetForEpoch(10)).toEqual({ leaderEpoch: -1, endOffset: -1 });
    await log.close();
    const again = await openLog(dir, {}, 10);
    expect(again.endOffsetForEpoch(5)).toEqual({ leaderEpoch: 5, endOffset: 6 });
    expect(again.endOffsetForEpoch(9)).toEqual({ leaderEpoch: 9, endOffset: 9 });
    expect(again.endOffsetForEpoch(10)).toEqual({ leaderEpoch: 10, endOffset: 9 });
    await again.append(valuesBatch(1));
    expect((await readdir(dir)).filter((n) => n.endsWith('.log')).sort().at(-1)).toBe('00000000000000000009-e10.log');
  });

  it('derives epochs from segment names when partition.json is lost', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, {}, 1);
    await fill(log, 2);
    await log.setLeaderEpoch(2);
    await fill(log, 2);
    await log.close();
    const { unlink } = await import('node:fs/promises');
    await unlink(`${dir}/partition.json`);
    const again = await openLog(dir, {}, 2);
    expect(again.endOffsetForEpoch(1)).toEqual({ leaderEpoch: 1, endOffset: 2 });
    expect(again.logEndOffset).toBe(4);
  });
});

describe('retention and DeleteRecords', () => {
  it('deletes whole segments by size, never the active one, and moves the log start', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, { segmentBytes: 400, retentionBytes: 800 });
    await fill(log, 30);
    const before = log.segmentCount();
    const size = log.sizeBytes();
    const freed = await log.enforceRetention(Date.now());
    expect(freed).toBeGreaterThan(0);
    expect(log.sizeBytes()).toBe(size - freed);
    expect(log.sizeBytes()).toBeLessThanOrEqual(800);
    expect(log.segmentCount()).toBeLessThan(before);
    expect(log.logStartOffset).toBeGreaterThan(0);
    await expect(log.read(0, 100)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    const [first] = decodeBatches(await log.read(log.logStartOffset, 1 << 20));
    expect(first!.baseOffset).toBe(log.logStartOffset);
    const start = log.logStartOffset;
    await log.close();
    const remaining = (await readdir(dir)).filter((n) => n.endsWith('.log'));
    expect(remaining).toHaveLength(log.segmentCount());
    const again = await openLog(dir, { segmentBytes: 400, retentionBytes: 800 });
    expect(again.logStartOffset).toBe(start);
  });

  it('deletes segments whose newest timestamp is older than retention.ms', async () => {
    const log = await openLog(await tempDir(), { segmentBytes: 300, retentionMs: 1000 });
    for (let i = 0; i < 10; i++) await log.append(buildBatch([{ value: `v${i}`, timestamp: 10_000 + i * 100 }]));
    const segs = log.segmentCount();
    expect(await log.enforceRetention(10_000 + 1000)).toBe(0);
    expect(await log.enforceRetention(20_000)).toBeGreaterThan(0);
    expect(log.segmentCount()).toBe(1);
    expect(segs).toBeGreaterThan(1);
    expect(log.logStartOffset).toBeGreaterThan(0);
    expect(log.logEndOffset).toBe(10);
  });

  it('deleteRecordsBefore moves the start, deletes whole segments below it and persists', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, { segmentBytes: 300 });
    await fill(log, 12);
    const segs = log.segmentCount();
    await expect(log.deleteRecordsBefore(13)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    expect(await log.deleteRecordsBefore(7)).toBe(7);
    expect(log.logStartOffset).toBe(7);
    expect(log.segmentCount()).toBeLessThan(segs);
    expect(await log.deleteRecordsBefore(3)).toBe(7);
    await expect(log.read(6, 100)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    expect(decodeBatches(await log.read(7, 1 << 20)).map((b) => b.baseOffset)).toEqual([7, 8, 9, 10, 11]);
    await log.close();
    const again = await openLog(dir, { segmentBytes: 300 });
    expect(again.logStartOffset).toBe(7);
    expect(again.logEndOffset).toBe(12);
  });
});

describe('notifications and sizes', () => {
  it('calls onAdvance listeners when the high watermark moves, until unsubscribed', async () => {
    const log = await openLog(await tempDir());
    const seen: number[] = [];
    const off = log.onAdvance(() => seen.push(log.highWatermark));
    await log.append(valuesBatch(2));
    await log.append(valuesBatch(1));
    off();
    await log.append(valuesBatch(1));
    expect(seen).toEqual([2, 3]);
  });
});
