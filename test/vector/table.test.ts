import { appendFileSync, cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryChangelog } from '../../vector/changelog.js';
import { TableError } from '../../vector/errors.js';
import { TableStore } from '../../vector/store.js';
import { Table } from '../../vector/table.js';
import { AnnPool } from '../../vector/ann-pool.js';
import { docsSchema, l2, randomVector, rng, tempDir } from './helpers.js';

const DIM = 8;

function makeRows(n: number, seed: number, prefix = 'k') {
  const r = rng(seed);
  const cats = ['a', 'b', 'c', 'd'];
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${String(i).padStart(5, '0')}`,
    cat: cats[i % 4]!,
    n: i,
    price: i % 5 === 0 ? null : i * 1.5,
    ok: i % 2 === 0,
    ts: 1_700_000_000_000 + i * 1000,
    meta: { i },
    emb: randomVector(r, DIM),
  }));
}

/** Exact top-k by brute force over the rows we wrote. */
function bruteForce(rows: { id: string; emb: number[] }[], q: number[], k: number): string[] {
  return rows
    .map((r) => [l2(q, Float32Array.from(r.emb)), r.id] as const)
    .sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1))
    .slice(0, k)
    .map((x) => x[1]);
}

describe('Table', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: TableStore;

  beforeEach(() => {
    tmp = tempDir();
    store = new TableStore({ dataDir: tmp.dir, workers: 1, tuning: { indexThreshold: 64 } });
  });
  afterEach(async () => {
    await store.close();
    tmp.cleanup();
  });

  it('rejects invalid rows as a whole batch, with clear messages', async () => {
    const t = await store.create(docsSchema('v', DIM));
    const good = makeRows(3, 1);
    await t.upsert(good);
    const cases: [unknown, RegExp][] = [
      [{ ...good[0], id: undefined }, /primary key id must be a non-empty string/],
      [{ ...good[0], n: 'x' }, /column n: expected integer/],
      [{ ...good[0], n: 1.5 }, /column n: expected integer/],
      [{ ...good[0], emb: [1, 2, 3] }, /vector emb: expected dimension 8, got 3/],
      [{ ...good[0], emb: [1, 2, 3, 4, 5, 6, 7, NaN] }, /element 7 is NaN/],
      [{ ...good[0], bogus: 1 }, /unknown column "bogus"/],
      [{ ...good[0], cat: null }, /column cat is required/],
      [{ ...good[0], ts: 'not a date' }, /column ts: expected timestamp/],
      ['row', /a row must be an object/],
    ];
    for (const [bad, msg] of cases) {
      const fresh = makeRows(2, 99, 'new');
      const err = await t.upsert([...fresh, bad]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TableError);
      expect((err as Error).message).toMatch(msg);
      expect((err as Error).message).toMatch(/row 2/);
    }
    // Nothing of the rejected batches reached the table or the changelog.
    expect(await t.count()).toBe(3);
    expect(t.stats().nextOffset).toBe(3);
    expect(await t.get('new00000')).toBeUndefined();
    await expect(t.delete([42])).rejects.toThrow(/must be a non-empty string/);
  });

  it('normalises values and supports get, nullable columns and timestamps', async () => {
    const t = await store.create(docsSchema('g', DIM));
    const [row] = makeRows(1, 2);
    await t.upsert([{ ...row, ts: '2024-01-02T03:04:05.000Z', price: undefined, ok: undefined, meta: undefined }]);
    expect(await t.get(row!.id)).toEqual({ id: row!.id, cat: 'a', n: 0, price: null, ok: null, ts: Date.parse('2024-01-02T03:04:05.000Z'), meta: null });
    const withVec = await t.get(row!.id, true);
    expect(withVec!.emb).toEqual(Array.from(Float32Array.from(row!.emb)));
  });

  it('makes a write visible to the very next search, before any index build', async () => {
    const pool = new AnnPool(1);
    const { dir, cleanup } = tempDir();
    try {
      const t = await Table.create(docsSchema('fresh', DIM), { dir, changelog: new MemoryChangelog(), pool, autoIndex: false });
      const rows = makeRows(50, 3);
      await t.upsert(rows);
      await t.checkpoint();
      expect(t.stats().tailRows).toBe(0);
      const target = { ...makeRows(1, 4, 'new')[0]!, emb: Array(DIM).fill(5) };
      await t.upsert([target]);
      expect(t.stats().tailRows).toBe(1);
      const hits = await t.search({ vector: Array(DIM).fill(5), k: 3 });
      expect(hits[0]!.key).toBe(target.id);
      expect(hits[0]!.distance).toBe(0);
      expect(hits).toHaveLength(3);
      await t.close();
    } finally {
      await pool.close();
      cleanup();
    }
  });

  it('never returns deleted or replaced rows, in the index or the tail', async () => {
    const t = await store.create(docsSchema('del', DIM));
    const rows = makeRows(300, 5);
    await t.upsert(rows);
    await t.checkpoint();
    expect(t.stats().tailRows).toBe(0);
    // Half of the changes hit indexed rows, half rows still in the tail.
    const extra = makeRows(40, 6, 'tail');
    await t.upsert(extra);
    const deleted = [...rows.slice(0, 30).map((r) => r.id), ...extra.slice(0, 10).map((r) => r.id)];
    await t.delete(deleted);
    const moved = [...rows.slice(30, 60), ...extra.slice(10, 20)].map((r) => ({ ...r, cat: 'moved', emb: Array(DIM).fill(100) }));
    await t.upsert(moved);
    const movedIds = new Set(moved.map((r) => r.id));
    const deletedIds = new Set(deleted);
    for (const r of [...rows.slice(0, 60), ...extra.slice(0, 20)]) {
      const hits = await t.search({ vector: r.emb, k: 10 });
      expect(hits).toHaveLength(10);
      for (const h of hits) {
        expect(deletedIds.has(h.key as string)).toBe(false);
        // A replaced row may only appear with its new contents (far away, so not at all here).
        expect(movedIds.has(h.key as string)).toBe(false);
      }
    }
    const far = await t.search({ vector: Array(DIM).fill(100), k: 40 });
    expect(far.slice(0, 40).filter((h) => h.row.cat === 'moved')).toHaveLength(40);
    expect(await t.count()).toBe(340 - 40);
    expect(t.stats().deadInIndex).toBeGreaterThanOrEqual(60);
  });

  it('matches exact search on a small table, with ANN and tail merged', async () => {
    const t = await store.create(docsSchema('exact', DIM));
    const rows = makeRows(400, 7);
    await t.upsert(rows.slice(0, 300));
    await t.checkpoint();
    await t.upsert(rows.slice(300));
    expect(t.stats().tailRows).toBe(100);
    const r = rng(8);
    for (let q = 0; q < 20; q++) {
      const v = randomVector(r, DIM);
      const hits = await t.search({ vector: v, k: 5 });
      expect(hits.map((h) => h.key)).toEqual(bruteForce(rows, v, 5));
    }
  });

  it('filters with eq, range, in, and, or, not — and always fills k when k rows match', async () => {
    const t = await store.create(docsSchema('flt', DIM));
    const rows = makeRows(400, 9);
    await t.upsert(rows);
    await t.checkpoint();
    const q = randomVector(rng(10), DIM);
    const check = async (filter: object, pred: (r: (typeof rows)[number]) => boolean) => {
      const match = rows.filter(pred);
      expect(await t.count(filter as never)).toBe(match.length);
      const hits = await t.search({ vector: q, k: 10, filter: filter as never });
      expect(hits.map((h) => h.key)).toEqual(bruteForce(match, q, 10));
    };
    await check({ eq: { cat: 'b' } }, (r) => r.cat === 'b');
    await check({ eq: { cat: 'b', ok: true } }, (r) => r.cat === 'b' && r.ok);
    await check({ range: { n: { gte: 100, lt: 110 } } }, (r) => r.n >= 100 && r.n < 110);
    await check({ range: { price: { gt: 300 } } }, (r) => r.price !== null && r.price > 300);
    await check({ range: { ts: { lte: new Date(1_700_000_000_000 + 5000).toISOString() } } }, (r) => r.n <= 5);
    await check({ in: { cat: ['a', 'd'] } }, (r) => r.cat === 'a' || r.cat === 'd');
    await check({ eq: { price: null } }, (r) => r.price === null);
    await check({ eq: { meta: { i: 7 } } }, (r) => r.n === 7);
    await check(
      { or: [{ eq: { cat: 'a' } }, { and: [{ eq: { cat: 'c' } }, { not: { range: { n: { lt: 200 } } } }] }] },
      (r) => r.cat === 'a' || (r.cat === 'c' && r.n >= 200),
    );
    await check({ eq: { cat: 'none' } }, () => false);
    // Fewer matches than k: all of them come back.
    await check({ range: { n: { lt: 3 } } }, (r) => r.n < 3);
    for (const bad of [{ eq: { nope: 1 } }, { eq: { n: 'x' } }, { range: { ok: { gt: true } } }, { xor: [] }, { eq: { emb: 1 } }, {}]) {
      await expect(t.search({ vector: q, k: 3, filter: bad as never })).rejects.toBeInstanceOf(TableError);
    }
  });

  it('filtered ANN (no exact fallback) still returns k live matches', async () => {
    const { dir, cleanup } = tempDir();
    const pool = new AnnPool(1);
    try {
      const t = await Table.create(docsSchema('fann', DIM), {
        dir,
        changelog: new MemoryChangelog(),
        pool,
        autoIndex: false,
        exactFilterRows: 0,
        exactFilterFraction: 0,
      });
      const rows = makeRows(600, 11);
      await t.upsert(rows);
      await t.checkpoint();
      await t.delete(rows.filter((r) => r.cat === 'a' && r.n < 300).map((r) => r.id));
      const live = rows.filter((r) => !(r.cat === 'a' && r.n < 300));
      const r = rng(12);
      let hit = 0;
      for (let i = 0; i < 20; i++) {
        const q = randomVector(r, DIM);
        const hits = await t.search({ vector: q, k: 10, filter: { eq: { cat: 'a' } } });
        expect(hits).toHaveLength(10);
        for (const h of hits) expect(h.row.cat).toBe('a');
        const truth = new Set(bruteForce(live.filter((x) => x.cat === 'a'), q, 10));
        hit += hits.filter((h) => truth.has(h.key as string)).length;
      }
      expect(hit / 200).toBeGreaterThanOrEqual(0.95);
      await t.close();
    } finally {
      await pool.close();
      cleanup();
    }
  });

  it('pages through a scan in key order with an opaque, stable token', async () => {
    const t = await store.create(docsSchema('scan', DIM));
    const rows = makeRows(53, 13);
    await t.upsert([...rows].reverse());
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await t.scan({ limit: 7, ...(token ? { pageToken: token } : {}) });
      seen.push(...page.rows.map((r) => r.id as string));
      token = page.nextPageToken;
      pages++;
      // Writes between pages must not disturb the order or cause repeats.
      if (pages === 2) await t.upsert([{ ...rows[0]!, id: 'k00000a' }]);
    } while (token);
    const expected = [...rows.map((r) => r.id), 'k00000a'].sort();
    expect(seen).toEqual(expected.filter((id) => id !== 'k00000a'));
    expect(pages).toBe(8);
    const filtered = await t.scan({ filter: { eq: { cat: 'c' } }, limit: 1000 });
    expect(filtered.rows.map((r) => r.id)).toEqual(rows.filter((r) => r.cat === 'c').map((r) => r.id));
    expect(filtered.nextPageToken).toBeUndefined();
    await expect(t.scan({ pageToken: 'garbage!' })).rejects.toThrow(/page token/);
  });

  it('orders int keys numerically', async () => {
    const t = await store.create({
      name: 'ints',
      primaryKey: 'id',
      columns: [{ name: 'id', type: 'int' }],
      vectors: [{ name: 'v', dim: 2, metric: 'l2' }],
    });
    await t.upsert([10, 9, 100, 1].map((id) => ({ id, v: [id, 0] })));
    expect((await t.scan()).rows.map((r) => r.id)).toEqual([1, 9, 10, 100]);
    await expect(t.upsert([{ id: '1', v: [0, 0] }])).rejects.toThrow(/safe integer/);
  });

  it('adds a nullable column, lists, describes and drops tables', async () => {
    const t = await store.create(docsSchema('alt', DIM));
    await t.upsert(makeRows(3, 14));
    await expect(store.create(docsSchema('alt', DIM))).rejects.toThrow(/already exists/);
    const schema = await store.addColumn('alt', { name: 'tag', type: 'string' } as never);
    expect(schema.columns.at(-1)).toEqual({ name: 'tag', type: 'string', nullable: true });
    expect((await t.get('k00000'))!.tag).toBeNull();
    await t.upsert([{ ...makeRows(1, 15)[0]!, id: 'x', tag: 'hello' }]);
    expect((await t.scan({ filter: { eq: { tag: 'hello' } } })).rows.map((r) => r.id)).toEqual(['x']);
    await expect(store.addColumn('alt', { name: 'tag', type: 'string' })).rejects.toThrow(/already exists/);
    await expect(store.addColumn('alt', { name: 'z', type: 'int', nullable: false })).rejects.toThrow(/must be nullable/);
    await store.create(docsSchema('other', DIM));
    expect(await store.list()).toEqual(['alt', 'other']);
    const d = await store.describe('alt');
    expect(d.stats.rows).toBe(4);
    await store.drop('alt');
    expect(existsSync(join(tmp.dir, 'tables', 'alt'))).toBe(false);
    expect(await store.list()).toEqual(['other']);
    await expect(store.get('alt')).rejects.toThrow(/no table schema/);
  });

  it('reopens after a simulated crash with identical search results', async () => {
    // No background builds, so the on-disk image copied below is not mid-snapshot.
    await store.close();
    store = new TableStore({ dataDir: tmp.dir, workers: 1, tuning: { autoIndex: false } });
    const t = await store.create(docsSchema('crash', DIM));
    const rows = makeRows(500, 16);
    await t.upsert(rows.slice(0, 400));
    await t.checkpoint();
    await t.upsert(rows.slice(400));
    await t.delete(rows.slice(0, 20).map((r) => r.id));
    await t.upsert(rows.slice(20, 40).map((r) => ({ ...r, cat: 'changed', emb: r.emb.map((x) => -x) })));
    const queries = Array.from({ length: 25 }, (_, i) => randomVector(rng(100 + i), DIM));
    const search = async (tbl: Table) => {
      const out = [];
      for (const q of queries) {
        out.push(await tbl.search({ vector: q, k: 10 }));
        out.push(await tbl.search({ vector: q, k: 5, filter: { eq: { cat: 'b' } } }));
      }
      return out;
    };
    const before = await search(t);
    // The crash image: files as they are on disk right now, no close, no final snapshot.
    const { dir: crashDir, cleanup } = tempDir();
    cpSync(tmp.dir, crashDir, { recursive: true });
    // A half-written changelog line, as a crash in the middle of an append leaves it.
    appendFileSync(join(crashDir, 'tables', 'crash', 'changelog.jsonl'), '{"op":"upsert","key":"torn","ro');
    const store2 = new TableStore({ dataDir: crashDir, workers: 1, tuning: { autoIndex: false } });
    try {
      const t2 = await store2.get('crash');
      expect(t2.stats().rows).toBe(480);
      expect(t2.stats().tailRows).toBe(t.stats().tailRows);
      expect(await search(t2)).toEqual(before);
      expect(await t2.get('torn')).toBeUndefined();
      expect((await t2.get(rows[25]!.id))!.cat).toBe('changed');
      const lines = readFileSync(join(crashDir, 'tables', 'crash', 'changelog.jsonl'), 'utf8');
      expect(lines.endsWith('\n')).toBe(true);
    } finally {
      await store2.close();
      cleanup();
    }
  });

  it('strong consistency waits for a write made through another instance', async () => {
    const pool = new AnnPool(1);
    const a = tempDir();
    const b = tempDir();
    const log = new MemoryChangelog();
    try {
      const writer = await Table.create(docsSchema('shared', DIM), { dir: a.dir, changelog: log, pool });
      const reader = await Table.create(docsSchema('shared', DIM), { dir: b.dir, changelog: log, pool, strongTimeoutMs: 200 });
      const row = { ...makeRows(1, 17)[0]!, emb: Array(DIM).fill(3) };
      const { offset } = await writer.upsert([row]);
      expect(await reader.search({ vector: row.emb, k: 1 })).toEqual([]);
      const hits = await reader.search({ vector: row.emb, k: 1, consistency: 'strong', afterOffset: offset });
      expect(hits.map((h) => h.key)).toEqual([row.id]);
      await expect(reader.sync(offset + 5)).rejects.toThrow(/not applied within 200 ms/);
      await writer.close();
      await reader.close();
    } finally {
      await pool.close();
      a.cleanup();
      b.cleanup();
    }
  });
});
