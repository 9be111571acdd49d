import { open, type FileHandle, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { ChangeEntry, ChangeHandler, Changelog } from './changelog.js';

const NEWLINE = 0x0a;
const READ_CHUNK = 4 << 20;

/**
 * Append-only JSON-lines changelog; the offset of an entry is its line number. Every append is
 * fdatasync'd before it resolves. A torn last line (crash mid-write) is cut off on open.
 */
export class FileChangelog implements Changelog {
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly path: string,
    private fh: FileHandle | undefined,
    private readonly starts: number[],
    private size: number,
  ) {}

  static async open(path: string): Promise<FileChangelog> {
    await mkdir(dirname(path), { recursive: true });
    const fh = await open(path, 'a+');
    try {
      const starts: number[] = [];
      const { size } = await fh.stat();
      let pos = 0;
      let lineStart = 0;
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      while (pos < size) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(READ_CHUNK, size - pos), pos);
        if (bytesRead === 0) break;
        for (let i = 0; i < bytesRead; i++) {
          if (buf[i] === NEWLINE) {
            starts.push(lineStart);
            lineStart = pos + i + 1;
          }
        }
        pos += bytesRead;
      }
      if (lineStart < size) {
        // Bytes after the last newline were never acknowledged: drop them.
        await fh.truncate(lineStart);
        await fh.datasync();
      }
      return new FileChangelog(path, fh, starts, lineStart);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Number of entries (the next offset). */
  get length(): number {
    return this.starts.length;
  }

  append(entries: ChangeEntry[]): Promise<number> {
    const run = this.chain.then(() => this.doAppend(entries));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async doAppend(entries: ChangeEntry[]): Promise<number> {
    const fh = this.handle();
    if (entries.length === 0) return this.starts.length - 1;
    const lines = entries.map((e) => JSON.stringify(e) + '\n');
    const buf = Buffer.from(lines.join(''), 'utf8');
    let written = 0;
    while (written < buf.length) {
      const { bytesWritten } = await fh.write(buf, written, buf.length - written, this.size + written);
      written += bytesWritten;
    }
    await fh.datasync();
    let pos = this.size;
    for (const l of lines) {
      this.starts.push(pos);
      pos += Buffer.byteLength(l, 'utf8');
    }
    this.size = pos;
    return this.starts.length - 1;
  }

  async read(fromOffset: number, handler: ChangeHandler): Promise<number> {
    const fh = this.handle();
    const end = this.starts.length;
    const endByte = this.size;
    let offset = Math.max(0, fromOffset);
    if (offset >= end) return Math.max(end, fromOffset);
    let pos = this.starts[offset]!;
    let carry = '';
    // A chunk may end inside a multi-byte character.
    const decoder = new StringDecoder('utf8');
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    while (pos < endByte && offset < end) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(READ_CHUNK, endByte - pos), pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      const text = carry + decoder.write(buf.subarray(0, bytesRead));
      const parts = text.split('\n');
      carry = parts.pop() ?? '';
      for (const line of parts) {
        if (offset >= end) break;
        await handler(JSON.parse(line) as ChangeEntry, offset);
        offset++;
      }
    }
    return end;
  }

  async close(): Promise<void> {
    await this.chain;
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }

  async destroy(): Promise<void> {
    await this.close();
    await rm(this.path, { force: true });
  }

  private handle(): FileHandle {
    if (!this.fh) throw new Error(`changelog ${this.path} is closed`);
    return this.fh;
  }
}
