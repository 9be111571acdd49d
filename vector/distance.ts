import type { Metric } from './schema.js';

/**
 * Exact distances with hnswlib's conventions so exact and ANN hits merge on one scale:
 * l2 = squared euclidean, ip = 1 - dot, cosine = 1 - dot of unit vectors.
 */
export type DistanceFn = (query: Float32Array, v: Float32Array) => number;

export function l2sq(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s;
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** hnswlib divides by (norm + 1e-30), so a zero vector stays zero rather than NaN. */
export function normalized(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const inv = 1 / (Math.sqrt(s) + 1e-30);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * inv;
  return out;
}

/** For cosine the caller passes unit vectors (query and stored), so all metrics are one pass. */
export function distanceFor(metric: Metric): DistanceFn {
  return metric === 'l2' ? l2sq : (q, v) => 1 - dot(q, v);
}

/** Higher-is-better score reported next to the distance. */
export function scoreFor(metric: Metric, distance: number): number {
  return metric === 'l2' ? -distance : 1 - distance;
}

/** `normalized` into `out` at `outAt`, from `v` at `at` (same arithmetic, so results match). */
export function normalizeInto(v: Float32Array, at: number, dim: number, out: Float32Array, outAt: number): void {
  let s = 0;
  for (let i = 0; i < dim; i++) s += v[at + i]! * v[at + i]!;
  const inv = 1 / (Math.sqrt(s) + 1e-30);
  for (let i = 0; i < dim; i++) out[outAt + i] = v[at + i]! * inv;
}

/** Distance from `query` to the vector stored in `data` at `at` (a slab slot). */
export type SlotDistanceFn = (query: Float32Array, data: Float32Array, at: number) => number;

function l2sqAt(q: Float32Array, data: Float32Array, at: number): number {
  let s = 0;
  for (let i = 0; i < q.length; i++) {
    const d = q[i]! - data[at + i]!;
    s += d * d;
  }
  return s;
}

function oneMinusDotAt(q: Float32Array, data: Float32Array, at: number): number {
  let s = 0;
  for (let i = 0; i < q.length; i++) s += q[i]! * data[at + i]!;
  return 1 - s;
}

export function slotDistanceFor(metric: Metric): SlotDistanceFn {
  return metric === 'l2' ? l2sqAt : oneMinusDotAt;
}
