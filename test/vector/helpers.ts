import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** mulberry32: small seeded PRNG so data sets are reproducible. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomVector(r: () => number, dim: number): number[] {
  const v: number[] = [];
  for (let i = 0; i < dim; i++) v.push(r() * 2 - 1);
  return v;
}

export function tempDir(prefix = 'floe-vector-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function docsSchema(name = 'docs', dim = 8, metric: 'l2' | 'cosine' | 'ip' = 'l2') {
  return {
    name,
    primaryKey: 'id',
    columns: [
      { name: 'id', type: 'string' as const },
      { name: 'cat', type: 'string' as const },
      { name: 'n', type: 'int' as const },
      { name: 'price', type: 'float' as const, nullable: true },
      { name: 'ok', type: 'bool' as const, nullable: true },
      { name: 'ts', type: 'timestamp' as const, nullable: true },
      { name: 'meta', type: 'json' as const, nullable: true },
    ],
    vectors: [{ name: 'emb', dim, metric }],
  };
}

export function l2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s;
}
