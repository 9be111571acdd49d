// The function SDK users import as `floe/functions`. Pure types plus defineFunction: a function
// module runs inside a worker thread, so nothing here may touch broker state.

export type HeaderValue = Buffer | string | null;

/** A decoded input record. `value` is the raw bytes; text()/json() decode it on demand. */
export interface FnRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: ReadonlyArray<{ key: string; value: Buffer | null }>;
  /** The key as UTF-8 text (null when the record has no key). */
  keyText(): string | null;
  /** The value as UTF-8 text ('' when the value is null). */
  text(): string;
  /** The value parsed as JSON; throws on invalid JSON. */
  json<T = unknown>(): T;
  /** A header's value as text, or undefined. */
  header(name: string): string | undefined;
}

/** What a function may emit to an output topic. Strings are UTF-8; objects are JSON-encoded. */
export interface OutRecord {
  key?: Buffer | string | null;
  value: Buffer | string | object | null;
  headers?: Record<string, string | Buffer>;
  timestamp?: number;
}

export type Row = Record<string, unknown>;

export interface SearchQuery {
  vector?: number[] | Float32Array;
  text?: string;
  column?: string;
  k?: number;
  filter?: unknown;
}

export interface SearchHit {
  key: string | number;
  distance: number;
  score: number;
  row: Row;
}

export interface FnLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface FnMetrics {
  /** Adds to a named counter (shown by `floe fn status`). */
  count(name: string, by?: number): void;
  /** Sets a named gauge. */
  gauge(name: string, value: number): void;
}

/**
 * Given to init() and process(). Writes (emit/upsert/delete) are buffered and applied by the
 * runtime after the batch succeeds: outputs are durable before the input offsets commit.
 */
export interface FnContext {
  readonly name: string;
  readonly version: number;
  readonly vars: Readonly<Record<string, string>>;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** The table given at deploy time (--table), if any. */
  readonly table: string | undefined;
  readonly logger: FnLogger;
  readonly metrics: FnMetrics;
  /** Queues a record for an output topic (default: the first output). */
  emit(topic: string | undefined, record: OutRecord): void;
  /** Queues idempotent upserts into a table (default: the deployed table). */
  upsert(table: string | undefined, rows: Row[]): void;
  delete(table: string | undefined, keys: Array<string | number>): void;
  /** Vector search, answered by the node (reads the table as of now, not the queued writes). */
  search(table: string | undefined, query: SearchQuery): Promise<SearchHit[]>;
}

/** Table the runtime creates at deploy time when it does not exist yet. */
export interface TableSpec {
  primaryKey: string;
  columns: Array<{ name: string; type: 'string' | 'int' | 'float' | 'bool' | 'timestamp' | 'json'; nullable?: boolean }>;
  vectors?: Array<{ name: string; dim: number; metric: 'cosine' | 'l2' | 'ip' }>;
  /** model: 'hashing', 'use-lite', or an object such as {type:'onnx', path} / {type:'openai', url, name}. */
  embedder?: { column: string; source: string; model: string | Record<string, unknown> };
}

interface FunctionBase {
  name: string;
  /** Default input topics (deploy -i overrides). */
  inputs?: string[];
  outputs?: string[];
  /** Schema of the deployed table, possibly derived from vars (created when missing). */
  table?: TableSpec | ((vars: Readonly<Record<string, string>>) => TableSpec);
  /** Batching hints: at most maxRecords per call; wait up to lingerMs to fill a small batch. */
  batch?: BatchHints | ((vars: Readonly<Record<string, string>>) => BatchHints);
  init?(ctx: FnContext): void | Promise<void>;
  close?(): void | Promise<void>;
}

export interface BatchHints {
  maxRecords?: number;
  lingerMs?: number;
}

export interface RecordFunction extends FunctionBase {
  process(record: FnRecord, ctx: FnContext): void | Promise<void>;
  processBatch?: never;
}

export interface BatchFunction extends FunctionBase {
  processBatch(records: FnRecord[], ctx: FnContext): void | Promise<void>;
  process?: never;
}

export type FunctionDefinition = RecordFunction | BatchFunction;

/** Marks the default export of a function module; validated again when deployed. */
export function defineFunction<T extends FunctionDefinition>(def: T): T {
  if (typeof def !== 'object' || def === null) throw new TypeError('defineFunction expects an object');
  if (typeof def.name !== 'string' || def.name.length === 0) throw new TypeError('defineFunction: name is required');
  const hasOne = typeof def.process === 'function';
  const hasBatch = typeof def.processBatch === 'function';
  if (hasOne === hasBatch) throw new TypeError(`function ${def.name}: define exactly one of process or processBatch`);
  return def;
}

export function isFunctionDefinition(v: unknown): v is FunctionDefinition {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as Record<string, unknown>;
  return typeof d.name === 'string' && (typeof d.process === 'function') !== (typeof d.processBatch === 'function');
}
