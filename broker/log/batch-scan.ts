import type { FileHandle } from 'node:fs/promises';
import { crc32c } from '@node-rs/crc32';
import { CRC_START, HEADER_SIZE, type BatchHeader } from '../protocol/records/batch-header.js';
import { BatchCursor } from '../protocol/records/batch-iterator.js';
import { readAt } from './file-io.js';

export type ScanStop = 'end' | 'torn' | 'corrupt' | 'stopped';

export interface ScanResult {
  /** Position after the last accepted batch (or of the batch the visitor stopped at). */
  end: number;
  stop: ScanStop;
  reason: string;
}

export interface ScanOptions {
  /** Check each batch's CRC32C (reads whole batches). */
  verifyCrc?: boolean;
  /** Hand whole batch bytes to the visitor (reads whole batches). */
  wantBytes?: boolean;
  /** Smallest acceptable base offset of the first batch; offsets must then increase. */
  nextOffset?: number;
  /** Offsets must follow each other without gaps (true of every segment the writer appends to). */
  contiguous?: boolean;
  /** Stop (as at the end) before the first batch reaching this offset: a sealed segment's successor base. */
  endOffset?: number;
  chunkBytes?: number;
}

/** Return false to stop before this batch; `bytes` is set only when whole batches are read. */
export type BatchVisitor = (h: BatchHeader, position: number, size: number, bytes: Buffer | null) => boolean | void;

const EMPTY: Buffer = Buffer.alloc(0);

/**
 * Walks the batches stored in [start, end) of a segment file with chunked positioned reads,
 * stopping at the first one that is torn (runs past `end`) or fails a sanity check.
 */
export async function scanBatches(
  fh: FileHandle,
  start: number,
  end: number,
  opts: ScanOptions,
  visit: BatchVisitor,
): Promise<ScanResult> {
  const whole = opts.verifyCrc === true || opts.wantBytes === true;
  const chunk = opts.chunkBytes ?? (whole ? 1 << 20 : 64 << 10);
  let buf: Buffer = EMPTY;
  let bufStart = 0;
  let pos = start;
  let expect = opts.nextOffset ?? 0;
  const c = new BatchCursor();
  const ensure = async (need: number): Promise<void> => {
    if (pos >= bufStart && pos + need <= bufStart + buf.length) return;
    buf = await readAt(fh, pos, Math.min(Math.max(need, chunk), end - pos));
    bufStart = pos;
  };
  let need = HEADER_SIZE;
  while (pos < end) {
    const avail = end - pos;
    if (avail < HEADER_SIZE) return { end: pos, stop: 'torn', reason: `${avail} trailing bytes at ${pos}` };
    await ensure(need);
    need = HEADER_SIZE;
    // The batches the chunk holds; the first one it cuts is read again (whole or its header).
    c.reset(buf, pos - bufStart, end - bufStart);
    for (;;) {
      const inChunk = c.next();
      pos = bufStart + c.position;
      if (!inChunk) {
        if (c.stop === 'end' || end - pos < HEADER_SIZE) break;
        if (c.stop === 'corrupt') return { end: pos, stop: 'corrupt', reason: `batch length ${c.size} at ${pos}` };
        if (c.size > end - pos) return { end: pos, stop: 'torn', reason: `batch of ${c.size} bytes at ${pos} past end ${end}` };
        if (c.available < HEADER_SIZE) break;
        if (whole) {
          need = c.size;
          break;
        }
        // Headers only: this batch runs past the chunk but not past `end`.
      }
      const size = c.size;
      const magic = c.magic;
      if (magic !== 2) return { end: pos, stop: 'corrupt', reason: `magic ${magic} at ${pos}` };
      const h = c.header();
      if (h.lastOffsetDelta < 0 || h.baseOffset < expect || (opts.contiguous === true && h.baseOffset !== expect)) {
        return { end: pos, stop: 'corrupt', reason: `offset ${h.baseOffset} (expected >= ${expect}) at ${pos}` };
      }
      if (opts.endOffset !== undefined && h.baseOffset + h.lastOffsetDelta >= opts.endOffset) return { end: pos, stop: 'end', reason: 'offset bound' };
      let bytes: Buffer | null = null;
      if (whole) {
        bytes = c.bytes();
        if (opts.verifyCrc === true && crc32c(bytes.subarray(CRC_START)) !== h.crc) {
          return { end: pos, stop: 'corrupt', reason: `CRC mismatch at ${pos}` };
        }
      }
      if (visit(h, pos, size, bytes) === false) return { end: pos, stop: 'stopped', reason: 'visitor' };
      expect = h.baseOffset + h.lastOffsetDelta + 1;
      if (!inChunk) {
        pos += size;
        break;
      }
    }
  }
  return { end: pos, stop: 'end', reason: '' };
}
