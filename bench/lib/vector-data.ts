// Seeded synthetic vector sets for the table benchmark: uniform (near worst case for HNSW) and
// clustered (shaped like real embeddings: a Gaussian mixture on a curved low-dimensional manifold
// embedded in the full dimension, plus isotropic noise).

export type DataKind = 'clustered' | 'uniform';

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    s ^= s >>> 12;
    return (s >>> 0) / 2 ** 32;
  };
}

/** Standard normal samples from a uniform source (Box-Muller, both outputs used). */
export function gaussian(rand: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = 1 - rand(); // (0, 1]: log stays finite
    const r = Math.sqrt(-2 * Math.log(u));
    const t = 2 * Math.PI * rand();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
}

/** Writes one vector of `dim` floats into out[offset..]. */
export type Sampler = (out: Float32Array, offset: number) => void;

export interface ClusteredShape {
  centres: number;
  latentDim: number;
  /** Mean within-cluster standard deviation in latent units (centres are N(0, I)). */
  spread: number;
  /** Weight of the tanh bend that makes the manifold curved rather than a linear subspace. */
  bend: number;
  /** Per-coordinate standard deviation of the isotropic noise, relative to a signal coordinate. */
  noise: number;
}

// Tuned so raw HNSW (M=16, efC=200) at 100k needs ef ~24 / ~48 / ~128 for recall@10 0.90 / 0.95 /
// 0.99, in the range published for real 100-300-d embeddings; tighter clusters were far easier.
export const DEFAULT_SHAPE: ClusteredShape = { centres: 2048, latentDim: 32, spread: 0.7, bend: 0.5, noise: 0.25 };

export interface VectorSource {
  kind: DataKind;
  description: string;
  data: Sampler;
  queries: Sampler;
  fresh: Sampler;
}

/** Uniform [0,1)^dim from one stream, drawn in order data, queries, fresh (as the first runs did). */
export function uniformSource(dim: number, seed = 7): VectorSource {
  const rand = rng(seed);
  const sample: Sampler = (out, offset) => {
    for (let i = 0; i < dim; i++) out[offset + i] = rand();
  };
  return { kind: 'uniform', description: `uniform random [0,1)^${dim}`, data: sample, queries: sample, fresh: sample };
}

/**
 * x = A z + bend * tanh(B z) + noise, z = centre_c + spread_c * N(0, I) in latent space, c drawn
 * with log-normal weights (uneven cluster sizes). Data, queries and fresh rows share the model but
 * come from separate streams, so no query is a data point.
 */
export function clusteredSource(dim: number, seed = 7, shape: ClusteredShape = DEFAULT_SHAPE): VectorSource {
  const { centres, latentDim: L, spread, bend, noise } = shape;
  const g = gaussian(rng(seed * 7919 + 1));
  const scale = 1 / Math.sqrt(L);
  const A = Float64Array.from({ length: dim * L }, () => g() * scale);
  const B = Float64Array.from({ length: dim * L }, () => g() * 2 * scale);
  const mu = Float64Array.from({ length: centres * L }, () => g());
  const sd = Float64Array.from({ length: centres }, () => spread * Math.exp(0.3 * g()));
  const cum = new Float64Array(centres);
  let total = 0;
  for (let c = 0; c < centres; c++) cum[c] = total += Math.exp(g());
  // A signal coordinate has variance ~ 1 + spread^2 (A rows have unit norm in expectation).
  const noiseSd = noise * Math.sqrt(1 + spread * spread);

  const sampler = (stream: number): Sampler => {
    const rand = rng(seed * 104729 + stream);
    const n = gaussian(rand);
    const z = new Float64Array(L);
    return (out, offset) => {
      const u = rand() * total;
      let lo = 0;
      let hi = centres - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cum[mid]! < u) lo = mid + 1;
        else hi = mid;
      }
      const s = sd[lo]!;
      for (let j = 0; j < L; j++) z[j] = mu[lo * L + j]! + s * n();
      for (let i = 0; i < dim; i++) {
        let a = 0;
        let b = 0;
        const row = i * L;
        for (let j = 0; j < L; j++) {
          a += A[row + j]! * z[j]!;
          b += B[row + j]! * z[j]!;
        }
        out[offset + i] = a + bend * Math.tanh(b) + noiseSd * n();
      }
    };
  };
  return {
    kind: 'clustered',
    description: `Gaussian mixture, ${centres} centres (log-normal weights) on a curved ${L}-d manifold in ${dim}-d, spread ${spread}, bend ${bend}, noise ${noise}`,
    data: sampler(1),
    queries: sampler(2),
    fresh: sampler(3),
  };
}

export function source(kind: DataKind, dim: number, seed = 7): VectorSource {
  return kind === 'uniform' ? uniformSource(dim, seed) : clusteredSource(dim, seed);
}

/** `count` vectors back to back; shared memory so exact-search workers read them without copying. */
export function fill(sample: Sampler, count: number, dim: number, shared = false): Float32Array {
  const out = shared ? new Float32Array(new SharedArrayBuffer(count * dim * 4)) : new Float32Array(count * dim);
  for (let i = 0; i < count; i++) sample(out, i * dim);
  return out;
}

export function one(sample: Sampler, dim: number): Float32Array {
  const v = new Float32Array(dim);
  sample(v, 0);
  return v;
}
