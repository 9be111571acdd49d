// Snappy as Kafka clients send it: the Java client wraps blocks in xerial's stream framing
// (magic, version, compat, then [int32 length + raw block]*); others send one raw block.
// We read both and write the xerial framing, which every client can read.

import snappy from 'snappy';
import { corrupt } from './errors.js';

const MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const HEADER_SIZE = 16; // magic + int32 version + int32 compatible version
const BLOCK_SIZE = 32 * 1024; // the Java client's default block size

export function isXerialFramed(data: Buffer): boolean {
  return data.length >= HEADER_SIZE && data.compare(MAGIC, 0, MAGIC.length, 0, MAGIC.length) === 0;
}

/** The uncompressed length a raw snappy block declares in its leading varint. */
export function rawUncompressedLength(block: Buffer): number {
  let value = 0;
  for (let i = 0, mul = 1; i < 5; i++, mul *= 128) {
    if (i >= block.length) throw corrupt('snappy block ends inside its length header');
    const b = block[i]!;
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return value;
  }
  throw corrupt('snappy block length header is too long');
}

/** Splits xerial-framed data into its raw blocks, enforcing the output limit up front. */
function xerialBlocks(data: Buffer, maxBytes: number): Buffer[] {
  const blocks: Buffer[] = [];
  let total = 0;
  let pos = HEADER_SIZE;
  while (pos < data.length) {
    if (data.length - pos < 4) throw corrupt('xerial snappy block header is truncated');
    const len = data.readInt32BE(pos);
    pos += 4;
    if (len < 0 || len > data.length - pos) throw corrupt(`xerial snappy block length ${len} is out of bounds`);
    const block = data.subarray(pos, pos + len);
    pos += len;
    total += rawUncompressedLength(block);
    if (total > maxBytes) throw corrupt(`snappy data decompresses to more than ${maxBytes} bytes`);
    blocks.push(block);
  }
  return blocks;
}

function checkRaw(data: Buffer, maxBytes: number): void {
  if (rawUncompressedLength(data) > maxBytes) throw corrupt(`snappy data decompresses to more than ${maxBytes} bytes`);
}

function asBuffer(out: string | Buffer): Buffer {
  return typeof out === 'string' ? Buffer.from(out) : out;
}

export function snappyDecompressSync(data: Buffer, maxBytes: number): Buffer {
  if (!isXerialFramed(data)) {
    checkRaw(data, maxBytes);
    return asBuffer(snappy.uncompressSync(data, { asBuffer: true }));
  }
  const parts = xerialBlocks(data, maxBytes).map((b) => asBuffer(snappy.uncompressSync(b, { asBuffer: true })));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

export async function snappyDecompress(data: Buffer, maxBytes: number): Promise<Buffer> {
  if (!isXerialFramed(data)) {
    checkRaw(data, maxBytes);
    return asBuffer(await snappy.uncompress(data, { asBuffer: true }));
  }
  const blocks = xerialBlocks(data, maxBytes);
  const parts = await Promise.all(blocks.map(async (b) => asBuffer(await snappy.uncompress(b, { asBuffer: true }))));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

function frame(blocks: Buffer[]): Buffer {
  let size = HEADER_SIZE;
  for (const b of blocks) size += 4 + b.length;
  const out = Buffer.allocUnsafe(size);
  MAGIC.copy(out, 0);
  out.writeInt32BE(1, 8);
  out.writeInt32BE(1, 12);
  let pos = HEADER_SIZE;
  for (const b of blocks) {
    out.writeInt32BE(b.length, pos);
    b.copy(out, pos + 4);
    pos += 4 + b.length;
  }
  return out;
}

function chunks(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < data.length; pos += BLOCK_SIZE) out.push(data.subarray(pos, pos + BLOCK_SIZE));
  return out;
}

export function snappyCompressSync(data: Buffer): Buffer {
  return frame(chunks(data).map((c) => snappy.compressSync(c)));
}

export async function snappyCompress(data: Buffer): Promise<Buffer> {
  return frame(await Promise.all(chunks(data).map((c) => snappy.compress(c))));
}
