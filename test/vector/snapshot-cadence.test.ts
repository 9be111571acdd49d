import { cpSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AnnPool } from '../../vector/ann-pool.js';
import { MemoryChangelog } from '../../vector/changelog.js';
import { listSnapshots, readSnapshotMeta } from '../../vector/snapshot.js';
import { Table, type TableOptions } from '../../vector/table.js';
import { docsSchema, randomVector, rng, tempDir } from './helpers.js';

const DIM = 8;

function rows(n: number, seed: number, from = 0) {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => ({
    id: `k${String(from + i).padStart(5, '0')}`,
    cat: ['a', 'b', 'c'][(from + i) % 3]!,
    n: from + i,
    emb: randomVector(r, DIM),
  }));
}

/** Waits for background builds: the tail is empty and nothing is building. */
async function settled(t: Table): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const s = t.stats();
    if (s.tailRows === 0 && !s.building) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('index build did not settle');
}

describe('snapshot cadence and vector slots', () => {
  let tmp: ReturnType<typeof tempDir>;
  let pool: AnnPool;
  const open: Table[] = [];
  const cleanups: (() => void)[] = [];

  beforeEach(() => {
    tmp = tempDir();
    pool = new AnnPool(1);
  });
  afterEach(async () => {
    for (const t of open.splice(0)) await t.close();
    await pool.close();
    tmp.cleanup();
    for (const c of cleanups.splice(0)) c();
  });

  const create = async (opts: Partial<TableOptions>, log = new MemoryChangelog(), dir = tmp.dir) => {
    const t = await Table.create(docsSchema('cad', DIM), { dir, changelog: log, pool, ...opts });
    open.push(t);
    return t;
  };

  it('writes a snapshot on a build only when enough entries accumulated; checkpoint always writes one', async () => {
    const t = await create({ indexThreshold: 50, snapshotMinEntries: 400, snapshotMinFraction: 0, snapshotIntervalMs: 3_600_000 });
    let next = 0;
    const add = async (n: number) => {
      await t.upsert(rows(n, next + 1, next));
      next += n;
      await settled(t);
    };
    await add(60); // first build: no snapshot yet, so one is written
    expect(t.stats().snapshotsWritten).toBe(1);
    const first = t.stats().snapshotOffset;
    for (let i = 0; i < 4; i++) await add(60); // 4 more builds, 240 entries since the snapshot
    expect(t.stats().snapshotsWritten).toBe(1);
    expect(t.stats().snapshotOffset).toBe(first);
    await add(200); // 440 entries since the snapshot: due
    expect(t.stats().snapshotsWritten).toBe(2);
    expect(t.stats().snapshotOffset).toBe(t.stats().nextOffset);
    await add(60);
    expect(t.stats().snapshotsWritten).toBe(2);
    expect(await t.checkpoint()).toBe(t.stats().nextOffset);
    expect(t.stats().snapshotsWritten).toBe(3);
    const newest = (await listSnapshots(tmp.dir))[0]!;
    expect((await readSnapshotMeta(newest)).nextOffset).toBe(t.stats().nextOffset);
  });

  it('answers many concurrent table searches, racing writes, each with its own rows', async () => {
    const t = await create({ autoIndex: false });
    const data = rows(400, 8);
    await t.upsert(data.slice(0, 300));
    await t.checkpoint();
    await t.upsert(data.slice(300)); // 100 rows in the exact-search tail
    const extra = rows(50, 77, 5000);
    await t.upsert(extra);
    const searches = data.map((r) => t.search({ vector: r.emb, k: 1 }));
    // While the searches are in flight, other rows are deleted and their slots reused by new rows.
    const churn = t.delete(extra.map((r) => r.id)).then(() => t.upsert(rows(50, 78, 6000)));
    const hits = await Promise.all(searches);
    await churn;
    hits.forEach((h, i) => expect(h[0]!.key).toBe(data[i]!.id));
  });

  it('with snapshotIntervalMs 0 every build writes one', async () => {
    const t = await create({ indexThreshold: 50, snapshotMinEntries: 1_000_000, snapshotIntervalMs: 0 });
    for (let i = 0; i < 3; i++) {
      await t.upsert(rows(60, i + 1, i * 60));
      await settled(t);
    }
    expect(t.stats().snapshotsWritten).toBe(3);
  });

  it('recovers exactly from an older snapshot plus the changelog after it (crash between snapshots)', async () => {
    const log = new MemoryChangelog();
    const t = await create({ indexThreshold: 50, snapshotMinEntries: 10_000, snapshotMinFraction: 0, snapshotIntervalMs: 3_600_000 }, log);
    const all = rows(600, 3);
    for (let i = 0; i < all.length; i += 100) {
      await t.upsert(all.slice(i, i + 100));
      await settled(t);
    }
    // Churn after the only snapshot: deletes and overwrites free slots that new rows then reuse.
    await t.delete(all.slice(0, 150).map((r) => r.id));
    const changed = all.slice(150, 250).map((r) => ({ ...r, cat: 'changed', emb: r.emb.map((x) => -x) }));
    await t.upsert(changed);
    await t.upsert(rows(150, 99, 1000));
    await settled(t);
    expect(t.stats().snapshotsWritten).toBe(1);
    expect(t.stats().snapshotOffset).toBeLessThan(t.stats().nextOffset);

    // Every row's stored vector is its own (no slot shared by two rows).
    const expectVectors = async (tbl: Table) => {
      for (const r of [...changed, ...rows(150, 99, 1000), ...all.slice(250)]) {
        const got = (await tbl.get(r.id, true))!;
        expect(got.emb).toEqual(Array.from(Float32Array.from(r.emb)));
      }
    };
    await expectVectors(t);
    const queries = Array.from({ length: 20 }, (_, i) => randomVector(rng(500 + i), DIM));
    const answer = async (tbl: Table) => {
      const out = [];
      for (const q of queries) {
        out.push((await tbl.search({ vector: q, k: 10 })).map((h) => [h.key, h.distance]));
        out.push((await tbl.search({ vector: q, k: 5, filter: { eq: { cat: 'changed' } } })).map((h) => [h.key, h.distance]));
      }
      return out;
    };
    const before = await answer(t);

    // Crash image: the table dir as it is now (the old snapshot only), same changelog.
    const crash = tempDir();
    cleanups.push(crash.cleanup);
    cpSync(tmp.dir, crash.dir, { recursive: true });
    const t2 = await Table.open({ dir: crash.dir, changelog: log, pool, autoIndex: false });
    open.push(t2);
    expect(t2.stats().rows).toBe(t.stats().rows);
    expect(t2.stats().nextOffset).toBe(t.stats().nextOffset);
    // The rows after the snapshot come back as the exact-search tail until the next build.
    expect(t2.stats().tailRows).toBeGreaterThan(0);
    await expectVectors(t2);
    expect(await t2.get(all[0]!.id)).toBeUndefined();
    expect(await answer(t2)).toEqual(before);
    await t2.checkpoint();
    expect(t2.stats().tailRows).toBe(0);
    expect(await answer(t2)).toEqual(before);
  });
});
