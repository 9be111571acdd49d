// Built-in `materialize`: records -> table rows by a field mapping.
// vars: key (event field for the primary key, "$key" or "$position"; default: record key),
// columns ("col:type[=path],..."; types string|int|float|bool|timestamp|json; path defaults to col),
// delete_on_null (default true: a record with a null value deletes its key's row).
import { defineFunction, type TableSpec } from '../sdk.js';
import { eventOf, getPath, keyOf } from './fields.js';

type ColType = TableSpec['columns'][number]['type'];
const TYPES: readonly ColType[] = ['string', 'int', 'float', 'bool', 'timestamp', 'json'];

interface Mapping {
  column: string;
  type: ColType;
  path: string;
}

export function parseColumns(spec: string | undefined): Mapping[] {
  if (spec === undefined || spec.trim() === '') throw new Error('materialize needs --var columns=col:type[=path],...');
  return spec.split(',').map((part) => {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([a-z]+)\s*(?:=\s*(\S+))?\s*$/.exec(part);
    if (!m) throw new Error(`bad column mapping "${part}": use col:type[=path]`);
    const type = m[2] as ColType;
    if (!TYPES.includes(type)) throw new Error(`column ${m[1]}: type must be one of ${TYPES.join(', ')}`);
    return { column: m[1]!, type, path: m[3] ?? m[1]! };
  });
}

function convert(v: unknown, type: ColType): unknown {
  if (v === undefined || v === null) return null;
  switch (type) {
    case 'string':
      return typeof v === 'string' ? v : JSON.stringify(v);
    case 'int':
    case 'timestamp': {
      const n = typeof v === 'string' && type === 'timestamp' && Number.isNaN(Number(v)) ? Date.parse(v) : Number(v);
      return Number.isFinite(n) ? Math.trunc(n) : null;
    }
    case 'float': {
      const n = Number(v);
      return Number.isFinite(n) ? n : null;
    }
    case 'bool':
      return v === true || v === 'true' || v === 1;
    case 'json':
      return v;
  }
}

export default defineFunction({
  name: 'materialize',
  table: (vars) => {
    const cols = parseColumns(vars.columns);
    return {
      primaryKey: 'id',
      columns: [{ name: 'id', type: 'string' as const }, ...cols.filter((c) => c.column !== 'id').map((c) => ({ name: c.column, type: c.type, nullable: true }))],
    };
  },
  init(ctx) {
    parseColumns(ctx.vars.columns);
    if (!ctx.table) throw new Error('materialize needs a table: deploy with --table <name>');
  },
  processBatch(records, ctx) {
    const cols = parseColumns(ctx.vars.columns).filter((c) => c.column !== 'id');
    const deleteOnNull = (ctx.vars.delete_on_null ?? 'true') !== 'false';
    for (const r of records) {
      if (r.value === null) {
        if (deleteOnNull && r.key !== null) ctx.delete(undefined, [r.keyText()!]);
        continue;
      }
      const event = eventOf(r);
      const row: Record<string, unknown> = { id: keyOf(r, event, ctx.vars.key) };
      for (const c of cols) row[c.column] = convert(getPath(event, c.path), c.type);
      ctx.upsert(undefined, [row]);
    }
    ctx.metrics.count('materialized', records.length);
  },
});
