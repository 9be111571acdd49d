// The takeover primitive: cutting a partition directory back to the previous epoch's sealed end.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LOG_CONFIG, FsyncScheduler, PartitionLog } from '../../broker/log/index.js';
import { decodeBatches, valuesBatch } from '../log/batch-builder.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function openLog(dir: string, epoch: number): Promise<PartitionLog> {
  return PartitionLog.open(dir, { config: { ...DEFAULT_LOG_CONFIG, segmentBytes: 4096 }, leaderEpoch: epoch, syncer: new FsyncScheduler() });
}

describe('PartitionLog.truncateTo', () => {
  it('drops every batch at or past the end, across segments, and the next writer continues there', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'floe-trunc-'));
    dirs.push(dir);
    const log = await openLog(dir, 0);
    for (let i = 0; i < 40; i++) await log.append(valuesBatch(5, `b${i}-`));
    expect(log.segmentCount()).toBeGreaterThanOrEqual(2);
    // A writer that lost its lease stops without touching the files.
    await log.abandon(new Error('lease lost'));
    const dropped = await PartitionLog.truncateTo(dir, 55);
    expect(dropped).toBeGreaterThan(0);
    const next = await openLog(dir, 1);
    expect(next.logEndOffset).toBe(55);
    expect((await next.append(valuesBatch(1, 'new-'))).baseOffset).toBe(55);
    const all = decodeBatches(await next.read(50, 1 << 20)).flatMap((b) => b.values);
    expect(all).toEqual(['b10-0', 'b10-1', 'b10-2', 'b10-3', 'b10-4', 'new-0']);
    await next.close();
  });

  it('never serves bytes a fenced writer appended to a segment after the next one began', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'floe-trunc-'));
    dirs.push(dir);
    const old = await openLog(dir, 0);
    await old.append(valuesBatch(3, 'ok-'));
    // The new writer takes over at 3 while the old one still has its segment open.
    await PartitionLog.truncateTo(dir, 3);
    const fresh = await openLog(dir, 1);
    await fresh.append(valuesBatch(2, 'new-'));
    // The zombie's late append lands in its old (epoch 0) segment with offsets 3.. as well.
    await old.append(valuesBatch(4, 'late-'));
    await old.abandon(new Error('fenced'));
    await fresh.close();
    const reopened = await openLog(dir, 1);
    const values = decodeBatches(await reopened.read(0, 1 << 20)).flatMap((b) => b.values);
    expect(values).toEqual(['ok-0', 'ok-1', 'ok-2', 'new-0', 'new-1']);
    await reopened.close();
  });
});
