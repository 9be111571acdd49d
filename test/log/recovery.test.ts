import { appendFile, readdir, readFile, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildBatch, decodeBatches, valuesBatch } from './batch-builder.js';
import { crashImage, openLog, tempDir } from './helpers.js';

async function segmentFiles(dir: string, ext: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith(ext)).sort();
}

/** A log with `n` single-record batches, flushed, then copied as a crash image. */
async function crashedLog(n: number, over = {}): Promise<{ dir: string; activeLog: string; size: number }> {
  const src = await tempDir();
  const log = await openLog(src, over);
  for (let i = 0; i < n; i++) await log.append(buildBatch([{ value: `r${i}`, timestamp: 1000 + i }]));
  await log.flush();
  const dir = await crashImage(src);
  const active = join(dir, (await segmentFiles(dir, '.log')).at(-1)!);
  return { dir, activeLog: active, size: (await stat(active)).size };
}

async function expectIntact(dir: string, n: number, over = {}): Promise<void> {
  const log = await openLog(dir, over);
  expect(log.logEndOffset).toBe(n);
  expect(log.highWatermark).toBe(n);
  const got = decodeBatches(await log.read(0, 1 << 24));
  expect(got.flatMap((b) => b.values)).toEqual(Array.from({ length: n }, (_, i) => `r${i}`));
  expect((await log.append(buildBatch([{ value: 'next', timestamp: 1000 + n }]))).baseOffset).toBe(n);
}

describe('crash recovery', () => {
  it('drops a partially written last batch', async () => {
    const { dir, activeLog, size } = await crashedLog(10);
    const next = valuesBatch(3);
    await appendFile(activeLog, next.subarray(0, 40));
    await expectIntact(dir, 10);
    // Truncated back to the last whole batch, then one new batch appended.
    expect((await stat(activeLog)).size).toBe(size + buildBatch([{ value: 'next' }]).length);
  });

  it('drops a whole last batch whose CRC does not match, and everything after it', async () => {
    const { dir, activeLog, size } = await crashedLog(10);
    const bad = valuesBatch(2);
    bad.writeBigInt64BE(10n, 0);
    bad[bad.length - 1] ^= 0xff;
    await appendFile(activeLog, Buffer.concat([bad, valuesBatch(1)]));
    await expectIntact(dir, 10);
    expect((await stat(activeLog)).size).toBe(size + buildBatch([{ value: 'next' }]).length);
  });

  it('drops random garbage after the last batch', async () => {
    const { dir, activeLog } = await crashedLog(10);
    await appendFile(activeLog, Buffer.from(Array.from({ length: 500 }, (_, i) => (i * 37 + 11) & 0xff)));
    await expectIntact(dir, 10);
  });

  it('drops zero-filled preallocated-looking space', async () => {
    const { dir, activeLog } = await crashedLog(10);
    await appendFile(activeLog, Buffer.alloc(4096));
    await expectIntact(dir, 10);
  });

  it('cuts at a corrupted batch in the middle of the active segment', async () => {
    const { dir, activeLog } = await crashedLog(10);
    const data = await readFile(activeLog);
    const one = data.length / 10;
    data[one * 6 + 65] ^= 0x01; // inside batch 6's records
    await writeFile(activeLog, data);
    const log = await openLog(dir);
    expect(log.logEndOffset).toBe(6);
    expect((await stat(activeLog)).size).toBe(one * 6);
  });

  it('detects a damaged base offset, which the CRC does not cover', async () => {
    const { dir, activeLog } = await crashedLog(10);
    const data = await readFile(activeLog);
    const one = data.length / 10;
    data[one * 4 + 1] ^= 0x01;
    await writeFile(activeLog, data);
    const log = await openLog(dir);
    expect(log.logEndOffset).toBe(4);
  });

  it('never loses an acknowledged append when the tail is torn', async () => {
    const src = await tempDir();
    const log = await openLog(src, { segmentBytes: 2000 });
    const acked = await Promise.all(Array.from({ length: 64 }, (_, i) => log.append(buildBatch([{ value: `r${i}` }]))));
    const image = await crashImage(src);
    const active = join(image, (await segmentFiles(image, '.log')).at(-1)!);
    await appendFile(active, valuesBatch(4).subarray(0, 70));
    const again = await openLog(image, { segmentBytes: 2000 });
    expect(again.logEndOffset).toBe(64);
    const values = decodeBatches(await again.read(0, 1 << 24)).flatMap((b) => b.values);
    for (const r of acked) expect(values[r.baseOffset]).toBe(`r${r.baseOffset}`);
  });

  it('rebuilds truncated, missing and inconsistent index files', async () => {
    const src = await tempDir();
    const over = { segmentBytes: 3000, indexIntervalBytes: 150 };
    const log = await openLog(src, over);
    for (let i = 0; i < 100; i++) await log.append(buildBatch([{ value: `r${i}`, timestamp: 1000 + i }]));
    await log.close();
    const indexes = await segmentFiles(src, '.index');
    const times = await segmentFiles(src, '.timeindex');
    expect(indexes.length).toBeGreaterThan(2);
    await truncate(join(src, indexes[0]!), 11); // not a whole entry
    await truncate(join(src, indexes[1]!), 8); // valid but short
    await unlink(join(src, times[1]!));
    const idx2 = await readFile(join(src, indexes[2]!));
    idx2.writeInt32BE(1_000_000, idx2.length - 4); // last entry points past the data
    await writeFile(join(src, indexes[2]!), idx2);
    await truncate(join(src, indexes.at(-1)!), 4); // the active segment's index
    const again = await openLog(src, over);
    for (let off = 0; off < 100; off += 7) {
      const [b] = decodeBatches(await again.read(off, 1, { minOneBatch: true }));
      expect(b!.baseOffset).toBe(off);
      expect(b!.values).toEqual([`r${off}`]);
    }
    expect(await again.offsetForTimestamp(1050)).toEqual({ offset: 50, timestamp: 1050 });
    expect(await again.maxTimestamp()).toEqual({ offset: 99, timestamp: 1099 });
    expect((await again.append(valuesBatch(1))).baseOffset).toBe(100);
  });

  it('an index-only problem after a clean close costs no data', async () => {
    const src = await tempDir();
    const log = await openLog(src, { indexIntervalBytes: 100 });
    for (let i = 0; i < 30; i++) await log.append(buildBatch([{ value: `r${i}` }]));
    await log.close();
    const [idx] = await segmentFiles(src, '.index');
    await writeFile(join(src, idx!), Buffer.alloc(64, 0xff));
    await expectIntact(src, 30, { indexIntervalBytes: 100 });
  });

  it('recovers a crash right after a roll (empty active segment)', async () => {
    const { dir } = await crashedLog(12, { segmentBytes: 300 });
    expect((await segmentFiles(dir, '.log')).length).toBeGreaterThan(2);
    await expectIntact(dir, 12, { segmentBytes: 300 });
  });

  it('ignores a producer snapshot that is ahead of the recovered log', async () => {
    const src = await tempDir();
    const log = await openLog(src, { segmentBytes: 300 });
    for (let i = 0; i < 8; i++) await log.append(valuesBatch(1, 'p', { producerId: 1, producerEpoch: 0, baseSequence: i }));
    await log.flush();
    const image = await crashImage(src);
    const logs = await segmentFiles(image, '.log');
    // Lose the active segment's content entirely, as if never flushed by the OS.
    await truncate(join(image, logs.at(-1)!), 0);
    const again = await openLog(image, { segmentBytes: 300 });
    const leo = again.logEndOffset;
    expect(leo).toBeLessThan(8);
    expect((await readdir(image)).filter((n) => n.endsWith('.snapshot')).every((n) => Number(n.slice(0, 20)) <= leo)).toBe(true);
    expect(again.producers()[0]!.lastSequence).toBe(leo - 1);
    expect((await again.append(valuesBatch(1, 'p', { producerId: 1, producerEpoch: 0, baseSequence: leo }))).baseOffset).toBe(leo);
  });
});
