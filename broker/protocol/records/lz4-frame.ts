// Walks LZ4 frame headers (lz4 frame format spec) without decompressing, to bound the output
// size before handing data to the native decoder, which has no output limit of its own.

import { corrupt } from './errors.js';

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MIN = 0x184d2a50;
const SKIPPABLE_MAX = 0x184d2a5f;

function need(data: Buffer, pos: number, n: number): void {
  if (pos + n > data.length) throw corrupt('lz4 frame is truncated');
}

/** Upper bound of the decompressed size of all frames in `data`; throws on a malformed layout. */
export function lz4FrameBound(data: Buffer): number {
  let pos = 0;
  let bound = 0;
  if (data.length === 0) throw corrupt('lz4 data is empty');
  while (pos < data.length) {
    need(data, pos, 4);
    const magic = data.readUInt32LE(pos);
    if (magic >= SKIPPABLE_MIN && magic <= SKIPPABLE_MAX) {
      need(data, pos, 8);
      pos += 8 + data.readUInt32LE(pos + 4);
      need(data, pos, 0);
      continue;
    }
    if (magic !== FRAME_MAGIC) throw corrupt('lz4 frame magic is wrong');
    need(data, pos, 7);
    const flg = data[pos + 4]!;
    const bd = data[pos + 5]!;
    if (flg >> 6 !== 1) throw corrupt('lz4 frame version is not 1');
    const blockMaxId = (bd >> 4) & 7;
    if (blockMaxId < 4) throw corrupt('lz4 frame block size id is invalid');
    const blockMax = 1 << (2 * blockMaxId + 8);
    const blockChecksum = (flg & 0x10) !== 0;
    pos += 7 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0);
    for (;;) {
      need(data, pos, 4);
      const word = data.readUInt32LE(pos);
      pos += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      if (size > blockMax) throw corrupt('lz4 block is larger than the frame block size');
      pos += size + (blockChecksum ? 4 : 0);
      need(data, pos, 0);
      // LZ4 cannot expand more than ~255x, so small blocks get a tighter bound.
      bound += word & 0x80000000 ? size : Math.min(blockMax, size * 256 + 64);
    }
    if (flg & 0x04) {
      need(data, pos, 4);
      pos += 4;
    }
  }
  return bound;
}
