/** Thrown when a size prefix is negative or above the limit; the connection must be closed. */
export class FrameSizeError extends Error {
  constructor(readonly size: number, readonly maxBytes: number) {
    super(`invalid request size ${size} (allowed 0..${maxBytes})`);
    this.name = 'FrameSizeError';
  }
}

/**
 * Splits a TCP byte stream into int32-length-prefixed frames. Sans-I/O: push chunks, get frames.
 * A frame inside one chunk is returned as a view of that chunk; a frame spanning chunks is
 * concatenated once, when its last byte arrives, so large frames cost O(n).
 */
export class FrameDecoder {
  private readonly header = Buffer.alloc(4);
  private headerFill = 0;
  /** Body size of the frame being collected, or -1 while reading the header. */
  private expected = -1;
  private parts: Buffer[] = [];
  private partsBytes = 0;

  /** `alloc` supplies the buffer of a frame that spans chunks (e.g. from a pool). */
  constructor(
    private readonly maxFrameBytes: number,
    private readonly alloc?: (n: number) => Buffer,
  ) {}

  /** Bytes buffered towards an incomplete frame (header included). */
  get pendingBytes(): number {
    return this.expected < 0 ? this.headerFill : 4 + this.partsBytes;
  }

  /** Appends a chunk; returns the frames it completed, in order. Throws FrameSizeError. */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.expected < 0) {
        if (this.headerFill === 0 && chunk.length - pos >= 4) {
          this.expected = this.checkSize(chunk.readInt32BE(pos));
          pos += 4;
        } else {
          const n = Math.min(4 - this.headerFill, chunk.length - pos);
          chunk.copy(this.header, this.headerFill, pos, pos + n);
          this.headerFill += n;
          pos += n;
          if (this.headerFill < 4) break;
          this.headerFill = 0;
          this.expected = this.checkSize(this.header.readInt32BE(0));
        }
      }
      const need = this.expected - this.partsBytes;
      const available = chunk.length - pos;
      if (available < need) {
        this.parts.push(chunk.subarray(pos));
        this.partsBytes += available;
        break;
      }
      const tail = chunk.subarray(pos, pos + need);
      pos += need;
      if (this.parts.length === 0) {
        frames.push(tail);
      } else {
        this.parts.push(tail);
        frames.push(this.alloc === undefined ? Buffer.concat(this.parts, this.expected) : this.join(this.alloc(this.expected)));
        this.parts = [];
        this.partsBytes = 0;
      }
      this.expected = -1;
    }
    return frames;
  }

  private join(out: Buffer): Buffer {
    let at = 0;
    for (const p of this.parts) at += p.copy(out, at);
    return out;
  }

  private checkSize(size: number): number {
    if (size < 0 || size > this.maxFrameBytes) throw new FrameSizeError(size, this.maxFrameBytes);
    return size;
  }
}
