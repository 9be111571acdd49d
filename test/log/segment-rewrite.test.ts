import { readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildBatch, decodeBatches } from './batch-builder.js';
import { crashImage, openLog, tempDir } from './helpers.js';

const over = { segmentBytes: 250 };

async function logWithSegments(dir: string) {
  const log = await openLog(dir, over);
  for (let i = 0; i < 16; i++) await log.append(buildBatch([{ key: `k${i % 3}`, value: `v${i}`, timestamp: 1000 + i }]));
  return log;
}

/** Keeps only every third batch of the run, as a stand-in for compaction. */
async function thin(log: Awaited<ReturnType<typeof openLog>>, run: number[]): Promise<ReturnType<typeof log.rewriteSegments>> {
  const rw = log.rewriteSegments(run);
  await rw.startSegment(rw.startOffset, 0);
  const keep: Buffer[] = [];
  for (const base of run) {
    await log.readSealedSegment(base, (batch, off) => {
      if (off % 3 === 0) keep.push(Buffer.from(batch));
    });
  }
  for (const b of keep) await rw.append(b);
  return rw;
}

describe('segment rewrite (compaction API)', () => {
  it('replaces a run of sealed segments atomically and keeps offsets', async () => {
    const dir = await tempDir();
    const log = await logWithSegments(dir);
    const sealed = log.sealedSegments();
    expect(sealed.length).toBeGreaterThan(3);
    const run = sealed.slice(0, 3).map((s) => s.baseOffset);
    const end = sealed[2]!.nextOffset;
    const rw = await thin(log, run);
    // Until commit, readers see the old data.
    expect(decodeBatches(await log.read(1, 1 << 20))[0]!.baseOffset).toBe(1);
    await rw.commit();
    expect(log.sealedSegments()[0]!.baseOffset).toBe(0);
    expect(log.sealedSegments()[1]!.baseOffset).toBe(end);
    const offsets = decodeBatches(await log.read(0, 1 << 20)).map((b) => b.baseOffset);
    expect(offsets).toEqual([...Array.from({ length: end }, (_, i) => i).filter((o) => o % 3 === 0), ...Array.from({ length: 16 - end }, (_, i) => end + i)]);
    // An offset removed by compaction reads from the next batch that exists.
    expect(decodeBatches(await log.read(1, 1 << 20))[0]!.baseOffset).toBe(3);
    const files = await readdir(dir);
    expect(files.some((f) => f.endsWith('.cleaned') || f.endsWith('.swap') || f.endsWith('.deleted'))).toBe(false);
    await log.close();
    const again = await openLog(dir, over);
    expect(decodeBatches(await again.read(0, 1 << 20)).map((b) => b.baseOffset)).toEqual(offsets);
  });

  it('a crash with the rewrite named .swap completes the swap on open', async () => {
    const dir = await tempDir();
    const log = await logWithSegments(dir);
    const run = log.sealedSegments().slice(0, 2).map((s) => s.baseOffset);
    const rw = await thin(log, run);
    await rw.commit();
    const expected = decodeBatches(await log.read(0, 1 << 20)).map((b) => b.baseOffset);
    await log.close();
    // Rebuild the mid-commit state: the new file as .swap next to the old ones it replaces.
    const image = await crashImage(dir);
    const name = (await readdir(image)).filter((f) => f.endsWith('.log')).sort()[0]!;
    await rename(join(image, name), join(image, `${name}.swap`));
    const src = await tempDir();
    const original = await logWithSegments(src);
    await original.close();
    const oldFirst = (await readdir(src)).filter((f) => f.endsWith('.log')).sort().slice(0, 2);
    const { copyFile } = await import('node:fs/promises');
    for (const f of oldFirst) await copyFile(join(src, f), join(image, f));
    const again = await openLog(image, over);
    expect(decodeBatches(await again.read(0, 1 << 20)).map((b) => b.baseOffset)).toEqual(expected);
    expect((await readdir(image)).some((f) => f.endsWith('.swap'))).toBe(false);
  });

  it('aborted rewrites leave the log untouched; the active segment cannot be rewritten', async () => {
    const dir = await tempDir();
    const log = await logWithSegments(dir);
    const before = decodeBatches(await log.read(0, 1 << 20)).length;
    const rw = await thin(log, [0]);
    await rw.abort();
    expect(decodeBatches(await log.read(0, 1 << 20))).toHaveLength(before);
    expect((await readdir(dir)).some((f) => f.endsWith('.cleaned'))).toBe(false);
    const activeBase = log.logEndOffset - 1;
    expect(() => log.rewriteSegments([log.sealedSegments().at(-1)!.nextOffset])).toThrow();
    expect(activeBase).toBeGreaterThan(0);
  });
});
