// The ONNX embedder on a tiny but real model made here: a BERT-style WordPiece tokenizer and an
// ONNX graph (word + token-type embedding lookup) written with protobufjs, run by
// @huggingface/transformers + onnxruntime-node in a worker thread. No model can be downloaded here.
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbedder } from '../../vector/embedder.js';
import { closeOnnxWorkers, OnnxEmbedder } from '../../vector/embedders/onnx-embedder.js';
import type { OnnxModelSpec } from '../../vector/embedders/config.js';
import { validateSchema } from '../../vector/schema.js';
import { TableStore } from '../../vector/store.js';
import { runtimeFor } from '../../stream-functions/runtime.js';
import { produce, waitFor } from '../functions/helpers.js';
import { startTestNode } from '../http/helpers.js';
import { rng, tempDir } from './helpers.js';

// Just the ONNX message types the graph needs (field numbers from onnx.proto).
const ONNX_PROTO = `
syntax = "proto3";
package onnx;
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
message TensorProto { repeated int64 dims = 1; int32 data_type = 2; repeated float float_data = 4; string name = 8; }
message Dimension { int64 dim_value = 1; string dim_param = 2; }
message TensorShapeProto { repeated Dimension dim = 1; }
message TensorTypeProto { int32 elem_type = 1; TensorShapeProto shape = 2; }
message TypeProto { TensorTypeProto tensor_type = 1; }
message ValueInfoProto { string name = 1; TypeProto type = 2; }
message NodeProto { repeated string input = 1; repeated string output = 2; string name = 3; string op_type = 4; }
message GraphProto { repeated NodeProto node = 1; string name = 2; repeated TensorProto initializer = 5; repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12; }
message ModelProto { int64 ir_version = 1; string producer_name = 2; GraphProto graph = 7; repeated OperatorSetIdProto opset_import = 8; }
`;
const FLOAT = 1;
const INT64 = 7;

const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const WORDS = ['the', 'a', 'cat', 'dog', '##s', 'sat', 'on', 'mat', 'sofa', 'stock', 'market', 'price', 'fell', 'rose', 'sharp', '##ly', 'today'];
const VOCAB = [...SPECIAL, ...WORDS];
const D = 16;

interface TinyModel {
  E: number[][];
  T: number[];
}

function makeWeights(): TinyModel {
  const r = rng(7);
  // [PAD] gets a non-zero row on purpose: mean pooling that ignored the attention mask would show.
  const E = VOCAB.map(() => Array.from({ length: D }, () => r() * 2 - 1));
  const T = Array.from({ length: D }, () => (r() * 2 - 1) * 0.1);
  return { E, T };
}

function writeTinyModel(dir: string, m: TinyModel, opts: { hiddenSize?: boolean; rootOnnx?: boolean } = {}): void {
  const vi = (name: string, elem: number, shape: Array<string | number>) => ({
    name,
    type: { tensor_type: { elem_type: elem, shape: { dim: shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  });
  const Model = protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  const model = {
    ir_version: 8,
    producer_name: 'floe-test',
    opset_import: [{ domain: '', version: 17 }],
    graph: {
      name: 'tiny-bert',
      node: [
        { op_type: 'Gather', input: ['word_emb', 'input_ids'], output: ['w'], name: 'words' },
        { op_type: 'Gather', input: ['type_emb', 'token_type_ids'], output: ['t'], name: 'types' },
        { op_type: 'Add', input: ['w', 't'], output: ['last_hidden_state'], name: 'sum' },
      ],
      initializer: [
        { name: 'word_emb', data_type: FLOAT, dims: [VOCAB.length, D], float_data: m.E.flat() },
        { name: 'type_emb', data_type: FLOAT, dims: [2, D], float_data: [...m.T, ...m.T.map((x) => -x)] },
      ],
      input: [vi('input_ids', INT64, ['batch', 'seq']), vi('attention_mask', INT64, ['batch', 'seq']), vi('token_type_ids', INT64, ['batch', 'seq'])],
      output: [vi('last_hidden_state', FLOAT, ['batch', 'seq', D])],
    },
  };
  const err = Model.verify(model);
  if (err) throw new Error(err);
  const onnxDir = opts.rootOnnx ? dir : join(dir, 'onnx');
  mkdirSync(onnxDir, { recursive: true });
  writeFileSync(join(onnxDir, 'model.onnx'), Model.encode(Model.fromObject(model)).finish());
  const config: Record<string, unknown> = { model_type: 'bert', architectures: ['BertModel'], vocab_size: VOCAB.length };
  if (opts.hiddenSize !== false) config.hidden_size = D;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ tokenizer_class: 'BertTokenizer', do_lower_case: true, model_max_length: 64, pad_token: '[PAD]', unk_token: '[UNK]', cls_token: '[CLS]', sep_token: '[SEP]', mask_token: '[MASK]' }),
  );
  const id = (t: string) => VOCAB.indexOf(t);
  const cls = { SpecialToken: { id: '[CLS]', type_id: 0 } };
  const sep = (type_id: number) => ({ SpecialToken: { id: '[SEP]', type_id } });
  writeFileSync(
    join(dir, 'tokenizer.json'),
    JSON.stringify({
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: SPECIAL.map((content) => ({ id: id(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
      normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [cls, { Sequence: { id: 'A', type_id: 0 } }, sep(0)],
        pair: [cls, { Sequence: { id: 'A', type_id: 0 } }, sep(0), { Sequence: { id: 'B', type_id: 1 } }, sep(1)],
        special_tokens: { '[CLS]': { id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]'] } },
      },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(VOCAB.map((w, i) => [w, i])) },
    }),
  );
}

/** Independent WordPiece: lower-case, split words and punctuation, greedy longest match. */
function tokenIds(text: string): number[] {
  const ids = [VOCAB.indexOf('[CLS]')];
  for (const word of text.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? []) {
    const pieces: number[] = [];
    let start = 0;
    while (start < word.length) {
      let end = word.length;
      let found = -1;
      while (end > start) {
        const piece = (start > 0 ? '##' : '') + word.slice(start, end);
        found = VOCAB.indexOf(piece);
        if (found >= 0) break;
        end--;
      }
      if (found < 0) {
        pieces.length = 0;
        pieces.push(VOCAB.indexOf('[UNK]'));
        break;
      }
      pieces.push(found);
      start = end;
    }
    ids.push(...pieces);
  }
  ids.push(VOCAB.indexOf('[SEP]'));
  return ids;
}

function normalize(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}

/** What the model + mean pooling + L2 normalisation must give, computed without the library. */
function expectedMean(m: TinyModel, text: string): number[] {
  const ids = tokenIds(text);
  const sum = new Array<number>(D).fill(0);
  for (const id of ids) for (let j = 0; j < D; j++) sum[j]! += m.E[id]![j]! + m.T[j]!;
  return normalize(sum.map((x) => x / ids.length));
}

function cos(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    s += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return s / Math.sqrt(na * nb);
}

function expectClose(actual: ArrayLike<number>, expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i]!, 5);
}

const weights = makeWeights();
let tmp: ReturnType<typeof tempDir>;
let modelDir: string;

beforeAll(() => {
  tmp = tempDir('floe-onnx-');
  modelDir = join(tmp.dir, 'tiny-bert');
  writeTinyModel(modelDir, weights);
});

afterAll(async () => {
  await closeOnnxWorkers();
  tmp.cleanup();
});

describe('onnx embedder', () => {
  it('tokenises like the reference, and mean pooling + normalize give the independently computed vectors', async () => {
    expect(tokenIds('The cats sat!')).toEqual([2, 5, 7, 9, 10, 1, 3]);
    const e = new OnnxEmbedder({ type: 'onnx', path: modelDir }, D);
    expect(e.dim).toBe(D);
    // Different lengths in one batch: padding must be masked out of the mean.
    const texts = ['the cat sat on the mat', 'dogs', 'stock market prices fell sharply today', 'a cat'];
    const vecs = await e.embed(texts);
    expect(vecs).toHaveLength(texts.length);
    texts.forEach((t, i) => expectClose(vecs[i]!, expectedMean(weights, t)));
    for (const v of vecs) expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    expect(await e.embed([])).toEqual([]);
  });

  it('splits big inputs into model batches and keeps their order', async () => {
    const e = createEmbedder({ type: 'onnx', path: modelDir, batch: 2 }, D);
    const texts = ['the cat', 'the dog', 'stock price', 'price rose', 'the mat'];
    const vecs = await e.embed(texts);
    texts.forEach((t, i) => expectClose(vecs[i]!, expectedMean(weights, t)));
  });

  it('cls pooling without normalisation returns the first token state', async () => {
    const e = new OnnxEmbedder({ type: 'onnx', path: modelDir, pooling: 'cls', normalize: false }, D);
    const [a, b] = await e.embed(['the cat sat', 'stock market']);
    const clsState = weights.E[VOCAB.indexOf('[CLS]')]!.map((x, j) => x + weights.T[j]!);
    expectClose(a!, clsState);
    expectClose(b!, clsState);
  });

  it('puts similar texts closer than unrelated ones', async () => {
    const e = new OnnxEmbedder({ type: 'onnx', path: modelDir }, D);
    const [q, near, far] = await e.embed(['the cat sat on the mat', 'a cat sat on a mat', 'stock market prices fell sharply']);
    expect(cos(q!, near!)).toBeGreaterThan(cos(q!, far!));
  });

  it('finds model.onnx at the directory root too', async () => {
    const dir = join(tmp.dir, 'root-layout');
    writeTinyModel(dir, weights, { rootOnnx: true });
    const [v] = await new OnnxEmbedder({ type: 'onnx', path: dir }, D).embed(['the dog sat']);
    expectClose(v!, expectedMean(weights, 'the dog sat'));
  });

  it('checks the dimension against config.json and against the real model output', async () => {
    expect(() => createEmbedder({ type: 'onnx', path: modelDir }, D + 1)).toThrow(/config.json says the model produces 16-d vectors, column has dim 17/);
    // Without hidden_size in config.json only the model's output can tell.
    const dir = join(tmp.dir, 'no-hidden-size');
    writeTinyModel(dir, weights, { hiddenSize: false });
    const wrong = createEmbedder({ type: 'onnx', path: dir }, 8);
    await expect(wrong.embed(['the cat'])).rejects.toThrow(/produces 16-d vectors, column has dim 8/);
    const right = createEmbedder({ type: 'onnx', path: dir }, D);
    expect((await right.embed(['the cat']))[0]!.length).toBe(D);
  });

  it('never downloads: missing directories and files are clear errors, and remote models are off in the worker', async () => {
    expect(() => new OnnxEmbedder({ type: 'onnx', path: join(tmp.dir, 'nope') }, D)).toThrow(/does not exist \(models are never downloaded/);
    const partial = join(tmp.dir, 'partial');
    mkdirSync(partial);
    writeFileSync(join(partial, 'config.json'), '{}');
    expect(() => new OnnxEmbedder({ type: 'onnx', path: partial }, D)).toThrow(/has no tokenizer.json/);
    writeFileSync(join(partial, 'tokenizer.json'), '{}');
    writeFileSync(join(partial, 'tokenizer_config.json'), '{}');
    expect(() => new OnnxEmbedder({ type: 'onnx', path: partial }, D)).toThrow(/neither onnx\/model.onnx nor model.onnx/);

    // The directory name is a valid hub model id, so with remote models on, transformers would
    // try the hub for the file that went missing after the check; here it must refuse instead.
    const vanishing = join(tmp.dir, 'vanishing');
    cpSync(modelDir, vanishing, { recursive: true });
    const e = new OnnxEmbedder({ type: 'onnx', path: vanishing, pooling: 'cls' }, D);
    rmSync(join(vanishing, 'onnx'), { recursive: true });
    await expect(e.embed(['the cat'])).rejects.toThrow(/allowRemoteModels=false/);
  });
});

describe('tables with an onnx embedder', () => {
  let store: TableStore;
  let dataDir: ReturnType<typeof tempDir>;
  beforeAll(() => {
    dataDir = tempDir();
    store = new TableStore({ dataDir: dataDir.dir, workers: 1 });
  });
  afterAll(async () => {
    await store.close();
    dataDir.cleanup();
  });

  it('validates the model object in the schema', async () => {
    const base = { name: 'x', primaryKey: 'id', columns: [{ name: 'id', type: 'int' }, { name: 'body', type: 'string' }], vectors: [{ name: 'emb', dim: D, metric: 'cosine' }] };
    const s = validateSchema({ ...base, embedder: { column: 'emb', source: 'body', model: { type: 'onnx', path: modelDir, pooling: 'mean' } } });
    expect(s.embedder!.model).toEqual({ type: 'onnx', path: modelDir, pooling: 'mean' });
    const bad: Array<[unknown, RegExp]> = [
      [{ type: 'onnx', path: 'relative/dir' }, /absolute path/],
      [{ type: 'onnx', path: modelDir, pooling: 'max' }, /pooling must be mean or cls/],
      [{ type: 'onnx', path: modelDir, normalize: 'yes' }, /normalize must be a boolean/],
      [{ type: 'onnx', path: modelDir, device: 'gpu' }, /unknown property "device"/],
      [{ type: 'tfjs' }, /type must be onnx or openai/],
      [42, /model name .* or an object/],
    ];
    for (const [model, re] of bad) expect(() => validateSchema({ ...base, embedder: { column: 'emb', source: 'body', model } })).toThrow(re);
    expect(() => validateSchema({ ...base, embedder: { column: 'emb', source: 'body', model: 'onnx', path: modelDir } })).toThrow(/model options go inside embedder.model/);
    await expect(store.create({ ...base, name: 'missing', embedder: { column: 'emb', source: 'body', model: { type: 'onnx', path: join(tmp.dir, 'absent') } } })).rejects.toThrow(/does not exist/);
    await expect(store.create({ ...base, name: 'wrongdim', vectors: [{ name: 'emb', dim: 4, metric: 'cosine' }], embedder: { column: 'emb', source: 'body', model: { type: 'onnx', path: modelDir } } })).rejects.toThrow(/16-d vectors, column has dim 4/);
  });

  it('embeds rows on write and answers text search with the same model', async () => {
    const t = await store.create({
      name: 'notes',
      primaryKey: 'id',
      columns: [
        { name: 'id', type: 'int' },
        { name: 'body', type: 'string' },
      ],
      vectors: [{ name: 'emb', dim: D, metric: 'cosine' }],
      embedder: { column: 'emb', source: 'body', model: { type: 'onnx', path: modelDir } },
    });
    await t.upsert([
      { id: 1, body: 'the cat sat on the mat' },
      { id: 2, body: 'stock market prices fell sharply today' },
      { id: 3, body: 'the dog sat on the sofa' },
    ]);
    const stored = await t.get(2, true);
    expectClose(stored!.emb as number[], expectedMean(weights, 'stock market prices fell sharply today'));
    const hits = await t.search({ text: 'market prices fell', k: 3 });
    expect(hits[0]!.key).toBe(2);
    const catHits = await t.search({ text: 'a cat on a mat', k: 1 });
    expect(catHits[0]!.key).toBe(1);
    expect(catHits[0]!.score).toBeCloseTo(cos(expectedMean(weights, 'a cat on a mat'), expectedMean(weights, 'the cat sat on the mat')), 4);
  });
});

describe('the embed built-in with an onnx model', () => {
  it('runs the model from inside a function worker, fills its table, and the table searches by text', async () => {
    const n = await startTestNode();
    try {
      const rt = runtimeFor(n.node.broker)!;
      await n.node.broker.topics.create({ name: 'notes-in', partitions: 1, replicationFactor: -1, configs: {} });
      await rt.deploy({ name: 'embed-notes', builtin: 'embed', inputs: ['notes-in'], table: 'onnx_notes', vars: { field: 'body', key: 'id', model: 'onnx', path: modelDir, pooling: 'mean' } });
      const table = await n.node.tables.table('onnx_notes');
      // The dimension came from config.json, the model spec went into the table's schema.
      expect(table.describe().vectors[0]!.dim).toBe(D);
      expect(table.describe().embedder!.model).toEqual({ type: 'onnx', path: modelDir, pooling: 'mean' });
      await produce(n.node.broker, 'notes-in', [
        { value: { id: 'n1', body: 'the cat sat on the mat' } },
        { value: { id: 'n2', body: 'stock market prices fell sharply today' } },
        { value: { id: 'n3', body: 'the dog sat on the sofa' } },
      ]);
      await waitFor('three embedded rows', () => table.stats().rows === 3);
      const row = await table.get('n2', true);
      expectClose(row!.embedding as number[], expectedMean(weights, 'stock market prices fell sharply today'));
      const hits = await table.search({ text: 'market prices rose', k: 1 });
      expect(hits[0]!.key).toBe('n2');
      await expect(rt.deploy({ name: 'embed-bad', builtin: 'embed', inputs: ['notes-in'], table: 'onnx_bad', vars: { model: 'onnx', path: join(tmp.dir, 'absent') } })).rejects.toThrow(/does not exist/);
    } finally {
      await n.close();
    }
  });
});
