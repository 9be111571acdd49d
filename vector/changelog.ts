import type { Key } from './rows.js';

/** One change to a table; JSON-serialisable, vectors as number arrays. `row` is set for upserts. */
export interface ChangeEntry {
  op: 'upsert' | 'delete';
  key: Key;
  row?: Record<string, unknown>;
}

export type ChangeHandler = (entry: ChangeEntry, offset: number) => void | Promise<void>;

/**
 * Durable ordered log of a table's changes (the broker implements it on a compacted topic, keyed by
 * row key). Offsets only grow; gaps are allowed (compaction).
 */
export interface Changelog {
  /** Appends durably, in order; resolves with the offset of the last entry. */
  append(entries: ChangeEntry[]): Promise<number>;
  /** Calls handler for every entry at offset >= fromOffset that exists now; resolves with the next offset to read. */
  read(fromOffset: number, handler: ChangeHandler): Promise<number>;
  close?(): Promise<void>;
  /** Removes the changelog's storage (drop table). */
  destroy?(): Promise<void>;
}

/** Volatile changelog for tests; entries are stored serialised so callers cannot alias them. */
export class MemoryChangelog implements Changelog {
  private readonly lines: string[] = [];

  get size(): number {
    return this.lines.length;
  }

  async append(entries: ChangeEntry[]): Promise<number> {
    for (const e of entries) this.lines.push(JSON.stringify(e));
    return this.lines.length - 1;
  }

  async read(fromOffset: number, handler: ChangeHandler): Promise<number> {
    const end = this.lines.length;
    for (let o = Math.max(0, fromOffset); o < end; o++) {
      await handler(JSON.parse(this.lines[o]!) as ChangeEntry, o);
    }
    return Math.max(end, fromOffset);
  }
}
