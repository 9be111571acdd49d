// The one walk over v2 batches laid back to back in memory. A reusable cursor rather than a
// generator: the fetch and produce paths step through batches without allocating per batch.
// It never reads past its view, whatever the length fields say.

import {
  ATTRIBUTES,
  BASE_OFFSET,
  BASE_SEQUENCE,
  BATCH_LENGTH,
  type BatchHeader,
  HEADER_SIZE,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  readBatchHeader,
  RECORDS_COUNT,
} from './batch-header.js';

/**
 * Why a walk ended. `end`: the view ended exactly after a whole batch. `torn`: the last bytes are
 * the start of a batch that runs past the view (or too few to hold a length). `corrupt`: a
 * length field below the fixed header size (negative ones included).
 */
export type BatchStop = 'end' | 'torn' | 'corrupt';

/** int64 as a JS number without a BigInt (offsets and ms fit in 2^53). */
function int64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * 0x1_0000_0000 + buf.readUInt32BE(pos + 4);
}

const EMPTY: Buffer = Buffer.alloc(0);

/**
 * Steps through the batches in `[start, end)` of a buffer. After `next()` returns true the
 * current batch is whole in the view; after it returns false `stop` says why and `position` is
 * where the bytes that are not a whole batch begin. A torn batch's header fields may still be
 * read when `available` covers them (header-only views of a file).
 */
export class BatchCursor {
  buf: Buffer = EMPTY;
  /** Start of the current batch, or of what stopped the walk. */
  position = 0;
  /** Bytes of the current batch, header included; after a stop, as declared (0 if unreadable). */
  size = 0;
  /** Null while walking. */
  stop: BatchStop | null = null;
  private end = 0;
  private nextPos = 0;

  /** Starts a walk over `[start, end)` of `buf`. */
  reset(buf: Buffer, start = 0, end = buf.length): this {
    this.buf = buf;
    this.end = Math.min(end, buf.length);
    this.nextPos = start;
    this.position = start;
    this.size = 0;
    this.stop = null;
    return this;
  }

  /** Moves to the next whole batch; false at the end of the view or at bytes that are not one. */
  next(): boolean {
    const pos = this.nextPos;
    this.position = pos;
    const left = this.end - pos;
    if (left <= 0) return this.halt('end', 0);
    if (left < LOG_OVERHEAD) return this.halt('torn', 0);
    const size = this.buf.readInt32BE(pos + BATCH_LENGTH) + LOG_OVERHEAD;
    if (size < HEADER_SIZE) return this.halt('corrupt', size);
    if (size > left) return this.halt('torn', size);
    this.size = size;
    this.nextPos = pos + size;
    return true;
  }

  private halt(stop: BatchStop, size: number): false {
    this.stop = stop;
    this.size = size;
    return false;
  }

  /** Bytes of the view from `position` on. */
  get available(): number {
    return this.end - this.position;
  }
  get baseOffset(): number {
    return int64(this.buf, this.position + BASE_OFFSET);
  }
  get lastOffsetDelta(): number {
    return this.buf.readInt32BE(this.position + LAST_OFFSET_DELTA);
  }
  get lastOffset(): number {
    return this.baseOffset + this.lastOffsetDelta;
  }
  get magic(): number {
    return this.buf.readInt8(this.position + MAGIC);
  }
  get attributes(): number {
    return this.buf.readInt16BE(this.position + ATTRIBUTES);
  }
  get maxTimestamp(): number {
    return int64(this.buf, this.position + MAX_TIMESTAMP);
  }
  get producerId(): number {
    return int64(this.buf, this.position + PRODUCER_ID);
  }
  get producerEpoch(): number {
    return this.buf.readInt16BE(this.position + PRODUCER_EPOCH);
  }
  get baseSequence(): number {
    return this.buf.readInt32BE(this.position + BASE_SEQUENCE);
  }
  get recordsCount(): number {
    return this.buf.readInt32BE(this.position + RECORDS_COUNT);
  }
  /** Every fixed field (allocates; the caller guarantees HEADER_SIZE bytes are available). */
  header(): BatchHeader {
    return readBatchHeader(this.buf, this.position);
  }
  /** The current batch's bytes (a view). */
  bytes(): Buffer {
    return this.buf.subarray(this.position, this.position + this.size);
  }
}

const counter = new BatchCursor();

/** Sum of recordsCount over the whole batches in `buf` (a stored or fetched record set); no decoding. */
export function countRecords(buf: Buffer): number {
  let n = 0;
  counter.reset(buf);
  while (counter.next()) n += counter.recordsCount;
  counter.reset(EMPTY); // do not pin the caller's buffer
  return n;
}
