// Any-broker reads straight from the shared segment files (SharedPartitionReader): a fetch that
// spans several segments must never skip offsets, whatever the byte budget.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LOG_CONFIG, FsyncScheduler, PartitionLog } from '../../broker/log/index.js';
import { SharedPartitionReader } from '../../broker/cluster/shared-reader.js';
import { buildBatch, decodeBatches, valuesBatch } from '../log/batch-builder.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'floe-shared-read-'));
  dirs.push(dir);
  return dir;
}

async function openLog(dir: string, epoch: number, segmentBytes = 2048): Promise<PartitionLog> {
  return PartitionLog.open(dir, { config: { ...DEFAULT_LOG_CONFIG, segmentBytes }, leaderEpoch: epoch, syncer: new FsyncScheduler() });
}

/** Offsets of every record in `data`, in order. */
function offsetsOf(data: Buffer): number[] {
  return decodeBatches(data).flatMap((b) => b.values.map((_, i) => b.baseOffset + i));
}

/** Reads like a consumer: from `from`, `maxBytes` per fetch, until `upTo`; every record seen once. */
async function readAll(reader: SharedPartitionReader, from: number, maxBytes: number, upTo: number): Promise<number[]> {
  const seen: number[] = [];
  let offset = from;
  while (offset < upTo) {
    const data = await reader.read(offset, maxBytes, upTo, true);
    const got = offsetsOf(data).filter((o) => o >= offset);
    if (got.length === 0) throw new Error(`no progress at ${offset}`);
    seen.push(...got);
    offset = got[got.length - 1]! + 1;
  }
  return seen;
}

describe('SharedPartitionReader', () => {
  it('does not skip the rest of a segment when the byte budget ends inside it', async () => {
    const dir = tempDir();
    const log = await openLog(dir, 0);
    // Batches of varied size so budgets end at many different points inside segments.
    for (let i = 0; i < 120; i++) await log.append(valuesBatch(1 + (i % 5), `r${i}-${'x'.repeat(i % 13)}-`));
    expect(log.segmentCount()).toBeGreaterThanOrEqual(6);
    const end = log.highWatermark;
    await log.close();
    const expected = Array.from({ length: end }, (_, i) => i);
    // Budgets from below one segment to several segments.
    for (let maxBytes = 300; maxBytes <= 9000; maxBytes += 173) {
      const reader = new SharedPartitionReader(dir);
      const got = await readAll(reader, 0, maxBytes, end);
      expect(got, `maxBytes ${maxBytes}`).toEqual(expected);
    }
  });

  it('serves one dense range in a single read across segments', async () => {
    const dir = tempDir();
    const log = await openLog(dir, 0);
    for (let i = 0; i < 60; i++) await log.append(valuesBatch(3, `r${i}-`));
    const end = log.highWatermark;
    await log.close();
    const reader = new SharedPartitionReader(dir);
    for (let maxBytes = 500; maxBytes < 20_000; maxBytes += 389) {
      for (const from of [0, 7, 31]) {
        const got = offsetsOf(await reader.read(from, maxBytes, end, true));
        // Whatever came back starts at the batch holding `from` and has no holes.
        expect(got.length).toBeGreaterThan(0);
        expect(got[0]).toBeLessThanOrEqual(from);
        for (let i = 1; i < got.length; i++) expect(got[i], `maxBytes ${maxBytes} from ${from}`).toBe(got[i - 1]! + 1);
      }
    }
  });

  it('finds offsets by timestamp across segments as the writer does, below the bound it is given', async () => {
    const dir = tempDir();
    const log = await openLog(dir, 0);
    const t0 = 1_700_000_000_000;
    // Batch i holds 3 records stamped t0 + 100 i + j; timestamps grow with offsets.
    for (let i = 0; i < 80; i++) {
      await log.append(buildBatch([0, 1, 2].map((j) => ({ value: `r${i}-${j}-${'y'.repeat(i % 17)}`, timestamp: t0 + 100 * i + j }))));
    }
    expect(log.segmentCount()).toBeGreaterThanOrEqual(4);
    const end = log.highWatermark;
    const reader = new SharedPartitionReader(dir);
    for (const ts of [t0 - 5, t0, t0 + 2, t0 + 3, t0 + 150, t0 + 4_000, t0 + 7_902, t0 + 7_903, t0 + 99_999]) {
      const want = await log.offsetForTimestamp(ts);
      expect(await reader.offsetForTimestamp(ts, end), `ts ${ts}`).toEqual(want);
    }
    expect(await reader.offsetForTimestamp(t0 + 7_902, end)).toEqual({ offset: 237, timestamp: t0 + 7_902 });
    // Asked again (sealed segments' maxima now cached), the answers stay the same.
    expect(await reader.offsetForTimestamp(t0 + 4_000, end)).toEqual({ offset: 120, timestamp: t0 + 4_002 });
    expect(await reader.maxTimestamp(end)).toEqual({ offset: 237, timestamp: t0 + 7_902 });
    // Nothing at or past the bound is considered (the published high watermark).
    expect(await reader.offsetForTimestamp(t0 + 4_000, 120)).toBeNull();
    expect(await reader.maxTimestamp(120)).toEqual({ offset: 117, timestamp: t0 + 3_902 });
    await log.close();
  });
});
