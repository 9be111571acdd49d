import { crc32c } from '@node-rs/crc32';
import { CRC, CRC_START } from './batch-header.js';

/** CRC32C of the batch at `pos` of `size` bytes, over the range the header's crc covers. */
export function computeBatchCrc(buf: Buffer, pos: number, size: number): number {
  return crc32c(buf.subarray(pos + CRC_START, pos + size)) >>> 0;
}

export function batchCrcMatches(buf: Buffer, pos: number, size: number): boolean {
  return computeBatchCrc(buf, pos, size) === buf.readUInt32BE(pos + CRC);
}

/** Recomputes and stores the crc after a field inside the covered range was changed. */
export function writeBatchCrc(buf: Buffer, pos: number, size: number): void {
  buf.writeUInt32BE(computeBatchCrc(buf, pos, size), pos + CRC);
}
