import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsyncScheduler } from '../../broker/log/fsync-scheduler.js';
import { decodeBatches, valuesBatch } from './batch-builder.js';
import { openLog, tempDir } from './helpers.js';

describe('group commit', () => {
  it('100 concurrent appends cost a handful of fsyncs and all resolve durable', async () => {
    const syncer = new FsyncScheduler();
    const log = await openLog(await tempDir(), {}, 0, syncer);
    const before = syncer.fsyncCount;
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => log.append(valuesBatch(1, `x${i}`))));
    const used = syncer.fsyncCount - before;
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(5);
    // Appends are serialized in call order.
    expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(log.highWatermark).toBe(100);
  });

  it('resolves an append only once the high watermark covers it', async () => {
    const log = await openLog(await tempDir());
    const seen: Array<[number, number]> = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        log.append(valuesBatch(1, `y${i}`)).then((r) => {
          seen.push([r.lastOffset, log.highWatermark]);
        }),
      ),
    );
    expect(seen.every(([last, hw]) => hw > last)).toBe(true);
  });

  it('never exposes data past the high watermark to default reads', async () => {
    const log = await openLog(await tempDir());
    await log.append(valuesBatch(1));
    const pending = log.append(valuesBatch(1));
    // Synchronously after the call the second append cannot be durable yet.
    expect(log.highWatermark).toBe(1);
    const read = log.read(0, 1 << 20);
    await pending;
    expect(decodeBatches(await read).map((b) => b.baseOffset)).toEqual([0]);
    expect(decodeBatches(await log.read(0, 1 << 20)).map((b) => b.baseOffset)).toEqual([0, 1]);
  });
});

describe('FsyncScheduler', () => {
  it('coalesces requests made while a sync is in flight into one following sync', async () => {
    const dir = await tempDir();
    const fh = await open(join(dir, 'f'), 'w+');
    try {
      const s = new FsyncScheduler();
      const first = s.sync(fh);
      const rest = Array.from({ length: 50 }, () => s.sync(fh));
      await Promise.all([first, ...rest]);
      expect(s.fsyncCount).toBe(2);
      await s.sync(fh);
      expect(s.fsyncCount).toBe(3);
    } finally {
      await fh.close();
    }
  });
});
