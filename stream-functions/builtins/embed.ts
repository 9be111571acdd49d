// Built-in `embed`: a text field of each event -> a row with a vector column.
// vars: field (default "text"), key (event field, "$key" or "$position"; default: record key,
// else position), model (hashing | use-lite | onnx | openai, or a JSON model object as in a table
// schema; default hashing), dim (vector size; hashing default 256, onnx default config.json's
// hidden_size, openai default `dimensions`), batch (records per embedder call; default 64),
// linger_ms (time batching; default 20).
// onnx: path (absolute model directory), pooling (mean | cls), normalize (true | false).
// openai: url, model_name, api_key_env (NAME of the variable holding the key), dimensions.
import { createEmbedder, type Embedder, type EmbedderModel } from '../../vector/embedder.js';
import { validateEmbedderModel } from '../../vector/embedders/config.js';
import { inspectOnnxModelDir } from '../../vector/embedders/onnx-embedder.js';
import { USE_LITE_DIM } from '../../vector/use-lite-embedder.js';
import { defineFunction, type FnRecord, type TableSpec } from '../sdk.js';
import { eventOf, getPath, intVar, keyOf } from './fields.js';

function boolVar(vars: Readonly<Record<string, string>>, name: string): boolean | undefined {
  const raw = vars[name];
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new Error(`var ${name} must be true or false, got "${raw}"`);
}

/** The model spec from vars, in the same shape a table schema takes (validated the same way). */
function specOf(vars: Readonly<Record<string, string>>): EmbedderModel {
  const model = vars.model ?? 'hashing';
  let raw: unknown = model;
  if (model.trimStart().startsWith('{')) {
    try {
      raw = JSON.parse(model);
    } catch (err) {
      throw new Error(`var model is not valid JSON: ${(err as Error).message}`);
    }
  } else if (model === 'onnx') {
    const normalize = boolVar(vars, 'normalize');
    raw = { type: 'onnx', path: vars.path, ...(vars.pooling ? { pooling: vars.pooling } : {}), ...(normalize !== undefined ? { normalize } : {}) };
  } else if (model === 'openai') {
    const dimensions = vars.dimensions ? intVar(vars, 'dimensions', 0) : undefined;
    raw = { type: 'openai', url: vars.url, name: vars.model_name, ...(vars.api_key_env ? { apiKeyEnv: vars.api_key_env } : {}), ...(dimensions !== undefined ? { dimensions } : {}) };
  }
  try {
    return validateEmbedderModel(raw);
  } catch (err) {
    throw new Error(`embed: ${(err as Error).message}`);
  }
}

function modelOf(vars: Readonly<Record<string, string>>): { model: EmbedderModel; dim: number } {
  const model = specOf(vars);
  if (model === 'use-lite') return { model, dim: USE_LITE_DIM };
  if (typeof model === 'string') return { model, dim: intVar(vars, 'dim', 256) };
  if (vars.dim) return { model, dim: intVar(vars, 'dim', 0) };
  const known = model.type === 'onnx' ? inspectOnnxModelDir(model.path).configDim : model.dimensions;
  if (known === undefined) throw new Error(`embed: give var dim (the vector size ${model.type === 'onnx' ? 'the model produces' : 'the endpoint returns'})`);
  return { model, dim: known };
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
    embedder: { column: 'embedding', source: 'text', model: model as string | Record<string, unknown> },
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
