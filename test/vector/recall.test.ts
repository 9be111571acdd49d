import { describe, expect, it } from 'vitest';
import { AnnPool } from '../../vector/ann-pool.js';
import { MemoryChangelog } from '../../vector/changelog.js';
import { Table } from '../../vector/table.js';
import { rng, tempDir } from './helpers.js';

const N = 20_000;
const DIM = 128;
const K = 10;
const QUERIES = 100;

function l2sq(a: Float32Array, b: Float32Array, off: number): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[off + i]!;
    s += d * d;
  }
  return s;
}

describe('recall at default settings (20k random 128-d vectors)', () => {
  it('recall@10 >= 0.95 vs exact, with and without a 10% filter', async () => {
    const r = rng(2024);
    const data = new Float32Array(N * DIM);
    for (let i = 0; i < data.length; i++) data[i] = r();
    const rows = Array.from({ length: N }, (_, i) => ({
      id: i,
      cat: i % 10,
      v: Array.from(data.subarray(i * DIM, (i + 1) * DIM)),
    }));
    const queries = Array.from({ length: QUERIES }, () => Float32Array.from({ length: DIM }, () => r()));
    const truth = (q: Float32Array, keep: (i: number) => boolean): Set<number> => {
      const best: [number, number][] = [];
      for (let i = 0; i < N; i++) {
        if (!keep(i)) continue;
        const d = l2sq(q, data, i * DIM);
        if (best.length < K || d < best[best.length - 1]![0]) {
          best.push([d, i]);
          best.sort((a, b) => a[0] - b[0]);
          if (best.length > K) best.pop();
        }
      }
      return new Set(best.map((b) => b[1]));
    };

    const pool = new AnnPool(1);
    const { dir, cleanup } = tempDir();
    try {
      const schema = {
        name: 'recall',
        primaryKey: 'id',
        columns: [
          { name: 'id', type: 'int' },
          { name: 'cat', type: 'int' },
        ],
        vectors: [{ name: 'v', dim: DIM, metric: 'l2' }],
      };
      const exactPlain = queries.map((q) => truth(q, () => true));
      const exactCat3 = queries.map((q) => truth(q, (i) => i % 10 === 3));
      const measure = async (t: Table, filter: boolean) => {
        const results = [];
        const t0 = performance.now();
        for (const q of queries) {
          results.push(await t.search({ vector: q, k: K, ...(filter ? { filter: { eq: { cat: 3 } } } : {}) }));
        }
        const qps = QUERIES / ((performance.now() - t0) / 1000);
        let hits = 0;
        results.forEach((res, qi) => {
          expect(res).toHaveLength(K);
          const want = (filter ? exactCat3 : exactPlain)[qi]!;
          for (const h of res) if (want.has(h.key as number)) hits++;
          if (filter) for (const h of res) expect(h.row.cat).toBe(3);
        });
        return { recall: hits / (QUERIES * K), qps };
      };

      const t = await Table.create(schema, { dir, changelog: new MemoryChangelog(), pool, autoIndex: false });
      const t0 = performance.now();
      for (let i = 0; i < N; i += 1000) await t.upsert(rows.slice(i, i + 1000));
      const tInsert = performance.now();
      await t.checkpoint();
      const tBuild = performance.now();
      expect(t.stats().tailRows).toBe(0);

      const plain = await measure(t, false);
      const filtered = await measure(t, true);
      // Same filter, forced through the graph instead of the exact fallback.
      const ann = await Table.open({ dir, changelog: new MemoryChangelog(), pool, autoIndex: false, exactFilterRows: 0, exactFilterFraction: 0 });
      const annFiltered = await measure(ann, true);
      console.log(
        `[vector recall] insert ${Math.round(N / ((tInsert - t0) / 1000))} rows/s (validate+changelog+apply), ` +
          `index build+snapshot ${Math.round(N / ((tBuild - tInsert) / 1000))} rows/s; ` +
          `recall@10 plain ${plain.recall} (${plain.qps.toFixed(0)} q/s), ` +
          `10% filter ${filtered.recall} (${filtered.qps.toFixed(0)} q/s, exact path), ` +
          `10% filter via ANN ${annFiltered.recall} (${annFiltered.qps.toFixed(0)} q/s)`,
      );
      expect(plain.recall).toBeGreaterThanOrEqual(0.95);
      expect(filtered.recall).toBeGreaterThanOrEqual(0.95);
      expect(annFiltered.recall).toBeGreaterThanOrEqual(0.95);
      await ann.close();
      await t.close();
    } finally {
      await pool.close();
      cleanup();
    }
  }, 180_000);
});
