import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../broker/log/atomic-file.js';
import type { AnnIndex, AnnPool } from './ann-pool.js';
import type { ChangeEntry, Changelog } from './changelog.js';
import { normalized, scoreFor, slotDistanceFor } from './distance.js';
import { createEmbedder, type Embedder, type EmbedderFactory } from './embedder.js';
import { TableError } from './errors.js';
import { compileFilter, type Filter, type RowPredicate } from './filter.js';
import { compareKeys, normalizeKey, rowToJson, validateRow, type Key, type StoredRow } from './rows.js';
import {
  DEFAULT_EF_CONSTRUCTION,
  DEFAULT_M,
  addColumnToSchema,
  validateSchema,
  type ColumnDef,
  type TableSchema,
  type VectorDef,
} from './schema.js';
import {
  commitSnapshot,
  createSnapshotTemp,
  indexFile,
  listSnapshots,
  pruneSnapshots,
  readSnapshotMeta,
  readSnapshotRows,
  type SnapshotMeta,
} from './snapshot.js';
import { TopK } from './top-k.js';
import { VectorSlab } from './vector-slab.js';

export interface TableLogger {
  warn(obj: object, msg: string): void;
}

export interface TableOptions {
  /** Directory holding schema.json and snapshots/. */
  dir: string;
  changelog: Changelog;
  pool: AnnPool;
  embedders?: Record<string, EmbedderFactory>;
  /** Build the index in the background once the tail reaches the threshold (default true). */
  autoIndex?: boolean;
  /** Minimum tail size that triggers a background index build (default 2048). */
  indexThreshold?: number;
  /**
   * A background build also writes a snapshot only when at least max(snapshotMinEntries,
   * snapshotMinFraction x rows) changelog entries arrived since the last one (defaults 50,000 and
   * 0.5), or snapshotIntervalMs passed. The default interval is 0, so every build writes one:
   * then a restart after kill -9 rebuilds exactly the pre-crash index, and answers match.
   * checkpoint() always writes one.
   */
  snapshotMinEntries?: number;
  snapshotMinFraction?: number;
  snapshotIntervalMs?: number;
  /** Search ef when the query gives none (default 500, see docs: tuned for recall on hard data). */
  defaultEf?: number;
  /** A filtered search scans exactly when at most this many rows match (default 4096)... */
  exactFilterRows?: number;
  /** ...or when the matching fraction is below this (default 0.02). */
  exactFilterFraction?: number;
  /** How long a strong read waits for its offset (default 10 s). */
  strongTimeoutMs?: number;
  /**
   * Whether this replica may write (and prune) snapshots in `dir`; in a cluster only the
   * changelog's leader does, the others build their index in memory only (default: always).
   */
  writesSnapshots?: () => boolean;
  logger?: TableLogger;
}

export interface SearchRequest {
  vector?: ArrayLike<number>;
  text?: string;
  column?: string;
  k?: number;
  filter?: Filter;
  ef?: number;
  consistency?: 'eventual' | 'strong';
  /** With strong consistency: wait until this changelog offset is applied (default: the changelog end). */
  afterOffset?: number;
  includeVectors?: boolean;
}

export interface SearchHit {
  key: Key;
  /** hnswlib convention: l2 = squared distance, ip = 1 - dot, cosine = 1 - cosine similarity. */
  distance: number;
  /** Higher is better: cosine similarity, dot product, or -distance for l2. */
  score: number;
  row: Record<string, unknown>;
}

export interface WriteResult {
  /** Changelog offset of the last entry written; pass as afterOffset for read-your-writes elsewhere. */
  offset: number;
  count: number;
}

export interface ScanRequest {
  filter?: Filter;
  limit?: number;
  pageToken?: string;
  includeVectors?: boolean;
}

export interface ScanPage {
  rows: Record<string, unknown>[];
  nextPageToken?: string;
}

export interface TableStats {
  name: string;
  rows: number;
  /** Rows searched by exact scan (written since the last index build). */
  tailRows: number;
  /** Deleted or replaced elements still occupying the ANN index. */
  deadInIndex: number;
  nextOffset: number;
  snapshotOffset: number | undefined;
  building: boolean;
  /** Changelog entries that did not fit the schema and were skipped. */
  invalidEntries: number;
  /** Snapshots this replica wrote since it opened the table. */
  snapshotsWritten: number;
}

interface Entry {
  label: number;
  key: Key;
  values: Record<string, unknown>;
  /** Where this row's vectors live in the table's VectorSlab. */
  slot: number;
}

interface VectorIndex {
  def: VectorDef;
  ann: AnnIndex;
}

const INITIAL_CAPACITY = 1024;

function byEntryKey(a: Entry, b: Entry): number {
  return compareKeys(a.key, b.key);
}
const ADD_CHUNK = 512;
const MAX_K = 10_000;

function schemaPath(dir: string): string {
  return join(dir, 'schema.json');
}

export async function readSchemaFile(dir: string): Promise<TableSchema> {
  let text: string;
  try {
    text = await readFile(schemaPath(dir), 'utf8');
  } catch {
    throw new TableError('TABLE_NOT_FOUND', `no table schema in ${dir}`);
  }
  return validateSchema(JSON.parse(text));
}

export async function writeSchemaFile(dir: string, schema: TableSchema): Promise<void> {
  // Callers may hand a table directory that does not exist yet; the broker helper creates none.
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(schemaPath(dir), JSON.stringify(schema, null, 2));
}

/**
 * One table: rows in memory, one hnswlib index per vector column in a worker thread, rows written
 * since the last index build searched exactly. All changes go through the changelog first.
 */
export class Table {
  private schema: TableSchema;
  private readonly rows = new Map<Key, Entry>();
  private readonly labels = new Map<number, Entry>();
  /** Live rows not yet searchable through the index (label >= publishedLimit). */
  private readonly tail = new Map<number, Entry>();
  private readonly indexes = new Map<string, VectorIndex>();
  /** All rows' vectors; vector columns never change while a table is open. */
  private readonly slab: VectorSlab;
  private nextLabel = 0;
  /** Labels below this have been posted to the workers. */
  private sentLimit = 0;
  /** Labels below this are answered by the index. */
  private publishedLimit = 0;
  private deadInIndex = 0;
  private pendingKills: number[] = [];
  private nextOffset = 0;
  private snapshotOffset: number | undefined;
  private lastSnapshotAt = Date.now();
  private snapshotsWritten = 0;
  private invalidEntries = 0;
  private sortedKeys: Key[] | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  private building: Promise<void> | undefined;
  private lastBuildError: Error | undefined;
  private embedder: Embedder | undefined;
  private closed = false;
  private readonly opts: Required<Omit<TableOptions, 'embedders' | 'logger'>> & Pick<TableOptions, 'embedders' | 'logger'>;
  /** The schema file's text as last read or written here (tells a definition changed elsewhere). */
  private schemaText: string;

  private constructor(schema: TableSchema, opts: TableOptions) {
    this.schema = schema;
    this.opts = {
      autoIndex: true,
      indexThreshold: 2048,
      snapshotMinEntries: 50_000,
      snapshotMinFraction: 0.5,
      snapshotIntervalMs: 0,
      defaultEf: 500,
      exactFilterRows: 4096,
      exactFilterFraction: 0.02,
      strongTimeoutMs: 10_000,
      writesSnapshots: () => true,
      ...opts,
    };
    this.schemaText = JSON.stringify(schema);
    this.slab = new VectorSlab(schema.vectors);
  }

  /** Opens the table in opts.dir: latest snapshot, then the changelog after it. */
  static async open(opts: TableOptions): Promise<Table> {
    const schema = await readSchemaFile(opts.dir);
    const t = new Table(schema, opts);
    await t.restore();
    return t;
  }

  /** Writes the schema into opts.dir (which must not hold a table yet) and opens the table. */
  static async create(schema: unknown, opts: TableOptions): Promise<Table> {
    const valid = validateSchema(schema);
    const exists = await readFile(schemaPath(opts.dir)).then(() => true, () => false);
    if (exists) throw new TableError('TABLE_EXISTS', `a table already exists in ${opts.dir}`);
    await writeSchemaFile(opts.dir, valid);
    return Table.open(opts);
  }

  get name(): string {
    return this.schema.name;
  }

  describe(): TableSchema {
    return structuredClone(this.schema);
  }

  stats(): TableStats {
    return {
      name: this.schema.name,
      rows: this.rows.size,
      tailRows: this.tail.size,
      deadInIndex: this.deadInIndex,
      nextOffset: this.nextOffset,
      snapshotOffset: this.snapshotOffset,
      building: this.building !== undefined,
      invalidEntries: this.invalidEntries,
      snapshotsWritten: this.snapshotsWritten,
    };
  }

  /** Adopts a definition another broker wrote (a column added there); false if it needs a reopen. */
  adoptSchema(next: TableSchema): boolean {
    const text = JSON.stringify(next);
    if (text === this.schemaText) return true;
    // Only added scalar columns can be taken over in place; anything else reopens the table.
    const sameVectors = JSON.stringify(next.vectors) === JSON.stringify(this.schema.vectors) && next.primaryKey === this.schema.primaryKey;
    if (!sameVectors) return false;
    this.schema = next;
    this.schemaText = text;
    return true;
  }

  /** Last error of a background index build, if the latest one failed. */
  get buildError(): Error | undefined {
    return this.lastBuildError;
  }

  // ---------------------------------------------------------------- open / restore

  private async restore(): Promise<void> {
    for (const dir of await listSnapshots(this.opts.dir)) {
      try {
        await this.loadSnapshot(dir);
        break;
      } catch (err) {
        this.opts.logger?.warn({ err, dir }, 'table snapshot unusable, trying an older one');
        await this.resetState();
      }
    }
    if (this.snapshotOffset === undefined) {
      for (const def of this.schema.vectors) {
        const ann = this.opts.pool.place(`${this.schema.name}.${def.name}`);
        await ann.init(def.metric, def.dim, def.m ?? DEFAULT_M, def.efConstruction ?? DEFAULT_EF_CONSTRUCTION, INITIAL_CAPACITY);
        this.indexes.set(def.name, { def, ann });
      }
    }
    if (this.opts.writesSnapshots()) await pruneSnapshots(this.opts.dir, (await listSnapshots(this.opts.dir))[0]);
    await this.exclusive(() => this.catchUpLocked());
    this.maybeBuild();
  }

  private async resetState(): Promise<void> {
    await Promise.all([...this.indexes.values()].map((i) => i.ann.drop().catch(() => undefined)));
    this.indexes.clear();
    this.rows.clear();
    this.labels.clear();
    this.tail.clear();
    this.slab.clear();
    this.pendingKills = [];
    this.nextLabel = this.sentLimit = this.publishedLimit = this.deadInIndex = this.nextOffset = 0;
    this.snapshotOffset = undefined;
  }

  private async loadSnapshot(dir: string): Promise<void> {
    const meta = await readSnapshotMeta(dir);
    for (const def of this.schema.vectors) {
      if (!meta.vectors.includes(def.name)) throw new Error(`snapshot lacks index for ${def.name}`);
      const ann = this.opts.pool.place(`${this.schema.name}.${def.name}`);
      this.indexes.set(def.name, { def, ann });
      await ann.load(def.metric, def.dim, indexFile(dir, def.name));
    }
    for await (const { label, row } of readSnapshotRows(dir)) {
      const entry = this.makeEntry(row, label);
      this.rows.set(row.key, entry);
      this.labels.set(label, entry);
      if (label >= meta.indexedLimit) this.tail.set(label, entry);
    }
    this.nextLabel = meta.nextLabel;
    this.sentLimit = this.publishedLimit = meta.indexedLimit;
    this.deadInIndex = meta.deadInIndex;
    this.nextOffset = meta.nextOffset;
    this.snapshotOffset = meta.nextOffset;
  }

  // ---------------------------------------------------------------- writes

  /** Validates the whole batch, then appends it to the changelog and applies it. Nothing is written on error. */
  async upsert(input: unknown[]): Promise<WriteResult> {
    this.ensureOpen();
    if (!Array.isArray(input)) throw new TableError('INVALID_ROW', 'upsert expects an array of rows');
    const schema = this.schema;
    const pending = input.map((r, i) => validateRow(schema, r, i));
    const toEmbed = pending.filter((p) => p.needsEmbedding);
    if (toEmbed.length > 0) {
      const emb = schema.embedder!;
      const vecs = await this.getEmbedder().embed(toEmbed.map((p) => p.values[emb.source] as string));
      toEmbed.forEach((p, i) => {
        p.vectors[emb.column] = vecs[i]!;
      });
    }
    const rows: StoredRow[] = pending.map(({ key, values, vectors }) => ({ key, values, vectors }));
    const entries: ChangeEntry[] = rows.map((r) => ({ op: 'upsert', key: r.key, row: rowToJson(r) }));
    return this.write(entries, rows);
  }

  async delete(keys: unknown[]): Promise<WriteResult> {
    this.ensureOpen();
    if (!Array.isArray(keys)) throw new TableError('INVALID_KEY', 'delete expects an array of keys');
    const norm = keys.map((k, i) => normalizeKey(this.schema, k, `key ${i}`));
    return this.write(
      norm.map((key) => ({ op: 'delete', key })),
      norm.map(() => undefined),
    );
  }

  private write(entries: ChangeEntry[], rows: (StoredRow | undefined)[]): Promise<WriteResult> {
    return this.exclusive(async () => {
      this.ensureOpen();
      if (entries.length === 0) return { offset: this.nextOffset - 1, count: 0 };
      const last = await this.opts.changelog.append(entries);
      const first = last - entries.length + 1;
      if (first === this.nextOffset) {
        entries.forEach((e, i) => this.applyEntry(e.key, rows[i]));
        this.nextOffset = last + 1;
        this.flushKills();
      } else {
        // Someone else appended too: replay in log order so every replica agrees.
        await this.catchUpLocked();
      }
      this.maybeBuild();
      return { offset: last, count: entries.length };
    });
  }

  /** Applies changelog entries appended by others (or before a restart). Call periodically when following. */
  catchUp(): Promise<number> {
    return this.exclusive(async () => {
      await this.catchUpLocked();
      this.maybeBuild();
      return this.nextOffset;
    });
  }

  private async catchUpLocked(): Promise<void> {
    this.nextOffset = await this.opts.changelog.read(this.nextOffset, (entry, offset) => {
      this.applyLogged(entry, offset);
      // Kept exact per entry: a snapshot taken mid-read must name the first offset it lacks.
      this.nextOffset = offset + 1;
    });
    this.flushKills();
  }

  private applyLogged(entry: ChangeEntry, offset: number): void {
    try {
      if (entry.op === 'delete') {
        this.applyEntry(normalizeKey(this.schema, entry.key), undefined);
      } else if (entry.op === 'upsert') {
        const p = validateRow(this.schema, entry.row, offset);
        if (p.needsEmbedding) throw new TableError('INVALID_ROW', 'changelog row lacks its embedded vector');
        if (compareKeys(p.key, normalizeKey(this.schema, entry.key)) !== 0) {
          throw new TableError('INVALID_ROW', 'entry key differs from the row primary key');
        }
        this.applyEntry(p.key, { key: p.key, values: p.values, vectors: p.vectors });
      } else {
        throw new TableError('INVALID_ROW', `unknown op ${JSON.stringify((entry as { op: unknown }).op)}`);
      }
    } catch (err) {
      // A foreign writer may put anything on the topic; one bad record must not wedge the table.
      this.invalidEntries++;
      this.opts.logger?.warn({ err, offset, table: this.schema.name }, 'skipping invalid changelog entry');
    }
  }

  private applyEntry(key: Key, row: StoredRow | undefined): void {
    const old = this.rows.get(key);
    if (old) {
      this.slab.release(old.slot);
      this.labels.delete(old.label);
      this.tail.delete(old.label);
      if (old.label < this.sentLimit) this.pendingKills.push(old.label);
    }
    if (!row) {
      if (old) {
        this.rows.delete(key);
        this.sortedKeys = undefined;
      }
      return;
    }
    const entry = this.makeEntry(row, this.nextLabel++);
    if (!old) this.sortedKeys = undefined;
    this.rows.set(key, entry);
    this.labels.set(entry.label, entry);
    this.tail.set(entry.label, entry);
  }

  private makeEntry(row: StoredRow, label: number): Entry {
    return { label, key: row.key, values: row.values, slot: this.slab.alloc(row.vectors) };
  }

  /**
   * Posts markDelete for replaced/deleted labels. Called before any search or index write is posted,
   * so (FIFO per worker) those never see a dead label.
   */
  private flushKills(): void {
    if (this.pendingKills.length === 0) return;
    const labels = this.pendingKills;
    this.pendingKills = [];
    this.deadInIndex += labels.length;
    for (const { ann } of this.indexes.values()) {
      ann.delete(labels).catch((err: unknown) => this.opts.logger?.warn({ err }, 'markDelete failed'));
    }
  }

  // ---------------------------------------------------------------- index build + snapshot

  private maybeBuild(): void {
    if (!this.opts.autoIndex || this.building || this.closed) return;
    const threshold = Math.max(this.opts.indexThreshold, Math.floor(this.rows.size * 0.1));
    if (this.tail.size < threshold) return;
    this.runBuild(false).catch(() => undefined);
  }

  /**
   * Adds the tail to the ANN indexes and writes a snapshot covering everything applied so far.
   * Resolves with the snapshot's changelog offset (first offset not covered).
   */
  checkpoint(): Promise<number> {
    return this.runBuild(true);
  }

  private async runBuild(forceSnapshot: boolean): Promise<number> {
    while (this.building) await this.building.catch(() => undefined);
    if (this.snapshotOffset === this.nextOffset && this.tail.size === 0) return this.nextOffset;
    const run = this.build(forceSnapshot);
    this.building = run;
    try {
      await run;
      this.lastBuildError = undefined;
      // Writes that arrived during the build could not start one: catch up with them now.
      queueMicrotask(() => this.maybeBuild());
    } catch (err) {
      this.lastBuildError = err as Error;
      this.opts.logger?.warn({ err, table: this.schema.name }, 'index build failed');
      throw err;
    } finally {
      this.building = undefined;
    }
    return this.snapshotOffset ?? this.nextOffset;
  }

  /** Whether an automatic build should also write a snapshot (explicit checkpoints always do). */
  private snapshotDue(): boolean {
    if (this.snapshotOffset === undefined) return true;
    const entries = this.nextOffset - this.snapshotOffset;
    if (entries >= Math.max(this.opts.snapshotMinEntries, Math.floor(this.rows.size * this.opts.snapshotMinFraction))) return true;
    return Date.now() - this.lastSnapshotAt >= this.opts.snapshotIntervalMs;
  }

  private async build(forceSnapshot: boolean): Promise<void> {
    const buildLimit = this.nextLabel;
    const batch = [...this.tail.values()].filter((e) => e.label >= this.sentLimit && e.label < buildLimit);
    const adds: Promise<void>[] = [];
    for (const { def, ann } of this.indexes.values()) {
      const col = this.slab.columnIndex(def.name);
      for (let i = 0; i < batch.length; i += ADD_CHUNK) {
        const chunk = batch.slice(i, i + ADD_CHUNK);
        const labels = new Float64Array(chunk.length);
        const data = new Float32Array(chunk.length * def.dim);
        chunk.forEach((e, j) => {
          labels[j] = e.label;
          data.set(this.slab.view(col, e.slot), j * def.dim);
        });
        adds.push(ann.add(labels, data));
      }
    }
    this.sentLimit = buildLimit;
    await Promise.all(adds);

    if (!this.opts.writesSnapshots() || !(forceSnapshot || this.snapshotDue())) {
      this.flushKills();
      this.publish(buildLimit);
      return;
    }
    const tmp = await createSnapshotTemp(this.opts.dir);
    this.flushKills();
    // Capture rows and post the index writes in one tick: the files then describe the same state.
    const rows = [...this.rows.values()];
    // Vectors are read from the slab while the file is written: keep freed slots unchanged till then.
    const unhold = this.slab.hold();
    const meta: SnapshotMeta = {
      version: 1,
      nextOffset: this.nextOffset,
      nextLabel: this.nextLabel,
      indexedLimit: buildLimit,
      deadInIndex: this.deadInIndex,
      rowCount: rows.length,
      vectors: [...this.indexes.keys()],
      createdAt: new Date().toISOString(),
    };
    const writes = [...this.indexes.values()].map(({ def, ann }) => ann.write(indexFile(tmp, def.name)));
    try {
      await Promise.all(writes);
      const final = await commitSnapshot(this.opts.dir, tmp, meta, rows, (e) => ({
        label: e.label,
        row: { key: e.key, values: e.values, vectors: this.slab.views(e.slot) },
      }));
      this.snapshotOffset = meta.nextOffset;
      this.lastSnapshotAt = Date.now();
      this.snapshotsWritten++;
      await pruneSnapshots(this.opts.dir, final);
    } finally {
      unhold();
      // Publish even if the snapshot failed: the in-memory index is complete either way.
      this.publish(buildLimit);
    }
  }

  private publish(limit: number): void {
    this.publishedLimit = Math.max(this.publishedLimit, limit);
    for (const label of [...this.tail.keys()]) if (label < this.publishedLimit) this.tail.delete(label);
  }

  // ---------------------------------------------------------------- reads

  /** Strong reads call this: waits until `afterOffset` (or the current changelog end) is applied. */
  async sync(afterOffset?: number): Promise<void> {
    this.ensureOpen();
    if (afterOffset !== undefined && this.nextOffset > afterOffset) return;
    const deadline = Date.now() + this.opts.strongTimeoutMs;
    for (;;) {
      await this.catchUp();
      if (afterOffset === undefined || this.nextOffset > afterOffset) return;
      if (Date.now() >= deadline) {
        throw new TableError('TIMEOUT', `table ${this.name}: offset ${afterOffset} not applied within ${this.opts.strongTimeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async get(key: unknown, includeVectors = false): Promise<Record<string, unknown> | undefined> {
    this.ensureOpen();
    const e = this.rows.get(normalizeKey(this.schema, key));
    return e ? this.publicRow(e, includeVectors) : undefined;
  }

  async count(filter?: Filter): Promise<number> {
    this.ensureOpen();
    if (filter === undefined) return this.rows.size;
    const pred = compileFilter(this.schema, filter);
    let n = 0;
    for (const e of this.rows.values()) if (pred(e.values)) n++;
    return n;
  }

  /** Rows in primary-key order; the page token is opaque and stays valid across writes. */
  async scan(req: ScanRequest = {}): Promise<ScanPage> {
    this.ensureOpen();
    const limit = req.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_K) {
      throw new TableError('INVALID_QUERY', `limit must be an integer in 1..${MAX_K}`);
    }
    const pred = req.filter === undefined ? undefined : compileFilter(this.schema, req.filter);
    const keys = this.keysInOrder();
    let i = 0;
    if (req.pageToken !== undefined) {
      const after = this.decodePageToken(req.pageToken);
      let lo = 0;
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (compareKeys(keys[mid]!, after) <= 0) lo = mid + 1;
        else hi = mid;
      }
      i = lo;
    }
    const out: Record<string, unknown>[] = [];
    let lastKey: Key | undefined;
    for (; i < keys.length && out.length < limit; i++) {
      const e = this.rows.get(keys[i]!)!;
      lastKey = keys[i];
      if (!pred || pred(e.values)) out.push(this.publicRow(e, req.includeVectors ?? false));
    }
    const page: ScanPage = { rows: out };
    if (i < keys.length && lastKey !== undefined) page.nextPageToken = this.encodePageToken(lastKey);
    return page;
  }

  private keysInOrder(): Key[] {
    this.sortedKeys ??= [...this.rows.keys()].sort(compareKeys);
    return this.sortedKeys;
  }

  private encodePageToken(after: Key): string {
    return Buffer.from(JSON.stringify({ v: 1, a: after }), 'utf8').toString('base64url');
  }

  private decodePageToken(token: string): Key {
    try {
      const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: unknown; a?: unknown };
      if (t.v === 1) return normalizeKey(this.schema, t.a);
    } catch {
      // fall through
    }
    throw new TableError('INVALID_PAGE_TOKEN', 'page token is malformed or belongs to another table');
  }

  private publicRow(e: Entry, includeVectors: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const c of this.schema.columns) out[c.name] = e.values[c.name] ?? null;
    if (includeVectors) for (const [name, v] of Object.entries(this.slab.views(e.slot))) out[name] = Array.from(v);
    return out;
  }

  // ---------------------------------------------------------------- search

  async search(req: SearchRequest): Promise<SearchHit[]> {
    this.ensureOpen();
    if (req.consistency === 'strong') await this.sync(req.afterOffset);
    else if (req.consistency !== undefined && req.consistency !== 'eventual') {
      throw new TableError('INVALID_QUERY', `consistency must be eventual or strong`);
    }
    const def = this.vectorColumn(req);
    const k = req.k ?? 10;
    if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new TableError('INVALID_QUERY', `k must be an integer in 1..${MAX_K}`);
    const ef = req.ef ?? Math.max(this.opts.defaultEf, k);
    if (!Number.isInteger(ef) || ef < 1 || ef > 100_000) throw new TableError('INVALID_QUERY', 'ef must be a positive integer');
    const pred = req.filter === undefined ? undefined : compileFilter(this.schema, req.filter);
    // Synchronous for a vector query: one await less per search.
    const q = this.queryVector(def, req);
    let query = q instanceof Float32Array ? q : await q;
    if (def.metric === 'cosine') query = normalized(query);
    const hits = await this.nearest(def, query, k, ef, pred);
    return hits.map(({ entry, distance }) => ({
      key: entry.key,
      distance,
      score: scoreFor(def.metric, distance),
      row: this.publicRow(entry, req.includeVectors ?? false),
    }));
  }

  private vectorColumn(req: SearchRequest): VectorDef {
    const vectors = this.schema.vectors;
    let name = req.column;
    if (name === undefined) {
      if (req.text !== undefined && this.schema.embedder) name = this.schema.embedder.column;
      else if (vectors.length === 1) name = vectors[0]!.name;
      else throw new TableError('INVALID_QUERY', `table ${this.name} has ${vectors.length} vector columns: name one in "column"`);
    }
    const def = vectors.find((v) => v.name === name);
    if (!def) throw new TableError('INVALID_QUERY', `no vector column ${JSON.stringify(name)}`);
    return def;
  }

  private queryVector(def: VectorDef, req: SearchRequest): Float32Array | Promise<Float32Array> {
    if ((req.vector === undefined) === (req.text === undefined)) {
      throw new TableError('INVALID_QUERY', 'give exactly one of vector or text');
    }
    if (req.text !== undefined) {
      if (typeof req.text !== 'string') throw new TableError('INVALID_QUERY', 'text must be a string');
      if (this.schema.embedder?.column !== def.name) {
        throw new TableError('INVALID_QUERY', `vector column ${def.name} has no embedder: search it with a vector`);
      }
      return this.getEmbedder().embed([req.text]).then((v) => v[0]!);
    }
    const v = req.vector!;
    if (typeof v !== 'object' || v === null || typeof v.length !== 'number' || v.length !== def.dim) {
      throw new TableError('INVALID_QUERY', `query vector must have dimension ${def.dim}`);
    }
    const out = new Float32Array(def.dim);
    for (let i = 0; i < def.dim; i++) {
      const x = v[i];
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new TableError('INVALID_QUERY', `query vector element ${i} is not a finite number`);
      out[i] = x;
    }
    return out;
  }

  private async nearest(
    def: VectorDef,
    query: Float32Array,
    k: number,
    ef: number,
    pred: RowPredicate | undefined,
  ): Promise<{ entry: Entry; distance: number }[]> {
    const dist = slotDistanceFor(def.metric);
    const col = this.slab.columnIndex(def.name);
    const slab = this.slab;
    const exact = (entries: Iterable<Entry>, top: TopK<Entry>): void => {
      for (const e of entries) top.offer(dist(query, slab.searchData(col, e.slot), slab.searchOffset(col, e.slot)), e);
    };
    const limit = this.publishedLimit;
    let allow: Uint8Array | undefined;
    let indexedCandidates: number;
    let tailCandidates: Entry[] | undefined;
    if (pred) {
      const matching: Entry[] = [];
      for (const e of this.rows.values()) if (pred(e.values)) matching.push(e);
      if (matching.length === 0) return [];
      if (matching.length <= this.opts.exactFilterRows || matching.length < this.rows.size * this.opts.exactFilterFraction) {
        const top = new TopK<Entry>(k, byEntryKey);
        exact(matching, top);
        return top.sorted().map(([distance, entry]) => ({ entry, distance }));
      }
      allow = new Uint8Array((limit >> 3) + 1);
      tailCandidates = [];
      indexedCandidates = 0;
      for (const e of matching) {
        if (e.label < limit) {
          allow[e.label >> 3]! |= 1 << (e.label & 7);
          indexedCandidates++;
        } else tailCandidates.push(e);
      }
    } else if (this.tail.size > 0) {
      tailCandidates = [...this.tail.values()].filter((e) => e.label >= limit);
      indexedCandidates = this.rows.size - tailCandidates.length;
    } else {
      indexedCandidates = this.rows.size;
    }
    let tailHits: [number, Entry][] = [];
    if (tailCandidates && tailCandidates.length > 0) {
      const tailTop = new TopK<Entry>(k, byEntryKey);
      exact(tailCandidates, tailTop);
      tailHits = tailTop.sorted();
    }
    const want = Math.min(k, indexedCandidates);
    // Only pay for a per-candidate filter callback while a build has unpublished labels in the graph.
    const annLimit = this.sentLimit > limit ? limit : Infinity;
    const ann = this.indexes.get(def.name)!.ann;
    this.flushKills();
    let curEf = ef;
    for (let attempt = 0; want > 0 && attempt < 3; attempt++) {
      const r = await ann.search(query, k, curEf, annLimit, allow);
      const top = new TopK<Entry>(k, byEntryKey);
      for (const [distance, e] of tailHits) if (this.labels.get(e.label) === e) top.offer(distance, e);
      let live = 0;
      for (let i = 0; i < r.labels.length; i++) {
        const e = this.labels.get(r.labels[i]!);
        // Rows replaced or deleted while the worker searched are dropped here.
        if (!e || (pred && !pred(e.values))) continue;
        live++;
        // Re-score exactly as the tail is scored (hnswlib reports float32 distances), so a row
        // ranks and scores the same whether it is indexed yet or not — also across restarts.
        top.offer(dist(query, slab.searchData(col, e.slot), slab.searchOffset(col, e.slot)), e);
      }
      if (live >= want) return top.sorted().map(([distance, entry]) => ({ entry, distance }));
      curEf = Math.min(curEf * 4, 100_000);
    }
    if (want === 0) return tailHits.map(([distance, entry]) => ({ entry, distance }));
    // The graph could not produce enough live hits (heavy deletes, disconnected region): scan exactly.
    const top = new TopK<Entry>(k, byEntryKey);
    exact(pred ? [...this.rows.values()].filter((e) => pred(e.values)) : this.rows.values(), top);
    return top.sorted().map(([distance, entry]) => ({ entry, distance }));
  }

  private getEmbedder(): Embedder {
    const emb = this.schema.embedder;
    if (!emb) throw new TableError('INVALID_QUERY', `table ${this.name} has no embedder`);
    const dim = this.schema.vectors.find((v) => v.name === emb.column)!.dim;
    this.embedder ??= createEmbedder(emb.model, dim, this.opts.embedders);
    return this.embedder;
  }

  // ---------------------------------------------------------------- alter / close

  /** Adds a nullable scalar column; existing rows read it as null. */
  async addColumn(column: ColumnDef): Promise<TableSchema> {
    this.ensureOpen();
    return this.exclusive(async () => {
      const next = addColumnToSchema(this.schema, column);
      await writeSchemaFile(this.opts.dir, next);
      this.schema = next;
      this.schemaText = JSON.stringify(next);
      return this.describe();
    });
  }

  /** Stops the table. With checkpoint, first builds the index and writes a snapshot so reopening is fast. */
  async close(opts: { checkpoint?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    await this.lock.catch(() => undefined);
    if (opts.checkpoint) await this.checkpoint().catch(() => undefined);
    this.closed = true;
    while (this.building) await this.building.catch(() => undefined);
    await Promise.all([...this.indexes.values()].map((i) => i.ann.drop().catch(() => undefined)));
    await this.opts.changelog.close?.();
  }

  private ensureOpen(): void {
    if (this.closed) throw new TableError('TABLE_CLOSED', `table ${this.schema.name} is closed`);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }
}
