import { TableError } from './errors.js';
import { normalizeScalar } from './rows.js';
import type { ColumnDef, TableSchema } from './schema.js';

export interface RangeBounds {
  gte?: unknown;
  lte?: unknown;
  gt?: unknown;
  lt?: unknown;
}

export type Filter =
  | { eq: Record<string, unknown> }
  | { range: Record<string, RangeBounds> }
  | { in: Record<string, unknown[]> }
  | { and: Filter[] }
  | { or: Filter[] }
  | { not: Filter };

export type RowPredicate = (values: Record<string, unknown>) => boolean;

function fail(message: string): never {
  throw new TableError('INVALID_FILTER', message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function column(schema: TableSchema, name: string): ColumnDef {
  const col = schema.columns.find((c) => c.name === name);
  if (!col) {
    if (schema.vectors.some((v) => v.name === name)) fail(`cannot filter on vector column ${name}`);
    fail(`unknown column ${JSON.stringify(name)} in filter`);
  }
  return col;
}

function operand(col: ColumnDef, v: unknown, op: string): unknown {
  if (v === null) return null;
  try {
    return normalizeScalar(col, v);
  } catch (msg) {
    fail(`${op} on ${col.name}: ${String(msg)}`);
  }
}

// json values compare by their serialisation; everything else by identity of the stored scalar.
function equalityKey(col: ColumnDef, v: unknown): unknown {
  return col.type === 'json' && v !== null ? JSON.stringify(v) : v;
}

function compileEq(schema: TableSchema, spec: unknown): RowPredicate {
  if (!isObject(spec) || Object.keys(spec).length === 0) fail('eq needs an object of {column: value}');
  const checks = Object.entries(spec).map(([name, raw]) => {
    const col = column(schema, name);
    const want = equalityKey(col, operand(col, raw, 'eq'));
    return (values: Record<string, unknown>) => equalityKey(col, values[name] ?? null) === want;
  });
  return (values) => checks.every((c) => c(values));
}

function compileIn(schema: TableSchema, spec: unknown): RowPredicate {
  if (!isObject(spec) || Object.keys(spec).length === 0) fail('in needs an object of {column: [values]}');
  const checks = Object.entries(spec).map(([name, raw]) => {
    const col = column(schema, name);
    if (!Array.isArray(raw)) fail(`in on ${name}: expected an array of values`);
    const set = new Set(raw.map((v) => equalityKey(col, operand(col, v, 'in'))));
    return (values: Record<string, unknown>) => set.has(equalityKey(col, values[name] ?? null));
  });
  return (values) => checks.every((c) => c(values));
}

function compileRange(schema: TableSchema, spec: unknown): RowPredicate {
  if (!isObject(spec) || Object.keys(spec).length === 0) fail('range needs an object of {column: {gte,lte,gt,lt}}');
  const checks = Object.entries(spec).map(([name, raw]) => {
    const col = column(schema, name);
    if (col.type === 'bool' || col.type === 'json') fail(`range is not supported on ${col.type} column ${name}`);
    if (!isObject(raw) || Object.keys(raw).length === 0) fail(`range on ${name}: expected {gte?, lte?, gt?, lt?}`);
    const b: { gte?: unknown; lte?: unknown; gt?: unknown; lt?: unknown } = {};
    for (const [op, v] of Object.entries(raw)) {
      if (op !== 'gte' && op !== 'lte' && op !== 'gt' && op !== 'lt') fail(`range on ${name}: unknown bound ${op}`);
      if (v === null || v === undefined) fail(`range on ${name}: bound ${op} needs a value`);
      b[op] = operand(col, v, 'range');
    }
    return (values: Record<string, unknown>) => {
      const x = values[name];
      if (x === null || x === undefined) return false;
      const xv = x as number | string;
      if (b.gte !== undefined && !(xv >= (b.gte as number | string))) return false;
      if (b.gt !== undefined && !(xv > (b.gt as number | string))) return false;
      if (b.lte !== undefined && !(xv <= (b.lte as number | string))) return false;
      if (b.lt !== undefined && !(xv < (b.lt as number | string))) return false;
      return true;
    };
  });
  return (values) => checks.every((c) => c(values));
}

/** Compiles a filter into a predicate over a row's scalar values; throws TableError('INVALID_FILTER'). */
export function compileFilter(schema: TableSchema, filter: unknown, depth = 0): RowPredicate {
  if (depth > 64) fail('filter nested too deeply');
  if (!isObject(filter)) fail('a filter must be an object with one of eq, range, in, and, or, not');
  const ops = Object.keys(filter);
  if (ops.length !== 1) fail(`a filter object needs exactly one operator, got ${JSON.stringify(ops)}`);
  const op = ops[0]!;
  const spec = filter[op];
  switch (op) {
    case 'eq':
      return compileEq(schema, spec);
    case 'in':
      return compileIn(schema, spec);
    case 'range':
      return compileRange(schema, spec);
    case 'and':
    case 'or': {
      if (!Array.isArray(spec) || spec.length === 0) fail(`${op} needs a non-empty array of filters`);
      const parts = spec.map((f) => compileFilter(schema, f, depth + 1));
      return op === 'and' ? (v) => parts.every((p) => p(v)) : (v) => parts.some((p) => p(v));
    }
    case 'not': {
      const inner = compileFilter(schema, spec, depth + 1);
      return (v) => !inner(v);
    }
    default:
      fail(`unknown filter operator ${JSON.stringify(op)}`);
  }
}
