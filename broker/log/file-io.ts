import type { FileHandle } from 'node:fs/promises';

/** Positioned read of exactly buf.length bytes; a short file is an error. */
export async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at ${position + done}`);
    done += bytesRead;
  }
}

/** `alloc` supplies the buffer (e.g. from a pool); default a fresh one. */
export async function readAt(fh: FileHandle, position: number, length: number, alloc?: (n: number) => Buffer): Promise<Buffer> {
  const buf = alloc !== undefined ? alloc(length) : Buffer.allocUnsafe(length);
  await readFully(fh, buf, position);
  return buf;
}

/** Positioned gather write; writev may write partially (IOV_MAX, signals), so loop. */
export async function writeFully(fh: FileHandle, bufs: Buffer[], position: number): Promise<void> {
  let rest = bufs;
  let pos = position;
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest, pos);
    pos += bytesWritten;
    let skip = bytesWritten;
    const next: Buffer[] = [];
    for (const b of rest) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      next.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    rest = next;
  }
}

/** int64 big-endian as a JS number without a BigInt allocation (offsets and ms fit in 2^53). */
export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * 0x1_0000_0000 + buf.readUInt32BE(pos + 4);
}

export function writeInt64(buf: Buffer, pos: number, value: number): void {
  const hi = Math.floor(value / 0x1_0000_0000);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(value - hi * 0x1_0000_0000, pos + 4);
}
