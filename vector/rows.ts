import { TableError } from './errors.js';
import type { ColumnDef, TableSchema, VectorDef } from './schema.js';

export type Key = string | number;

/** In-memory form of a row: scalars normalised, vectors as float32 (what the index stores). */
export interface StoredRow {
  key: Key;
  values: Record<string, unknown>;
  vectors: Record<string, Float32Array>;
}

/** A row before embedding: vectors the embedder must fill are absent. */
export interface PendingRow extends StoredRow {
  needsEmbedding: boolean;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function normalizeKey(schema: TableSchema, raw: unknown, where = 'key'): Key {
  const col = schema.columns.find((c) => c.name === schema.primaryKey);
  if (col?.type === 'int') {
    if (typeof raw !== 'number' || !Number.isSafeInteger(raw)) {
      throw new TableError('INVALID_KEY', `${where}: primary key ${schema.primaryKey} must be a safe integer, got ${describe(raw)}`);
    }
    return raw;
  }
  if (typeof raw !== 'string' || raw.length === 0) {
    throw new TableError('INVALID_KEY', `${where}: primary key ${schema.primaryKey} must be a non-empty string, got ${describe(raw)}`);
  }
  return raw;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  try {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return typeof v;
  }
}

/** Returns the stored form of a scalar value; throws a message string on mismatch. */
export function normalizeScalar(col: ColumnDef, v: unknown): unknown {
  switch (col.type) {
    case 'string':
      if (typeof v !== 'string') throw `expected string, got ${describe(v)}`;
      return v;
    case 'int':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw `expected integer, got ${describe(v)}`;
      return v;
    case 'float':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw `expected finite number, got ${describe(v)}`;
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw `expected boolean, got ${describe(v)}`;
      return v;
    case 'timestamp': {
      // Stored as epoch milliseconds so range filters compare numbers.
      if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
      if (v instanceof Date && !Number.isNaN(v.getTime())) return v.getTime();
      if (typeof v === 'string') {
        const ms = Date.parse(v);
        if (!Number.isNaN(ms)) return ms;
      }
      throw `expected timestamp (epoch ms integer or ISO-8601 string), got ${describe(v)}`;
    }
    case 'json': {
      let text: string | undefined;
      try {
        text = JSON.stringify(v);
      } catch {
        throw 'value is not JSON-serialisable';
      }
      if (text === undefined) throw 'value is not JSON-serialisable';
      return JSON.parse(text) as unknown;
    }
  }
}

export function normalizeVector(def: VectorDef, v: unknown): Float32Array {
  if (!Array.isArray(v) && !(v instanceof Float32Array) && !(v instanceof Float64Array)) {
    throw `expected an array of ${def.dim} numbers, got ${describe(v)}`;
  }
  if (v.length !== def.dim) throw `expected dimension ${def.dim}, got ${v.length}`;
  const out = new Float32Array(def.dim);
  for (let i = 0; i < def.dim; i++) {
    const x: unknown = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw `element ${i} is ${describe(x)}, not a finite number`;
    out[i] = x;
    if (!Number.isFinite(out[i])) throw `element ${i} (${x}) overflows float32`;
  }
  return out;
}

/** Validates one input row; the embedder's vector column may be absent (filled from its source text). */
export function validateRow(schema: TableSchema, raw: unknown, index: number): PendingRow {
  const where = `row ${index}`;
  if (!isObject(raw)) throw new TableError('INVALID_ROW', `${where}: a row must be an object`);
  const known = new Set([...schema.columns.map((c) => c.name), ...schema.vectors.map((v) => v.name)]);
  for (const k of Object.keys(raw)) {
    if (!known.has(k)) throw new TableError('INVALID_ROW', `${where}: unknown column ${JSON.stringify(k)}`);
  }
  const key = normalizeKey(schema, raw[schema.primaryKey], where);
  const values: Record<string, unknown> = {};
  for (const col of schema.columns) {
    const v = raw[col.name];
    if (v === undefined || v === null) {
      if (col.nullable) {
        values[col.name] = null;
        continue;
      }
      throw new TableError('INVALID_ROW', `${where} (key ${JSON.stringify(key)}): column ${col.name} is required`);
    }
    try {
      values[col.name] = normalizeScalar(col, v);
    } catch (msg) {
      throw new TableError('INVALID_ROW', `${where} (key ${JSON.stringify(key)}): column ${col.name}: ${String(msg)}`);
    }
  }
  const vectors: Record<string, Float32Array> = {};
  let needsEmbedding = false;
  for (const def of schema.vectors) {
    const v = raw[def.name];
    if (v === undefined || v === null) {
      const emb = schema.embedder;
      if (emb && emb.column === def.name) {
        if (typeof values[emb.source] !== 'string') {
          throw new TableError(
            'INVALID_ROW',
            `${where} (key ${JSON.stringify(key)}): vector ${def.name} is missing and source column ${emb.source} has no text to embed`,
          );
        }
        needsEmbedding = true;
        continue;
      }
      throw new TableError('INVALID_ROW', `${where} (key ${JSON.stringify(key)}): vector column ${def.name} is required`);
    }
    try {
      vectors[def.name] = normalizeVector(def, v);
    } catch (msg) {
      throw new TableError('INVALID_ROW', `${where} (key ${JSON.stringify(key)}): vector ${def.name}: ${String(msg)}`);
    }
  }
  return { key, values, vectors, needsEmbedding };
}

/** The JSON form used in changelog entries and API answers (vectors as number arrays). */
export function rowToJson(row: StoredRow): Record<string, unknown> {
  const out: Record<string, unknown> = { ...row.values };
  for (const [name, vec] of Object.entries(row.vectors)) out[name] = Array.from(vec);
  return out;
}

/** Key order used by scans and page tokens: ints numerically, strings by code unit. */
export function compareKeys(a: Key, b: Key): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}
