// OffsetStore in the data dir: an append-only journal of commits, fsync'd with group commit
// before any commit is acknowledged, replayed on start and folded into a snapshot as it grows.
//
// Files in `dir`: offsets.snapshot (JSON, replaced atomically, names the first journal to
// replay) and offsets-<n>.journal. Replaying a journal over a snapshot that already holds
// its effects is harmless: every record sets or removes keys, so a repeat is idempotent.
import { mkdir, open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { fsyncDir, unlinkIfExists, writeFileAtomic } from '../log/atomic-file.js';
import { decodeRecords, encodeRecord, fromWire, toWire, type JournalRecord } from './offset-journal-codec.js';
import type { GroupOffsets, OffsetStore, OffsetWrite, TopicPartition } from './offset-store.js';
import { OffsetTable } from './offset-table.js';

const SNAPSHOT = 'offsets.snapshot';
const JOURNAL_RE = /^offsets-(\d{20})\.journal$/;
const DEFAULT_COMPACT_BYTES = 16 * 1024 * 1024;

export interface LocalOffsetStoreOptions {
  /** Snapshot and start a new journal once the journal passes this size (default 16 MiB). */
  compactBytes?: number;
  log?: Logger;
}

interface Journal {
  n: number;
  fh: FileHandle;
  size: number;
}

interface Pending {
  buf: Buffer;
  resolve(): void;
  reject(err: Error): void;
}

function journalName(n: number): string {
  return `offsets-${String(n).padStart(20, '0')}.journal`;
}

export class OffsetStoreError extends Error {
  override readonly name = 'OffsetStoreError';
}

export class LocalOffsetStore implements OffsetStore {
  private readonly table = new OffsetTable();
  private journal: Journal | null = null;
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  /** Set when the journal may hold a partial record we could not cut off: refuse more commits. */
  private broken: Error | null = null;
  private lastSnapshotBytes = 0;
  private syncs = 0;
  private compactions = 0;
  private readonly compactBytes: number;

  constructor(
    readonly dir: string,
    private readonly opts: LocalOffsetStoreOptions = {},
  ) {
    this.compactBytes = opts.compactBytes ?? DEFAULT_COMPACT_BYTES;
  }

  /** fdatasync calls so far (group commit makes this far lower than the commit count). */
  get fsyncCount(): number {
    return this.syncs;
  }

  get compactionCount(): number {
    return this.compactions;
  }

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await unlinkIfExists(join(this.dir, `${SNAPSHOT}.tmp`));
    this.table.clear();
    let start = 0;
    const snapPath = join(this.dir, SNAPSHOT);
    let snapText: string | null = null;
    try {
      snapText = await readFile(snapPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (snapText !== null) {
      start = this.loadSnapshot(snapText);
      this.lastSnapshotBytes = Buffer.byteLength(snapText);
    }
    const journals = (await readdir(this.dir))
      .map((f) => JOURNAL_RE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    let current = start;
    let currentSize = 0;
    let truncateTo: number | null = null;
    for (let i = 0; i < journals.length; i++) {
      const n = journals[i]!;
      const path = join(this.dir, journalName(n));
      if (n < start) {
        // Folded into the snapshot by a compaction that crashed before removing it.
        await unlinkIfExists(path);
        continue;
      }
      const buf = await readFile(path);
      const { records, validBytes } = decodeRecords(buf);
      for (const r of records) this.apply(r);
      const last = i === journals.length - 1;
      if (validBytes < buf.length) {
        this.opts.log?.[last ? 'warn' : 'error']({ journal: path, validBytes, fileBytes: buf.length }, last ? 'dropping torn tail of offset journal' : 'offset journal is corrupt mid-way; later records ignored');
      }
      current = n;
      currentSize = validBytes;
      truncateTo = validBytes < buf.length ? validBytes : null;
    }
    const fh = await open(join(this.dir, journalName(current)), 'a');
    if (truncateTo !== null) {
      await fh.truncate(truncateTo);
      await fh.datasync();
    }
    await fsyncDir(this.dir);
    this.journal = { n: current, fh, size: currentSize };
    this.broken = null;
  }

  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    const j = this.journal;
    this.journal = null;
    if (j) await j.fh.close();
  }

  groupIds(): string[] {
    return this.table.groupIds();
  }

  offsets(groupId: string): GroupOffsets | undefined {
    return this.table.get(groupId);
  }

  commit(groupId: string, writes: OffsetWrite[]): Promise<void> {
    if (writes.length === 0) return Promise.resolve();
    return this.append({ kind: 'commit', groupId, writes });
  }

  delete(groupId: string, partitions: TopicPartition[] | null): Promise<void> {
    if (partitions !== null && partitions.length === 0) return Promise.resolve();
    return this.append({ kind: 'delete', groupId, partitions });
  }

  private append(rec: JournalRecord): Promise<void> {
    if (!this.journal) return Promise.reject(new OffsetStoreError('offset store is not open'));
    if (this.broken) return Promise.reject(this.broken);
    const buf = encodeRecord(rec);
    // Visible at once so that reads and later records are ordered after this one.
    this.apply(rec);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ buf, resolve, reject });
      this.flushing ??= this.flushLoop();
    });
  }

  private apply(rec: JournalRecord): void {
    if (rec.kind === 'commit') this.table.applyCommit(rec.groupId, rec.writes);
    else this.table.applyDelete(rec.groupId, rec.partitions);
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0);
        const j = this.journal;
        if (!j || this.broken) {
          const err = this.broken ?? new OffsetStoreError('offset store closed');
          for (const p of batch) p.reject(err);
          continue;
        }
        const data = batch.length === 1 ? batch[0]!.buf : Buffer.concat(batch.map((p) => p.buf));
        try {
          await writeAll(j.fh, data);
          await j.fh.datasync();
          this.syncs++;
          j.size += data.length;
        } catch (err) {
          await this.cutOff(j, err as Error);
          for (const p of batch) p.reject(err as Error);
          continue;
        }
        for (const p of batch) p.resolve();
        if (j.size >= Math.max(this.compactBytes, 2 * this.lastSnapshotBytes)) {
          try {
            await this.compact();
          } catch (err) {
            this.opts.log?.error({ err, dir: this.dir }, 'offset snapshot failed; journal keeps growing');
          }
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  /** A partly written record would hide every later one at replay: remove it or stop. */
  private async cutOff(j: Journal, cause: Error): Promise<void> {
    try {
      await j.fh.truncate(j.size);
    } catch {
      this.broken = new OffsetStoreError(`offset journal unusable after write error: ${cause.message}`);
      this.opts.log?.error({ err: cause, dir: this.dir }, 'offset journal write failed and could not be truncated; refusing commits');
    }
  }

  private async compact(): Promise<void> {
    const old = this.journal!;
    const n = old.n + 1;
    const fh = await open(join(this.dir, journalName(n)), 'a');
    await fsyncDir(this.dir);
    this.journal = { n, fh, size: 0 };
    // Taken after the switch: holds every record written to the old journal (and possibly
    // some queued for the new one, which replay re-applies harmlessly).
    const snap = this.serialize(n);
    await writeFileAtomic(join(this.dir, SNAPSHOT), snap);
    this.lastSnapshotBytes = snap.length;
    this.compactions++;
    await old.fh.close();
    await unlink(join(this.dir, journalName(old.n)));
  }

  private serialize(journal: number): Buffer {
    const groups: Record<string, unknown[]> = {};
    for (const [groupId, writes] of this.table.entries()) groups[groupId] = writes.map(toWire);
    return Buffer.from(JSON.stringify({ format: 1, journal, groups }), 'utf8');
  }

  private loadSnapshot(text: string): number {
    const snap = JSON.parse(text) as { format?: unknown; journal?: unknown; groups?: unknown };
    if (snap.format !== 1 || typeof snap.journal !== 'number' || typeof snap.groups !== 'object' || snap.groups === null) {
      throw new OffsetStoreError(`unreadable offset snapshot in ${this.dir}`);
    }
    for (const [groupId, entries] of Object.entries(snap.groups as Record<string, unknown>)) {
      if (!Array.isArray(entries)) throw new OffsetStoreError(`unreadable offset snapshot in ${this.dir}`);
      this.table.applyCommit(groupId, entries.map(fromWire));
    }
    return snap.journal;
  }
}

async function writeAll(fh: FileHandle, data: Buffer): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off, null);
    off += bytesWritten;
  }
}
