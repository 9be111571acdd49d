import { open } from 'node:fs/promises';
import { HEADER_SIZE, LOG_OVERHEAD } from '../protocol/records/batch-header.js';
import { BatchCursor } from '../protocol/records/batch-iterator.js';
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
    const c = new BatchCursor();
    let need = LOG_OVERHEAD;
    while (pos < end) {
      if (end - pos < HEADER_SIZE) throw new Error(`${path}: ${end - pos} trailing bytes at ${pos}`);
      await ensure(need);
      need = LOG_OVERHEAD;
      c.reset(buf, pos - bufStart, end - bufStart);
      while (c.next()) yield c.bytes();
      pos = bufStart + c.position;
      if (c.stop === 'end' || end - pos < HEADER_SIZE) continue;
      if (c.stop === 'corrupt' || pos + c.size > end) throw new Error(`${path}: bad batch length ${c.size} at ${pos}`);
      // Cut by the chunk: read it whole next.
      need = c.size > 0 ? c.size : LOG_OVERHEAD;
    }
  } finally {
    await fh.close();
  }
}
