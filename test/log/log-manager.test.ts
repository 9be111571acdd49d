import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogManager } from '../../broker/log/log-manager.js';
import { decodeBatches, valuesBatch } from './batch-builder.js';
import { config, tempDir } from './helpers.js';

describe('LogManager', () => {
  it('opens partitions under topics/<topic>/<partition>, scans them and reopens after closeAll', async () => {
    const dataDir = await tempDir();
    const mgr = new LogManager({ dataDir });
    const [a0, a0again] = await Promise.all([mgr.open('orders', 0, config(), 0), mgr.open('orders', 0, config(), 0)]);
    expect(a0).toBe(a0again);
    const a1 = await mgr.open('orders', 1, config(), 0);
    const b0 = await mgr.open('my.topic_x', 0, config(), 2);
    await a0.append(valuesBatch(2));
    await a1.append(valuesBatch(1));
    await b0.append(valuesBatch(3));
    expect(mgr.get('orders', 1)).toBe(a1);
    expect(mgr.get('orders', 7)).toBeUndefined();
    expect(await readdir(join(dataDir, 'topics', 'orders'))).toEqual(expect.arrayContaining(['0', '1']));
    await mgr.closeAll();
    expect(mgr.get('orders', 0)).toBeUndefined();

    const mgr2 = new LogManager({ dataDir });
    expect(await mgr2.scan()).toEqual([
      { topic: 'my.topic_x', partition: 0 },
      { topic: 'orders', partition: 0 },
      { topic: 'orders', partition: 1 },
    ]);
    const b = await mgr2.open('my.topic_x', 0, config(), 2);
    expect(b.logEndOffset).toBe(3);
    expect(decodeBatches(await b.read(0, 1 << 20))[0]!.leaderEpoch).toBe(2);
    await mgr2.closeAll();
  });

  it('deleteTopic closes the logs and removes the directory; the name can be reused', async () => {
    const dataDir = await tempDir();
    const mgr = new LogManager({ dataDir });
    const log = await mgr.open('gone', 0, config(), 0);
    await log.append(valuesBatch(1));
    await mgr.open('kept', 0, config(), 0);
    await mgr.deleteTopic('gone');
    expect(mgr.get('gone', 0)).toBeUndefined();
    await expect(log.append(valuesBatch(1))).rejects.toMatchObject({ code: 'KAFKA_STORAGE_ERROR' });
    expect(await mgr.scan()).toEqual([{ topic: 'kept', partition: 0 }]);
    const fresh = await mgr.open('gone', 0, config(), 0);
    expect(fresh.logEndOffset).toBe(0);
    await mgr.closeAll();
    expect((await readdir(join(dataDir, 'topics'))).sort()).toEqual(['gone', 'kept']);
  });
});
