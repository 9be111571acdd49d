/**
 * Reusable large buffers in power-of-two size classes. Large per-request allocations (Fetch
 * reads) count as V8 external memory and trigger full GCs; reusing them avoids that churn.
 * A buffer that is never given back is simply garbage collected, so only an early give() is a
 * bug: give a buffer back only once nothing reads it any more.
 */
export class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private readonly mine = new WeakSet<ArrayBuffer>();
  private pooledBytes = 0;

  /**
   * @param minBytes requests below this are plain allocations (not worth pooling)
   * @param maxBytes requests above this are plain allocations
   * @param capBytes most bytes kept idle in the pool
   */
  constructor(
    readonly minBytes = 64 * 1024,
    readonly maxBytes = 32 * 1024 * 1024,
    readonly capBytes = 64 * 1024 * 1024,
  ) {}

  /** Bytes currently idle in the pool. */
  get idleBytes(): number {
    return this.pooledBytes;
  }

  /** A buffer of exactly `n` bytes (contents undefined). */
  take(n: number): Buffer {
    if (n < this.minBytes || n > this.maxBytes) return Buffer.allocUnsafe(n);
    const size = classOf(n);
    const ab = this.free.get(size)?.pop();
    if (ab !== undefined) {
      this.pooledBytes -= size;
      return Buffer.from(ab, 0, n);
    }
    const fresh = Buffer.allocUnsafeSlow(size).buffer as ArrayBuffer;
    this.mine.add(fresh);
    return Buffer.from(fresh, 0, n);
  }

  /** True when `buf` is a view of a buffer this pool handed out. */
  owns(buf: Buffer): boolean {
    return this.mine.has(buf.buffer as ArrayBuffer);
  }

  /** Returns the buffer behind `buf` (any view of it) for reuse. */
  give(buf: Buffer): void {
    const ab = buf.buffer as ArrayBuffer;
    if (!this.mine.has(ab)) return;
    const size = ab.byteLength;
    if (this.pooledBytes + size > this.capBytes) return;
    let list = this.free.get(size);
    if (list === undefined) this.free.set(size, (list = []));
    // A double give would hand one buffer to two readers; refuse it loudly.
    if (list.includes(ab)) throw new Error('buffer given back to the pool twice');
    list.push(ab);
    this.pooledBytes += size;
  }

  /** Drops every idle buffer (memory goes back to the allocator on the next GC). */
  clear(): void {
    this.free.clear();
    this.pooledBytes = 0;
  }
}

function classOf(n: number): number {
  let size = 1;
  while (size < n) size *= 2;
  return size;
}
