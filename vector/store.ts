import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AnnPool } from './ann-pool.js';
import type { Changelog } from './changelog.js';
import type { EmbedderFactory } from './embedder.js';
import { createEmbedder } from './embedder.js';
import { TableError } from './errors.js';
import { FileChangelog } from './file-changelog.js';
import { validateSchema, validateTableName, type ColumnDef, type TableSchema } from './schema.js';
import { Table, readSchemaFile, writeSchemaFile, type TableLogger, type TableOptions, type TableStats } from './table.js';

/** Creates the changelog of a table; the broker passes one backed by a compacted topic. */
export type ChangelogFactory = (table: string, tableDir: string) => Promise<Changelog>;

export type TableTuning = Omit<TableOptions, 'dir' | 'changelog' | 'pool' | 'embedders' | 'logger' | 'writesSnapshots'>;

export interface TableStoreOptions {
  /** Data root; tables live in <dataDir>/tables/<name>/. */
  dataDir: string;
  /** Default: JSON-lines file <tableDir>/changelog.jsonl. */
  changelogFactory?: ChangelogFactory;
  /** ANN worker threads shared by all tables (default min(4, cpus)). */
  workers?: number;
  embedders?: Record<string, EmbedderFactory>;
  tuning?: TableTuning;
  logger?: TableLogger;
  /** Whether this process may write a table's snapshots (cluster: only its changelog's leader). */
  writesSnapshots?: (table: string) => boolean;
}

export interface TableDescription {
  schema: TableSchema;
  stats: TableStats;
}

const fileChangelog: ChangelogFactory = (_table, dir) => FileChangelog.open(join(dir, 'changelog.jsonl'));

/** All tables under one data directory, opened lazily and sharing one pool of ANN workers. */
export class TableStore {
  private readonly pool: AnnPool;
  private readonly open = new Map<string, Promise<Table>>();
  /** Schema file identity (mtime and size) per open table, as last checked. */
  private readonly schemaStamps = new Map<string, string>();
  private closed = false;

  constructor(private readonly opts: TableStoreOptions) {
    this.pool = new AnnPool(opts.workers);
  }

  get tablesDir(): string {
    return join(this.opts.dataDir, 'tables');
  }

  private dirOf(name: string): string {
    return join(this.tablesDir, validateTableName(name));
  }

  async create(rawSchema: unknown): Promise<Table> {
    this.ensureOpen();
    const schema = validateSchema(rawSchema);
    // Fail now, not on first write, when the embedder model is unknown or has the wrong dim.
    if (schema.embedder) {
      const dim = schema.vectors.find((v) => v.name === schema.embedder!.column)!.dim;
      createEmbedder(schema.embedder.model, dim, this.opts.embedders);
    }
    const dir = this.dirOf(schema.name);
    if (this.open.has(schema.name) || (await exists(join(dir, 'schema.json')))) {
      throw new TableError('TABLE_EXISTS', `table ${schema.name} already exists`);
    }
    await mkdir(dir, { recursive: true });
    await writeSchemaFile(dir, schema);
    return this.get(schema.name);
  }

  /** Opens (once) and returns a table; TABLE_NOT_FOUND if it does not exist. */
  get(name: string): Promise<Table> {
    this.ensureOpen();
    let p = this.open.get(name);
    if (!p) {
      p = this.openTable(name);
      this.open.set(name, p);
      p.catch(() => this.open.delete(name));
    }
    return p;
  }

  private async openTable(name: string): Promise<Table> {
    const dir = this.dirOf(name);
    await readSchemaFile(dir);
    const factory = this.opts.changelogFactory ?? fileChangelog;
    const opts: TableOptions = { ...this.opts.tuning, dir, changelog: await factory(name, dir), pool: this.pool };
    if (this.opts.embedders) opts.embedders = this.opts.embedders;
    if (this.opts.logger) opts.logger = this.opts.logger;
    const may = this.opts.writesSnapshots;
    if (may) opts.writesSnapshots = () => may(name);
    this.schemaStamps.set(name, await schemaStamp(dir));
    return Table.open(opts);
  }

  /** Names of the tables open (or opening) in this process. */
  openNames(): string[] {
    return [...this.open.keys()];
  }

  /**
   * Brings this process in line with the definitions on the (shared) data dir: opens tables
   * created elsewhere, closes those dropped elsewhere. Returns what changed.
   */
  async discover(): Promise<{ opened: string[]; closed: string[] }> {
    this.ensureOpen();
    const present = new Set(await this.list());
    const opened: string[] = [];
    const closed: string[] = [];
    for (const name of present) {
      if (this.open.has(name)) continue;
      await this.get(name);
      opened.push(name);
    }
    for (const [name, p] of [...this.open]) {
      if (present.has(name)) continue;
      // Re-check: list() may have raced a create in this process.
      if (await exists(join(this.dirOf(name), 'schema.json'))) continue;
      this.open.delete(name);
      this.schemaStamps.delete(name);
      closed.push(name);
      await p.then((t) => t.close()).catch(() => undefined);
    }
    return { opened, closed };
  }

  /**
   * Picks up a definition changed by another process (an added column). Cheap when nothing
   * changed (one stat); reopens the table when the change cannot be adopted in place.
   */
  async refreshSchema(name: string): Promise<void> {
    const p = this.open.get(name);
    if (!p) return;
    const dir = this.dirOf(name);
    const stamp = await schemaStamp(dir);
    if (stamp === '' || stamp === this.schemaStamps.get(name)) return;
    const table = await p;
    const schema = await readSchemaFile(dir);
    this.schemaStamps.set(name, stamp);
    if (table.adoptSchema(schema)) return;
    if (this.open.get(name) !== p) return;
    this.open.delete(name);
    await table.close();
    await this.get(name);
  }

  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.tablesDir);
    } catch {
      return [];
    }
    const out: string[] = [];
    for (const n of names.sort()) if (await exists(join(this.tablesDir, n, 'schema.json'))) out.push(n);
    return out;
  }

  async describe(name: string): Promise<TableDescription> {
    const t = await this.get(name);
    return { schema: t.describe(), stats: t.stats() };
  }

  async addColumn(name: string, column: ColumnDef): Promise<TableSchema> {
    return (await this.get(name)).addColumn(column);
  }

  /** Closes the table and removes its files (and its changelog, if the changelog can be destroyed). */
  async drop(name: string): Promise<void> {
    this.ensureOpen();
    const dir = this.dirOf(name);
    if (!(await exists(join(dir, 'schema.json')))) throw new TableError('TABLE_NOT_FOUND', `table ${name} does not exist`);
    const t = await this.get(name);
    this.open.delete(name);
    this.schemaStamps.delete(name);
    await t.close();
    const factory = this.opts.changelogFactory ?? fileChangelog;
    const cl = await factory(name, dir);
    await cl.destroy?.();
    await rm(dir, { recursive: true, force: true });
  }

  async close(opts: { checkpoint?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const tables = await Promise.allSettled([...this.open.values()]);
    for (const r of tables) if (r.status === 'fulfilled') await r.value.close(opts);
    this.open.clear();
    await this.pool.close();
  }

  private ensureOpen(): void {
    if (this.closed) throw new TableError('TABLE_CLOSED', 'table store is closed');
  }
}

/** mtime and size of the schema file; '' when it is missing. */
async function schemaStamp(dir: string): Promise<string> {
  try {
    const st = await stat(join(dir, 'schema.json'));
    return `${st.mtimeMs}:${st.size}`;
  } catch {
    return '';
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
