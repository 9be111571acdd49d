import { open } from 'node:fs/promises';
import { BATCH_LENGTH, HEADER_SIZE, LOG_OVERHEAD } from '../protocol/records/batch-header.js';
import { readAt } from './file-io.js';
import { segmentPath } from './segment-files.js';

const DEFAULT_CHUNK = 256 * 1024;

/**
 * Whole batches of a sealed segment, read in chunks through a private file handle (sealed files
 * never change, and an open handle survives the file being retired). The consumer awaits
 * between batches, so it can pace itself and apply backpressure. Yields views into a chunk:
 * copy a batch to keep it.
 */
export async function* sealedSegmentBatches(
  dir: string,
  seg: { baseOffset: number; leaderEpoch: number; sizeBytes: number },
  chunkBytes = DEFAULT_CHUNK,
): AsyncGenerator<Buffer> {
  const path = segmentPath(dir, seg.baseOffset, seg.leaderEpoch, 'log');
  const fh = await open(path, 'r');
  try {
    const end = seg.sizeBytes;
    let buf: Buffer = Buffer.alloc(0);
    let bufStart = 0;
    let pos = 0;
    const ensure = async (need: number): Promise<void> => {
      if (pos + need <= bufStart + buf.length) return;
      buf = await readAt(fh, pos, Math.min(Math.max(need, chunkBytes), end - pos));
      bufStart = pos;
    };
    while (pos < end) {
      if (end - pos < HEADER_SIZE) throw new Error(`${path}: ${end - pos} trailing bytes at ${pos}`);
      await ensure(LOG_OVERHEAD);
      const size = buf.readInt32BE(pos - bufStart + BATCH_LENGTH) + LOG_OVERHEAD;
      if (size < HEADER_SIZE || pos + size > end) throw new Error(`${path}: bad batch length ${size} at ${pos}`);
      await ensure(size);
      yield buf.subarray(pos - bufStart, pos - bufStart + size);
      pos += size;
    }
  } finally {
    await fh.close();
  }
}
