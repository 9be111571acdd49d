import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogCleaner, type CompactionConfig } from '../../broker/log/cleaner.js';
import type { PartitionLog } from '../../broker/log/partition-log.js';
import { Compression } from '../../broker/protocol/records/batch-header.js';
import { decodeBatches, encodeBatchSync, type BatchInputRecord } from '../../broker/protocol/records/records.js';
import { crashImage, openLog, tempDir } from './helpers.js';

const SEGMENT_BYTES = 300;
const COMPACT: CompactionConfig = {
  cleanupPolicy: 'compact',
  segmentBytes: SEGMENT_BYTES,
  deleteRetentionMs: 1000,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.POSITIVE_INFINITY,
  minCleanableDirtyRatio: 0.5,
};

interface Rec {
  offset: number;
  key: string | null;
  value: string | null;
}

function target(log: PartitionLog, config: Partial<CompactionConfig> = {}) {
  return { name: 't-0', log, config: { ...COMPACT, ...config } };
}

async function put(log: PartitionLog, key: string, value: string | null, timestamp?: number): Promise<number> {
  const r = await log.append(encodeBatchSync({ records: [{ key, value, ...(timestamp !== undefined ? { timestamp } : {}) }] }));
  return r.baseOffset;
}

async function readAll(log: PartitionLog, from = log.logStartOffset): Promise<Rec[]> {
  const batches = await decodeBatches(await log.read(from, 1 << 24));
  return batches.flatMap((b) => b.records.map((r) => ({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null })));
}

/** What compaction must leave: below `end` only each key's last record; from `end` on, everything. */
function compacted(before: Rec[], end: number): Rec[] {
  const last = new Map<string | null, number>();
  for (const r of before) if (r.offset < end) last.set(r.key, r.offset);
  return before.filter((r) => r.offset >= end || (r.key !== null && last.get(r.key) === r.offset));
}

function activeBase(log: PartitionLog): number {
  return log.sealedSegments().at(-1)!.nextOffset;
}

describe('log compaction', () => {
  it('keeps the latest value per key with original offsets; reads skip holes; the active segment is untouched', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, { segmentBytes: SEGMENT_BYTES });
    for (let i = 0; i < 40; i++) await put(log, `k${i % 5}`, `v${i}`);
    const before = await readAll(log);
    const end = activeBase(log);
    const sealedBefore = log.sealedSegments().length;
    expect(sealedBefore).toBeGreaterThan(5);
    const logEnd = log.logEndOffset;

    const cleaner = new LogCleaner();
    const res = await cleaner.cleanLog(target(log));
    expect(res).toMatchObject({ cleaned: true, trigger: 'dirty-ratio', firstUncleanableOffset: end, committed: true });
    const after = await readAll(log);
    expect(after).toEqual(compacted(before, end));
    expect(after.filter((r) => r.offset < end)).toHaveLength(5);
    expect(res.recordsRemoved).toBe(before.length - after.length);
    // Small cleaned segments were merged, and the active segment is still the last one.
    expect(res.segmentsAfter).toBeLessThan(res.segmentsBefore);
    expect(log.sealedSegments().length).toBeLessThan(sealedBefore);
    expect(activeBase(log)).toBe(end);
    expect(log.logEndOffset).toBe(logEnd);
    for (const s of log.sealedSegments()) expect(s.sizeBytes).toBeLessThanOrEqual(SEGMENT_BYTES);

    // A read inside a hole starts at the next batch that still exists.
    const kept = after.map((r) => r.offset);
    const hole = [...Array(end).keys()].find((o) => !kept.includes(o))!;
    const fromHole = await readAll(log, hole);
    expect(fromHole[0]!.offset).toBe(kept.find((o) => o > hole));
    expect(fromHole).toEqual(after.filter((r) => r.offset > hole));

    // Appends continue at the same end offset; nothing dirty is left, so no new cleaning.
    expect(await put(log, 'k0', 'new')).toBe(logEnd);
    expect((await cleaner.cleanLog(target(log))).skipped).toBe('not-dirty-enough');

    await log.close();
    const again = await openLog(dir, { segmentBytes: SEGMENT_BYTES });
    expect(await readAll(again)).toEqual([...after, { offset: logEnd, key: 'k0', value: 'new' }]);
    const files = await readdir(dir);
    expect(files.some((f) => /\.(cleaned|swap|deleted)$/.test(f))).toBe(false);
  });

  it('cleans only when the dirty ratio is high enough, or when max.compaction.lag.ms is exceeded', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, { segmentBytes: SEGMENT_BYTES });
    for (let i = 0; i < 40; i++) await put(log, `k${i}`, `v${i}`);
    const cleaner = new LogCleaner();
    expect((await cleaner.cleanLog(target(log))).cleaned).toBe(true);
    // Overwrite a few keys: a small dirty section next to a large clean one.
    for (let i = 0; i < 8; i++) await put(log, `k${i}`, `w${i}`);
    const strict = { minCleanableDirtyRatio: 0.9 };
    const skip = await cleaner.cleanLog(target(log, strict));
    expect(skip.skipped).toBe('not-dirty-enough');
    expect(skip.dirtyRatio).toBeGreaterThan(0);
    expect(skip.dirtyRatio).toBeLessThan(0.9);
    const lagged = await cleaner.cleanLog(target(log, { ...strict, maxCompactionLagMs: 1000 }), Date.now() + 60_000);
    expect(lagged).toMatchObject({ cleaned: true, trigger: 'max-lag' });
    const recs = await readAll(log);
    const end = lagged.firstUncleanableOffset;
    for (const r of recs.filter((x) => x.offset < end)) {
      expect(recs.filter((x) => x.offset < end && x.key === r.key)).toHaveLength(1);
    }
  });

  it('keeps tombstones through the first cleaning (stamping the delete horizon) and removes them after it', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, { segmentBytes: SEGMENT_BYTES });
    await put(log, 'gone', 'a');
    await put(log, 'stays', 'b');
    const tomb = await put(log, 'gone', null);
    for (let i = 0; i < 12; i++) await put(log, `f${i}`, `x${i}`);
    expect(activeBase(log)).toBeGreaterThan(tomb);
    const cleaner = new LogCleaner();
    const t0 = Date.now();
    await cleaner.cleanLog(target(log), t0);
    let recs = await readAll(log);
    expect(recs.find((r) => r.key === 'gone')).toEqual({ offset: tomb, key: 'gone', value: null });
    expect(recs.find((r) => r.key === 'stays')?.value).toBe('b');
    const stamped = (await decodeBatches(await log.read(tomb, 1 << 20)))[0]!;
    expect(stamped.header.baseOffset).toBe(tomb);
    expect(stamped.deleteHorizonMs).toBe(t0 + COMPACT.deleteRetentionMs);

    // Before the horizon: nothing triggers, and even a forced cleaning keeps the tombstone.
    expect((await cleaner.cleanLog(target(log), t0 + 500)).skipped).toBe('not-dirty-enough');
    await cleaner.cleanLog(target(log), t0 + 500, { force: true });
    expect((await readAll(log)).some((r) => r.key === 'gone')).toBe(true);

    const late = await cleaner.cleanLog(target(log), t0 + COMPACT.deleteRetentionMs + 1);
    expect(late).toMatchObject({ cleaned: true, trigger: 'delete-horizon' });
    recs = await readAll(log);
    expect(recs.some((r) => r.key === 'gone')).toBe(false);
    expect(recs.find((r) => r.key === 'stays')?.value).toBe('b');
    expect(recs).toHaveLength(13);
  });

  it('leaves records younger than min.compaction.lag.ms (and everything after them) alone', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, { segmentBytes: SEGMENT_BYTES });
    const now = 10_000_000;
    for (let i = 0; i < 12; i++) await put(log, `k${i % 3}`, `old${i}`, now - 100_000);
    for (let i = 0; i < 12; i++) await put(log, `k${i % 3}`, `young${i}`, now - 10);
    for (let i = 0; i < 4; i++) await put(log, `k${i % 3}`, `tail${i}`, now - 10);
    const before = await readAll(log);
    const lag = 50_000;
    const bound = log.sealedSegments().find((s) => s.maxTimestamp > now - lag)!.baseOffset;
    expect(bound).toBeLessThan(activeBase(log));
    const res = await new LogCleaner().cleanLog(target(log, { minCompactionLagMs: lag }), now);
    expect(res.firstUncleanableOffset).toBe(bound);
    const after = await readAll(log);
    expect(after).toEqual(compacted(before, bound));
    // Old values survive when only a young record supersedes them.
    expect(after.filter((r) => r.offset < bound).map((r) => r.key).sort()).toEqual(['k0', 'k1', 'k2']);
  });

  it('keeps an active idempotent producer\'s last batch (empty if need be), so it continues after a reload', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, { segmentBytes: SEGMENT_BYTES });
    const producer = { producerId: 4242, producerEpoch: 0 };
    const produce = (seq: number, key: string) =>
      log.append(encodeBatchSync({ records: [{ key, value: `p${seq}` }], ...producer, baseSequence: seq }));
    for (let seq = 0; seq < 3; seq++) await produce(seq, 'shared');
    const tail = 2;
    for (let i = 0; i < 15; i++) await put(log, 'shared', `later${i}`);
    expect(activeBase(log)).toBeGreaterThan(tail + 1);
    await new LogCleaner().cleanLog(target(log));
    const batches = await decodeBatches(await log.read(0, 1 << 24));
    const mine = batches.filter((b) => b.header.producerId === producer.producerId);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.header).toMatchObject({ baseOffset: tail, baseSequence: 2, lastOffsetDelta: 0, recordsCount: 0 });

    // Reload without producer snapshots: the state must come back from the log itself.
    await log.close();
    for (const f of await readdir(dir)) if (f.endsWith('.snapshot')) await unlink(join(dir, f));
    const again = await openLog(dir, { segmentBytes: SEGMENT_BYTES });
    expect(again.producers().find((p) => p.producerId === producer.producerId)?.lastSequence).toBe(2);
    const retry = await again.append(encodeBatchSync({ records: [{ key: 'shared', value: 'p2' }], ...producer, baseSequence: 2 }));
    expect(retry).toMatchObject({ duplicate: true, baseOffset: tail });
    await expect(again.append(encodeBatchSync({ records: [{ key: 'x', value: 'y' }], ...producer, baseSequence: 5 }))).rejects.toMatchObject({
      code: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
    });
    const next = await again.append(encodeBatchSync({ records: [{ key: 'shared', value: 'p3' }], ...producer, baseSequence: 3 }));
    expect(next.duplicate).toBe(false);
  });

  it('an interrupted cleaning leaves the log readable and unchanged; a crash image mid-rewrite recovers', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, { segmentBytes: SEGMENT_BYTES });
    for (let i = 0; i < 30; i++) await put(log, `k${i % 4}`, `v${i}`);
    const before = await readAll(log);
    const segments = log.sealedSegments();

    // Stopped between segments: the rewrite is aborted.
    const stopped = new LogCleaner();
    const run = stopped.cleanLog(target(log));
    await stopped.stop();
    await expect(run).rejects.toThrow(/stopped/);
    expect(await readAll(log)).toEqual(before);
    expect(log.sealedSegments()).toEqual(segments);
    expect((await readdir(dir)).some((f) => f.endsWith('.cleaned'))).toBe(false);

    // "Crash" at commit: capture the directory with the .cleaned output in it, then fail.
    let image: string | null = null;
    const rewrite = log.rewriteSegments.bind(log);
    log.rewriteSegments = (bases) => {
      const rw = rewrite(bases);
      rw.commit = async () => {
        // Background snapshot pruning may delete a file mid-copy; a crash image just needs one try that works.
        for (let attempt = 0; image === null; attempt++) {
          image = await crashImage(dir).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== 'ENOENT' || attempt >= 5) throw err;
            return null;
          });
        }
        throw new Error('simulated crash');
      };
      return rw;
    };
    await expect(new LogCleaner().cleanLog(target(log))).rejects.toThrow('simulated crash');
    log.rewriteSegments = rewrite;
    expect(await readAll(log)).toEqual(before);
    expect((await readdir(dir)).some((f) => f.endsWith('.cleaned'))).toBe(false);
    expect((await readdir(image!)).some((f) => f.endsWith('.cleaned'))).toBe(true);
    const recovered = await openLog(image!, { segmentBytes: SEGMENT_BYTES });
    expect(await readAll(recovered)).toEqual(before);

    // A later cleaning of the same log succeeds.
    const end = activeBase(log);
    await new LogCleaner().cleanLog(target(log));
    expect(await readAll(log)).toEqual(compacted(before, end));
  });

  it('appends and reads go on while a cleaning runs', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, { segmentBytes: SEGMENT_BYTES });
    for (let i = 0; i < 60; i++) await put(log, `k${i % 6}`, `v${i}`);
    const before = await readAll(log);
    const end = activeBase(log);
    const cleaning = new LogCleaner().cleanLog(target(log));
    const appended: number[] = [];
    const reads: Promise<Rec[]>[] = [];
    for (let i = 0; i < 20; i++) {
      appended.push(await put(log, `n${i}`, `during${i}`));
      reads.push(readAll(log));
    }
    const res = await cleaning;
    expect(res.firstUncleanableOffset).toBe(end);
    // Every read saw either the old or the new data below `end`, and everything above it.
    for (const seen of await Promise.all(reads)) {
      const low = seen.filter((r) => r.offset < end);
      expect([before, compacted(before, end)].map((x) => x.filter((r) => r.offset < end))).toContainEqual(low);
    }
    const after = await readAll(log);
    expect(after.filter((r) => r.offset < end)).toEqual(compacted(before, end).filter((r) => r.offset < end));
    expect(after.filter((r) => r.key?.startsWith('n')).map((r) => r.offset)).toEqual(appended);
  });

  for (const codec of [Compression.Gzip, Compression.Zstd]) {
    it(`cleans ${Compression[codec]} batches record by record and recompresses them`, async () => {
      const dir = await tempDir();
      const log = await openLog(dir, { segmentBytes: SEGMENT_BYTES });
      for (let b = 0; b < 15; b++) {
        const records: BatchInputRecord[] = [0, 1, 2, 3].map((j) => ({ key: `k${(b * 4 + j) % 6}`, value: `value-${b}-${j}`, headers: [{ key: 'h', value: `${b}` }] }));
        await log.append(encodeBatchSync({ records, compression: codec }));
      }
      const before = await readAll(log);
      const end = activeBase(log);
      const res = await new LogCleaner().cleanLog(target(log));
      expect(res.recordsRemoved).toBeGreaterThan(0);
      const after = await readAll(log);
      expect(after).toEqual(compacted(before, end));
      const batches = await decodeBatches(await log.read(0, 1 << 24));
      for (const b of batches) {
        expect(b.compression).toBe(codec);
        // Each batch keeps its full offset range even with records removed from it.
        expect(b.header.lastOffsetDelta).toBe(3);
        expect(b.header.baseOffset % 4).toBe(0);
        for (const r of b.records) expect(r.headers).toEqual([{ key: 'h', value: Buffer.from(String(b.header.baseOffset / 4)) }]);
      }
    });
  }
});
