// Where deployments are recorded. Kept behind a small interface: the local file version lives in
// the data dir (single node); a cluster keeps them in PostgreSQL (pg-registry.ts).
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../broker/log/atomic-file.js';
import type { FunctionRecord } from './spec.js';

export interface FunctionRegistry {
  open(): Promise<void>;
  list(): FunctionRecord[];
  get(name: string): FunctionRecord | undefined;
  /** Replaces (or creates) one record durably. */
  put(record: FunctionRecord): Promise<void>;
  remove(name: string): Promise<void>;
  /** Picks up changes made elsewhere (other brokers); true when something may have changed. */
  refresh(): Promise<boolean>;
  close(): Promise<void>;
}

/** <data>/functions/registry.json, rewritten atomically on every change. */
export class FileFunctionRegistry implements FunctionRegistry {
  private records = new Map<string, FunctionRecord>();
  private writing: Promise<void> = Promise.resolve();
  private lastText: string | null = null;

  constructor(private readonly dir: string) {}

  private get file(): string {
    return join(this.dir, 'registry.json');
  }

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await this.refresh();
  }

  async refresh(): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    if (text === this.lastText) return false;
    const parsed = JSON.parse(text) as { functions: FunctionRecord[] };
    this.records = new Map(parsed.functions.map((f) => [f.name, f]));
    this.lastText = text;
    return true;
  }

  close(): Promise<void> {
    return this.writing;
  }

  list(): FunctionRecord[] {
    return [...this.records.values()].sort((a, b) => a.name.localeCompare(b.name)).map((r) => structuredClone(r));
  }

  get(name: string): FunctionRecord | undefined {
    const r = this.records.get(name);
    return r ? structuredClone(r) : undefined;
  }

  put(record: FunctionRecord): Promise<void> {
    this.records.set(record.name, structuredClone(record));
    return this.persist();
  }

  remove(name: string): Promise<void> {
    this.records.delete(name);
    return this.persist();
  }

  // Writes are chained so a slow write never lands after a newer one.
  private persist(): Promise<void> {
    const snapshot = JSON.stringify({ functions: [...this.records.values()] }, null, 1);
    this.lastText = snapshot;
    const next = this.writing.then(() => writeFileAtomic(this.file, snapshot));
    this.writing = next.catch(() => undefined);
    return next;
  }
}
