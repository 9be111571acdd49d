import { describe, expect, it } from 'vitest';
import { normalized } from '../../vector/distance.js';
import { CHUNK_SLOTS, VectorSlab } from '../../vector/vector-slab.js';

const defs = [
  { name: 'a', dim: 3, metric: 'l2' as const },
  { name: 'c', dim: 2, metric: 'cosine' as const },
];

describe('VectorSlab', () => {
  it('stores every column of a row under one slot and keeps data across growth', () => {
    const slab = new VectorSlab(defs);
    const n = CHUNK_SLOTS * 2 + 5; // three chunks
    const slots = Array.from({ length: n }, (_, i) => slab.alloc({ a: [i, i + 1, i + 2], c: [i + 1, 2] }));
    expect(new Set(slots).size).toBe(n);
    expect(slab.slotCapacity).toBe(CHUNK_SLOTS * 3);
    for (let i = 0; i < n; i += 97) {
      expect(Array.from(slab.view(0, slots[i]!))).toEqual([i, i + 1, i + 2]);
      expect(Array.from(slab.view(1, slots[i]!))).toEqual([i + 1, 2]);
      // Cosine keeps a unit-length copy for exact search, computed exactly as `normalized` does.
      const at = slab.searchOffset(1, slots[i]!);
      expect(Array.from(slab.searchData(1, slots[i]!).subarray(at, at + 2))).toEqual(Array.from(normalized(Float32Array.of(i + 1, 2))));
    }
    // l2 searches the stored vector itself.
    const last = slots[n - 1]!;
    expect(slab.searchData(0, last).subarray(slab.searchOffset(0, last), slab.searchOffset(0, last) + 3)).toEqual(slab.view(0, last));
  });

  it('reuses freed slots instead of growing', () => {
    const slab = new VectorSlab(defs);
    const first = Array.from({ length: 4 }, (_, i) => slab.alloc({ a: [i, 0, 0], c: [1, 0] }));
    const cap = slab.slotCapacity;
    slab.release(first[1]!);
    slab.release(first[3]!);
    expect(slab.size).toBe(2);
    const again = [slab.alloc({ a: [9, 9, 9], c: [0, 1] }), slab.alloc({ a: [8, 8, 8], c: [0, 1] })];
    expect(again.sort()).toEqual([first[1]!, first[3]!].sort());
    expect(slab.slotCapacity).toBe(cap);
    expect(slab.size).toBe(4);
    expect(Array.from(slab.view(0, first[0]!))).toEqual([0, 0, 0]);
  });

  it('parks slots freed while held, so a snapshot in progress still reads their old vectors', () => {
    const slab = new VectorSlab(defs);
    const s0 = slab.alloc({ a: [1, 2, 3], c: [1, 0] });
    const unhold = slab.hold();
    slab.release(s0);
    const s1 = slab.alloc({ a: [4, 5, 6], c: [0, 1] });
    expect(s1).not.toBe(s0);
    expect(Array.from(slab.view(0, s0))).toEqual([1, 2, 3]);
    unhold();
    unhold(); // idempotent
    expect(slab.alloc({ a: [7, 8, 9], c: [1, 1] })).toBe(s0);
    expect(slab.size).toBe(2);
  });

  it('rejects a row that lacks a column', () => {
    const slab = new VectorSlab(defs);
    expect(() => slab.alloc({ a: [1, 2, 3] })).toThrow(/lacks vector c/);
  });
});
