// A zombie writer (paused past its partition lease, woken after another broker took over) must
// not rewrite partition.json or delete segments: retention, DeleteRecords and the clean-shutdown
// mark of close() all check the lease in PostgreSQL first.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionLeaseKey } from '../../broker/cluster/control-store.js';
import { HighWatermarkPublisher } from '../../broker/cluster/hw-publisher.js';
import { LeaseLostError } from '../../broker/cluster/lease-lost-error.js';
import { PostgresControlStore } from '../../broker/cluster/postgres-store.js';
import { DEFAULT_LOG_CONFIG, FsyncScheduler, PartitionLog } from '../../broker/log/index.js';
import { postgresAvailable, startPostgres, type PostgresHandle } from '../harness/postgres.js';
import { buildBatch } from '../log/batch-builder.js';

const enabled = postgresAvailable();
let server: PostgresHandle | undefined;
let store: PostgresControlStore | undefined;
const dirs: string[] = [];

beforeAll(async () => {
  if (!enabled) return;
  server = await startPostgres();
  store = new PostgresControlStore({ url: await server.createDatabase('zombiemeta') });
  await store.open();
});

afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await store?.close().catch(() => {});
  await server?.stop();
});

const CONFIG = { ...DEFAULT_LOG_CONFIG, segmentBytes: 2048 };

async function leaderLog(partition: number): Promise<{ log: PartitionLog; dir: string; key: string; epoch: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'floe-zombie-meta-'));
  dirs.push(dir);
  const key = partitionLeaseKey('t', partition);
  const lease = await store!.acquireLease(key, 1, 60_000);
  const publisher = new HighWatermarkPublisher(store!, key, 1, lease!.epoch);
  const log = await PartitionLog.open(dir, {
    config: CONFIG,
    leaderEpoch: lease!.epoch,
    syncer: new FsyncScheduler(),
    beforeAck: (end) => publisher.publish(end),
    checkLease: () => publisher.confirm(),
  });
  for (let i = 0; i < 30; i++) await log.append(buildBatch(Array.from({ length: 5 }, (_, j) => ({ value: `v${i}-${j}-${'x'.repeat(40)}`, timestamp: 1_700_000_000_000 + i }))));
  expect(log.segmentCount()).toBeGreaterThan(3);
  return { log, dir, key, epoch: lease!.epoch };
}

/** The lease expires while its holder sleeps and node 2 takes the partition. */
async function takeOver(key: string, epoch: number): Promise<void> {
  await store!.releaseLease(key, 1, epoch);
  expect(await store!.acquireLease(key, 2, 60_000)).not.toBeNull();
}

const snapshot = (dir: string) => ({ files: readdirSync(dir).sort(), meta: readFileSync(path.join(dir, 'partition.json'), 'utf8') });

describe.skipIf(!enabled)('zombie writer and shared metadata', () => {
  it('the lease holder may delete records and enforce retention', async () => {
    const { log } = await leaderLog(0);
    expect(await log.deleteRecordsBefore(10)).toBe(10);
    const before = log.segmentCount();
    log.updateConfig({ ...CONFIG, retentionMs: 1 });
    expect(await log.enforceRetention(Date.now() + 3_600_000)).toBeGreaterThan(0);
    expect(log.segmentCount()).toBeLessThan(before);
    await log.close();
  });

  it('after a takeover, retention, DeleteRecords and close change no file', async () => {
    const { log, dir, key, epoch } = await leaderLog(1);
    await log.flush();
    await takeOver(key, epoch);
    const before = snapshot(dir);
    const segments = log.segmentCount();

    log.updateConfig({ ...CONFIG, retentionMs: 1 });
    await expect(log.enforceRetention(Date.now() + 3_600_000)).rejects.toBeInstanceOf(LeaseLostError);
    expect(log.segmentCount()).toBe(segments);
    expect(log.logStartOffset).toBe(0);

    await expect(log.deleteRecordsBefore(20)).rejects.toBeInstanceOf(LeaseLostError);
    expect(log.logStartOffset).toBe(0);

    await log.close();
    const after = snapshot(dir);
    expect(after.meta).toBe(before.meta);
    expect(JSON.parse(after.meta)).not.toHaveProperty('cleanShutdown');
    // Nothing deleted; close wrote no indexes or snapshot either.
    expect(after.files).toEqual(before.files);
  });
});
