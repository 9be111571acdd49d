// Built-in `embed`: a text field of each event -> a row with a vector column.
// vars: field (default "text"), key (event field, "$key" or "$position"; default: record key,
// else position), model (hashing | use-lite; default hashing), dim (hashing only; default 256),
// batch (records per embedder call; default 64), linger_ms (time batching; default 20).
import { createEmbedder, type Embedder } from '../../vector/embedder.js';
import { USE_LITE_DIM } from '../../vector/use-lite-embedder.js';
import { defineFunction, type FnRecord, type TableSpec } from '../sdk.js';
import { eventOf, getPath, intVar, keyOf } from './fields.js';

function modelOf(vars: Readonly<Record<string, string>>): { model: string; dim: number } {
  const model = vars.model ?? 'hashing';
  const dim = model === 'use-lite' ? USE_LITE_DIM : intVar(vars, 'dim', 256);
  return { model, dim };
}

export function embedTableSpec(vars: Readonly<Record<string, string>>): TableSpec {
  const { model, dim } = modelOf(vars);
  return {
    primaryKey: 'id',
    columns: [
      { name: 'id', type: 'string' },
      { name: 'text', type: 'string' },
      { name: 'topic', type: 'string' },
      { name: 'partition', type: 'int' },
      { name: 'offset', type: 'int' },
      { name: 'ts', type: 'int' },
      { name: 'event', type: 'json', nullable: true },
    ],
    vectors: [{ name: 'embedding', dim, metric: 'cosine' }],
    embedder: { column: 'embedding', source: 'text', model },
  };
}

let embedder: Embedder | undefined;

export default defineFunction({
  name: 'embed',
  table: embedTableSpec,
  batch: (vars) => ({ maxRecords: intVar(vars, 'max_batch', 256), lingerMs: intVar(vars, 'linger_ms', 20, 0) }),
  init(ctx) {
    const { model, dim } = modelOf(ctx.vars);
    embedder = createEmbedder(model, dim);
    if (!ctx.table) throw new Error('embed needs a table: deploy with --table <name>');
  },
  async processBatch(records: FnRecord[], ctx) {
    const field = ctx.vars.field ?? 'text';
    const chunk = intVar(ctx.vars, 'batch', 64);
    const rows: Array<Record<string, unknown>> = [];
    for (const r of records) {
      const event = eventOf(r);
      const v = getPath(event, field);
      if (typeof v !== 'string' || v.length === 0) throw new Error(`event at ${r.topic}/${r.partition}@${r.offset} has no text field "${field}"`);
      rows.push({ id: keyOf(r, event, ctx.vars.key), text: v, topic: r.topic, partition: r.partition, offset: r.offset, ts: r.timestamp, event });
    }
    for (let i = 0; i < rows.length; i += chunk) {
      const part = rows.slice(i, i + chunk);
      const vecs = await embedder!.embed(part.map((p) => p.text as string));
      // Float32Array clones to the main thread far cheaper than number[].
      part.forEach((p, j) => (p.embedding = vecs[j]!));
    }
    ctx.upsert(undefined, rows);
    ctx.metrics.count('embedded', rows.length);
    for (const o of ctx.outputs) for (const row of rows) ctx.emit(o, { key: row.id as string, value: { id: row.id, text: row.text, topic: row.topic, partition: row.partition, offset: row.offset } });
  },
});
