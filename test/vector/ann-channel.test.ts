import { afterEach, describe, expect, it } from 'vitest';
import { AnnPool } from '../../vector/ann-pool.js';
import type { AnnChannel } from '../../vector/ann-protocol.js';
import { randomVector, rng } from './helpers.js';

const DIM = 16;
const N = 300;

function dataset(): Float32Array {
  const r = rng(5);
  const data = new Float32Array(N * DIM);
  for (let i = 0; i < N; i++) data.set(randomVector(r, DIM), i * DIM);
  return data;
}

describe.each(['shared', 'post'] as AnnChannel[])('ANN worker, %s channel', (channel) => {
  let pool: AnnPool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('answers many searches in flight at once, each with its own answer', async () => {
    pool = new AnnPool(2, channel);
    const data = dataset();
    const idx = [pool.place('a'), pool.place('b')];
    for (const ix of idx) {
      await ix.init('l2', DIM, 16, 100, N, 100);
      await ix.add(Float64Array.from({ length: N }, (_, i) => i), data.slice());
    }
    // Every stored vector as a query, all posted before any answer is read, spread over both workers.
    const answers = await Promise.all(
      Array.from({ length: N * 2 }, (_, j) => idx[j % 2]!.search(data.subarray((j % N) * DIM, ((j % N) + 1) * DIM), 3, 50, Infinity)),
    );
    answers.forEach((r, j) => {
      expect(r.labels[0]).toBe(j % N);
      expect(r.distances[0]).toBe(0);
      expect(r.labels).toHaveLength(3);
    });
  });

  it('applies requests in the order they were posted (delete before a search is seen by it)', async () => {
    pool = new AnnPool(1, channel);
    const data = dataset();
    const ix = pool.place('x');
    await ix.init('l2', DIM, 16, 100, 8, 100);
    // Not awaited: the add (with a resize), the delete and the search are queued back to back.
    const add = ix.add(Float64Array.from({ length: N }, (_, i) => i), data.slice());
    const del = ix.delete([7]);
    const hit = ix.search(data.subarray(7 * DIM, 8 * DIM), 1, 50, Infinity);
    await Promise.all([add, del]);
    expect((await hit).labels[0]).not.toBe(7);
    expect((await ix.stats()).count).toBe(N);
  });

  it('reports a failed request without breaking the channel', async () => {
    pool = new AnnPool(1, channel);
    const ix = pool.place('missing');
    await expect(ix.search(new Float32Array(DIM), 1, 10, Infinity)).rejects.toThrow(/not loaded/);
    await ix.init('l2', DIM, 16, 100, 4, 100);
    await ix.add(Float64Array.of(42), new Float32Array(DIM).fill(1));
    expect((await ix.search(new Float32Array(DIM).fill(1), 1, 10, Infinity)).labels).toEqual([42]);
  });

  it('rejects calls after the pool is closed instead of hanging', async () => {
    pool = new AnnPool(1, channel);
    const ix = pool.place('z');
    await ix.init('l2', DIM, 16, 100, 4, 100);
    await pool.close();
    pool = undefined;
    await expect(ix.stats()).rejects.toThrow(/exited/);
  });
});
