// Floe's ANN worker without the table layer, to split Floe's search overhead over raw hnswlib into
// the thread hop and the table's own work (validation, tail scan, re-scoring, row objects).
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AnnPool, type AnnIndex } from '../../vector/ann-pool.js';
import type { AnnChannel } from '../../vector/ann-protocol.js';
import type { Metric } from '../../vector/schema.js';

/** Newest `<column>.hnsw` under a node's data directory (snapshot dirs are named by changelog offset). */
export async function newestIndexFile(dataDir: string, column: string): Promise<string | undefined> {
  const files = (await readdir(dataDir, { recursive: true })).filter((f) => basename(f) === `${column}.hnsw` && !f.includes('.tmp'));
  const offset = (f: string): number => Number(basename(dirname(f)));
  files.sort((a, b) => offset(b) - offset(a));
  return files[0] === undefined ? undefined : join(dataDir, files[0]);
}

export interface DirectIndex {
  index: AnnIndex;
  close(): Promise<void>;
}

/** Loads an index file into a fresh one-thread pool, as the table's worker holds it. */
export async function loadDirect(file: string, metric: Metric, dim: number, channel?: AnnChannel): Promise<DirectIndex> {
  const pool = new AnnPool(1, channel);
  const index = pool.place('bench-direct');
  await index.load(metric, dim, file);
  return { index, close: () => pool.close() };
}

/** Round trip of a search on a one-row index: the cost of posting to the worker and back. */
export async function hopLatencies(dim: number, samples: number, channel?: AnnChannel): Promise<number[]> {
  const pool = new AnnPool(1, channel);
  try {
    const index = pool.place('bench-hop');
    await index.init('l2', dim, 16, 16, 1);
    await index.add(Float64Array.of(0), new Float32Array(dim));
    const q = new Float32Array(dim);
    const out: number[] = [];
    for (let i = 0; i < samples + 50; i++) {
      const t0 = performance.now();
      await index.search(q, 10, 10, Infinity);
      if (i >= 50) out.push(performance.now() - t0); // first 50 warm up
    }
    return out;
  } finally {
    await pool.close();
  }
}
