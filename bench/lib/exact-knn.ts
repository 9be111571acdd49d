// Exact k-nearest neighbours (squared l2) for benchmark ground truth, split over worker threads:
// each worker scans one slice of the data for all queries, the slices' top-k are merged here.
import { Worker } from 'node:worker_threads';

export interface KnnSlice {
  data: Float32Array;
  queries: Float32Array;
  dim: number;
  k: number;
  from: number;
  to: number;
}

/** Per query, the k best [distance, index] pairs of rows from..to-1, flattened (k*2 per query). */
export function scanSlice({ data, queries, dim, k, from, to }: KnnSlice): Float64Array {
  const nq = queries.length / dim;
  const dist = new Float64Array(nq * k).fill(Infinity);
  const idx = new Float64Array(nq * k).fill(-1);
  const worst = new Float64Array(nq).fill(Infinity);
  for (let i = from; i < to; i++) {
    const base = i * dim;
    for (let q = 0; q < nq; q++) {
      const qb = q * dim;
      const bound = worst[q]!;
      let s = 0;
      // Stop early once this row cannot enter the query's top k.
      for (let j = 0; j < dim && s < bound; j++) {
        const d = data[base + j]! - queries[qb + j]!;
        s += d * d;
      }
      if (s >= bound) continue;
      // Insertion into the sorted top-k list of this query.
      let p = q * k + k - 1;
      while (p > q * k && dist[p - 1]! > s) {
        dist[p] = dist[p - 1]!;
        idx[p] = idx[p - 1]!;
        p--;
      }
      dist[p] = s;
      idx[p] = i;
      worst[q] = dist[q * k + k - 1]!;
    }
  }
  const out = new Float64Array(nq * k * 2);
  for (let t = 0; t < nq * k; t++) {
    out[2 * t] = dist[t]!;
    out[2 * t + 1] = idx[t]!;
  }
  return out;
}

function spawn(slice: KnnSlice): Promise<Float64Array> {
  const here = import.meta.url;
  const entry = new URL(here.endsWith('.ts') ? './exact-knn-worker.ts' : './exact-knn-worker.js', here).href;
  let w: Worker;
  if (here.endsWith('.ts')) {
    // Worker threads do not inherit tsx's loader: register it before importing the entry.
    const api = import.meta.resolve('tsx/esm/api');
    const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
    w = new Worker(boot, { eval: true, workerData: slice });
  } else w = new Worker(new URL(entry), { workerData: slice });
  return new Promise((resolve, reject) => {
    w.once('message', (m: Float64Array) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`exact-knn worker exited with code ${code}`)));
  });
}

/**
 * Labels of the k nearest rows for each query. `data` should live on a SharedArrayBuffer (else
 * each worker gets a copy). Ties are broken by the lower index.
 */
export async function exactKnn(data: Float32Array, queries: Float32Array, dim: number, k: number, threads: number): Promise<number[][]> {
  const n = data.length / dim;
  const nq = queries.length / dim;
  const parts = Math.max(1, Math.min(threads, n));
  const per = Math.ceil(n / parts);
  const slices: KnnSlice[] = [];
  for (let p = 0; p < parts; p++) slices.push({ data, queries, dim, k, from: p * per, to: Math.min(n, (p + 1) * per) });
  const results = parts === 1 ? [scanSlice(slices[0]!)] : await Promise.all(slices.map(spawn));
  const out: number[][] = [];
  for (let q = 0; q < nq; q++) {
    const cand: Array<[number, number]> = [];
    for (const r of results) {
      for (let t = 0; t < k; t++) {
        const at = 2 * (q * k + t);
        if (r[at + 1]! >= 0) cand.push([r[at]!, r[at + 1]!]);
      }
    }
    cand.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    out.push(cand.slice(0, k).map(([, i]) => i));
  }
  return out;
}
