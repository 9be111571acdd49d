import { validateEmbedderModel, type EmbedderModel } from './embedders/config.js';
import { TableError } from './errors.js';

export type ColumnType = 'string' | 'int' | 'float' | 'bool' | 'timestamp' | 'json';
export type Metric = 'cosine' | 'l2' | 'ip';

export interface ColumnDef {
  name: string;
  type: ColumnType;
  nullable?: boolean;
}

export interface VectorDef {
  name: string;
  dim: number;
  metric: Metric;
  /** HNSW graph degree; default 16. */
  m?: number;
  /** HNSW build-time candidate list size; default 200. */
  efConstruction?: number;
}

export interface EmbedderDef {
  /** Vector column filled by the embedder. */
  column: string;
  /** String column whose text is embedded. */
  source: string;
  /** `hashing`, `use-lite`, or `{type: 'onnx', path, ...}` / `{type: 'openai', url, name, ...}`. */
  model: EmbedderModel;
}

export interface TableSchema {
  name: string;
  primaryKey: string;
  columns: ColumnDef[];
  vectors: VectorDef[];
  embedder?: EmbedderDef;
}

export const DEFAULT_M = 16;
export const DEFAULT_EF_CONSTRUCTION = 200;
export const MAX_DIM = 4096;

const COLUMN_TYPES: readonly ColumnType[] = ['string', 'int', 'float', 'bool', 'timestamp', 'json'];
const METRICS: readonly Metric[] = ['cosine', 'l2', 'ip'];
// Table names become directory and Kafka topic names, so keep to Kafka's legal characters.
const TABLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

function fail(message: string): never {
  throw new TableError('INVALID_SCHEMA', message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function validateTableName(name: unknown): string {
  if (typeof name !== 'string' || !TABLE_NAME.test(name) || name === '.' || name === '..') {
    fail(`invalid table name ${JSON.stringify(name)}: use 1-128 of [A-Za-z0-9_.-], starting with a letter or digit`);
  }
  return name;
}

function checkColumnName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !COLUMN_NAME.test(name)) {
    fail(`invalid ${what} name ${JSON.stringify(name)}: use 1-128 of [A-Za-z0-9_], not starting with a digit`);
  }
  return name;
}

function checkPositiveInt(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(`${what} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function validateColumn(raw: unknown): ColumnDef {
  if (!isObject(raw)) fail('column definition must be an object');
  const name = checkColumnName(raw.name, 'column');
  if (typeof raw.type !== 'string' || !COLUMN_TYPES.includes(raw.type as ColumnType)) {
    fail(`column ${name}: type must be one of ${COLUMN_TYPES.join(', ')}, got ${JSON.stringify(raw.type)}`);
  }
  if (raw.nullable !== undefined && typeof raw.nullable !== 'boolean') fail(`column ${name}: nullable must be a boolean`);
  for (const k of Object.keys(raw)) {
    if (k !== 'name' && k !== 'type' && k !== 'nullable') fail(`column ${name}: unknown property ${JSON.stringify(k)}`);
  }
  const col: ColumnDef = { name, type: raw.type as ColumnType };
  if (raw.nullable !== undefined) col.nullable = raw.nullable;
  return col;
}

function validateVector(raw: unknown): VectorDef {
  if (!isObject(raw)) fail('vector definition must be an object');
  const name = checkColumnName(raw.name, 'vector column');
  const dim = checkPositiveInt(raw.dim, `vector ${name}: dim`, 1, MAX_DIM);
  if (typeof raw.metric !== 'string' || !METRICS.includes(raw.metric as Metric)) {
    fail(`vector ${name}: metric must be one of ${METRICS.join(', ')}, got ${JSON.stringify(raw.metric)}`);
  }
  const v: VectorDef = { name, dim, metric: raw.metric as Metric };
  if (raw.m !== undefined) v.m = checkPositiveInt(raw.m, `vector ${name}: m`, 2, 128);
  if (raw.efConstruction !== undefined) {
    v.efConstruction = checkPositiveInt(raw.efConstruction, `vector ${name}: efConstruction`, 1, 4096);
  }
  for (const k of Object.keys(raw)) {
    if (!['name', 'dim', 'metric', 'm', 'efConstruction'].includes(k)) {
      fail(`vector ${name}: unknown property ${JSON.stringify(k)}`);
    }
  }
  return v;
}

/** Validates and returns a normalised copy; throws TableError('INVALID_SCHEMA'). */
export function validateSchema(raw: unknown): TableSchema {
  if (!isObject(raw)) fail('schema must be an object');
  for (const k of Object.keys(raw)) {
    if (!['name', 'primaryKey', 'columns', 'vectors', 'embedder'].includes(k)) {
      fail(`schema: unknown property ${JSON.stringify(k)}`);
    }
  }
  const name = validateTableName(raw.name);
  if (!Array.isArray(raw.columns)) fail('schema.columns must be an array');
  const vectorsRaw = raw.vectors ?? [];
  if (!Array.isArray(vectorsRaw)) fail('schema.vectors must be an array');
  const columns = raw.columns.map(validateColumn);
  const vectors = vectorsRaw.map(validateVector);
  const seen = new Set<string>();
  for (const n of [...columns.map((c) => c.name), ...vectors.map((v) => v.name)]) {
    if (seen.has(n)) fail(`duplicate column name ${JSON.stringify(n)}`);
    seen.add(n);
  }
  if (typeof raw.primaryKey !== 'string') fail('schema.primaryKey must be a column name');
  const key = columns.find((c) => c.name === raw.primaryKey);
  if (!key) fail(`primary key column ${JSON.stringify(raw.primaryKey)} is not a scalar column of the table`);
  if (key.type !== 'string' && key.type !== 'int') fail(`primary key column ${key.name} must be of type string or int`);
  if (key.nullable) fail(`primary key column ${key.name} cannot be nullable`);
  const schema: TableSchema = { name, primaryKey: key.name, columns, vectors };
  if (raw.embedder !== undefined) {
    const e = raw.embedder;
    if (!isObject(e)) fail('schema.embedder must be an object');
    const vec = vectors.find((v) => v.name === e.column);
    if (!vec) fail(`embedder.column ${JSON.stringify(e.column)} is not a vector column`);
    const src = columns.find((c) => c.name === e.source);
    if (!src) fail(`embedder.source ${JSON.stringify(e.source)} is not a column`);
    if (src.type !== 'string') fail(`embedder.source column ${src.name} must be of type string`);
    for (const k of Object.keys(e)) {
      if (!['column', 'source', 'model'].includes(k)) fail(`embedder: unknown property ${JSON.stringify(k)} (model options go inside embedder.model)`);
    }
    schema.embedder = { column: vec.name, source: src.name, model: validateEmbedderModel(e.model) };
  }
  return schema;
}

/** Adding a column is only safe when existing rows can hold null for it. */
export function addColumnToSchema(schema: TableSchema, raw: unknown): TableSchema {
  const col = validateColumn(raw);
  if (col.nullable === false) fail(`added column ${col.name} must be nullable: existing rows have no value for it`);
  col.nullable = true;
  if (schema.columns.some((c) => c.name === col.name) || schema.vectors.some((v) => v.name === col.name)) {
    fail(`column ${col.name} already exists`);
  }
  return { ...schema, columns: [...schema.columns, col] };
}
