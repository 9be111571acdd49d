import { describeModel, type EmbedderModel } from './embedders/config.js';
import { OnnxEmbedder } from './embedders/onnx-embedder.js';
import { OpenAiEmbedder } from './embedders/openai-embedder.js';
import { TableError } from './errors.js';
import { UseLiteEmbedder, USE_LITE_DIM } from './use-lite-embedder.js';

export type { EmbedderModel, ModelSpec, OnnxModelSpec, OpenAiModelSpec, Pooling } from './embedders/config.js';

export interface Embedder {
  readonly dim: number;
  embed(texts: string[]): Promise<Float32Array[]>;
}

export type EmbedderFactory = (dim: number) => Embedder;

/** FNV-1a, 32 bit: stable across processes and platforms, which the index relies on. */
function fnv1a(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const TOKEN = /[\p{L}\p{N}]+/gu;

/**
 * Deterministic feature-hashing embedder (no model): lower-cased word unigrams and bigrams hashed
 * into `dim` signed buckets, then L2-normalised. Texts sharing words land close under cosine/ip.
 */
export class HashingEmbedder implements Embedder {
  constructor(readonly dim: number) {
    if (!Number.isInteger(dim) || dim < 1) throw new TableError('INVALID_SCHEMA', `hashing embedder: bad dim ${dim}`);
  }

  embedOne(text: string): Float32Array {
    const v = new Float32Array(this.dim);
    const tokens = text.toLowerCase().match(TOKEN) ?? [];
    const add = (feature: string, weight: number): void => {
      const h = fnv1a(feature, 0);
      // A second hash picks the sign so collisions cancel out on average instead of piling up.
      const sign = fnv1a(feature, 0x9e3779b9) & 1 ? 1 : -1;
      v[h % this.dim]! += sign * weight;
    };
    for (let i = 0; i < tokens.length; i++) {
      add(tokens[i]!, 1);
      if (i + 1 < tokens.length) add(`${tokens[i]!}\u0001${tokens[i + 1]!}`, 0.5);
    }
    let norm = 0;
    for (let i = 0; i < v.length; i++) norm += v[i]! * v[i]!;
    if (norm > 0) {
      const inv = 1 / Math.sqrt(norm);
      for (let i = 0; i < v.length; i++) v[i]! *= inv;
    }
    return v;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    return texts.map((t) => this.embedOne(t));
  }
}

const builtins: Record<string, EmbedderFactory> = {
  hashing: (dim) => new HashingEmbedder(dim),
  'use-lite': (dim) => {
    if (dim !== USE_LITE_DIM) {
      throw new TableError('INVALID_SCHEMA', `model use-lite produces ${USE_LITE_DIM}-d vectors, column has dim ${dim}`);
    }
    return new UseLiteEmbedder();
  },
};

/**
 * Resolves a schema's embedder model: a name (built-in, or registered by the host in `extra`) or
 * an onnx/openai spec object (already validated by the schema).
 */
export function createEmbedder(model: EmbedderModel, dim: number, extra: Record<string, EmbedderFactory> = {}): Embedder {
  let e: Embedder;
  if (typeof model === 'string') {
    const factory = extra[model] ?? builtins[model];
    if (!factory) {
      throw new TableError('INVALID_SCHEMA', `unknown embedder model ${JSON.stringify(model)} (known: ${[...Object.keys(builtins), ...Object.keys(extra)].join(', ')}, or an object with type onnx or openai)`);
    }
    e = factory(dim);
  } else if (model.type === 'onnx') {
    e = new OnnxEmbedder(model, dim);
  } else if (model.type === 'openai') {
    e = new OpenAiEmbedder(model, dim);
  } else {
    throw new TableError('INVALID_SCHEMA', `unknown embedder model type ${JSON.stringify((model as { type?: unknown }).type)}`);
  }
  if (e.dim !== dim) throw new TableError('INVALID_SCHEMA', `embedder ${describeModel(model)} produces dim ${e.dim}, column has dim ${dim}`);
  return e;
}
