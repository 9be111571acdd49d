import { normalizeInto } from './distance.js';
import type { VectorDef } from './schema.js';

interface Column {
  def: VectorDef;
  /** Floats per slot: the vector, then (cosine only) its unit-length copy for exact search. */
  stride: number;
  /** Offset of the search vector inside a slot. */
  searchOffset: number;
  /** Fixed-size chunks of CHUNK_SLOTS slots: growing never copies and never doubles the peak. */
  chunks: Float32Array[];
}

const CHUNK_BITS = 12;
/** Slots per chunk (4096: 2 MiB per 128-d l2 column). */
export const CHUNK_SLOTS = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK_SLOTS - 1;

/**
 * Every row's vectors in a few large Float32Arrays per vector column, addressed by a slot shared by
 * all columns. A Float32Array per row costs its own heap objects and malloc'd backing store; a slab
 * costs only the floats (plus at most one partly used chunk).
 */
export class VectorSlab {
  private readonly columns: Column[];
  private readonly byName = new Map<string, number>();
  private highWater = 0;
  private free: number[] = [];
  /** While > 0 freed slots are parked, not reused: a snapshot being written still reads them. */
  private holds = 0;
  private parked: number[] = [];

  constructor(defs: readonly VectorDef[]) {
    this.columns = defs.map((def, i) => {
      this.byName.set(def.name, i);
      const stride = def.metric === 'cosine' ? def.dim * 2 : def.dim;
      return { def, stride, searchOffset: def.metric === 'cosine' ? def.dim : 0, chunks: [] };
    });
  }

  /** Slots in use. */
  get size(): number {
    return this.highWater - this.free.length - this.parked.length;
  }

  get slotCapacity(): number {
    return (this.columns[0]?.chunks.length ?? 0) * CHUNK_SLOTS;
  }

  columnIndex(name: string): number {
    const i = this.byName.get(name);
    if (i === undefined) throw new Error(`no vector column ${name}`);
    return i;
  }

  /** Copies one row's vectors (all columns) into a free slot. */
  alloc(vectors: Record<string, ArrayLike<number>>): number {
    const slot = this.free.pop() ?? this.grow();
    for (const c of this.columns) {
      const v = vectors[c.def.name];
      if (!v) throw new Error(`row lacks vector ${c.def.name}`);
      const data = c.chunks[slot >> CHUNK_BITS]!;
      const at = (slot & CHUNK_MASK) * c.stride;
      data.set(v, at);
      if (c.searchOffset > 0) normalizeInto(data, at, c.def.dim, data, at + c.searchOffset);
    }
    return slot;
  }

  release(slot: number): void {
    if (this.holds > 0) this.parked.push(slot);
    else this.free.push(slot);
  }

  /** Freed slots keep their contents until the returned function is called. */
  hold(): () => void {
    this.holds++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.holds === 0 && this.parked.length > 0) {
        for (const s of this.parked) this.free.push(s);
        this.parked = [];
      }
    };
  }

  /** The stored vector as a view (valid until the next alloc; copy it to keep it). */
  view(column: number, slot: number): Float32Array {
    const c = this.columns[column]!;
    const at = (slot & CHUNK_MASK) * c.stride;
    return c.chunks[slot >> CHUNK_BITS]!.subarray(at, at + c.def.dim);
  }

  /** The chunk holding `slot`; with searchOffset, where exact search reads it (unit-length for cosine). */
  searchData(column: number, slot: number): Float32Array {
    return this.columns[column]!.chunks[slot >> CHUNK_BITS]!;
  }

  searchOffset(column: number, slot: number): number {
    const c = this.columns[column]!;
    return (slot & CHUNK_MASK) * c.stride + c.searchOffset;
  }

  /** Copies of one slot's vectors, by column name. */
  copies(slot: number): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    this.columns.forEach((c, i) => {
      out[c.def.name] = this.view(i, slot).slice();
    });
    return out;
  }

  /** Views of one slot's vectors, by column name (for immediate serialization). */
  views(slot: number): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    this.columns.forEach((c, i) => {
      out[c.def.name] = this.view(i, slot);
    });
    return out;
  }

  clear(): void {
    this.highWater = 0;
    this.free = [];
    this.parked = [];
    for (const c of this.columns) c.chunks = [];
  }

  private grow(): number {
    if (this.highWater === this.slotCapacity) {
      for (const c of this.columns) c.chunks.push(new Float32Array(c.stride * CHUNK_SLOTS));
    }
    return this.highWater++;
  }
}
