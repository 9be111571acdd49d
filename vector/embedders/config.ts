import { isAbsolute } from 'node:path';
import { TableError } from '../errors.js';

export type Pooling = 'mean' | 'cls';

/** A local model directory in the Hugging Face layout, run with onnxruntime (never downloaded). */
export interface OnnxModelSpec {
  type: 'onnx';
  /** Absolute path of the model directory (config.json, tokenizer.json, onnx/model.onnx or model.onnx). */
  path: string;
  /** Default mean. */
  pooling?: Pooling;
  /** L2-normalise the pooled vector; default true. */
  normalize?: boolean;
  /** Texts per model call; default 32. */
  batch?: number;
}

/** An OpenAI-compatible `/v1/embeddings` endpoint. */
export interface OpenAiModelSpec {
  type: 'openai';
  /** Base URL (`/v1/embeddings` is appended) or a URL already ending in `/embeddings`. */
  url: string;
  /** Remote model name, sent as `model`. */
  name: string;
  /** Name of the environment variable holding the API key; the key itself is never stored. */
  apiKeyEnv?: string;
  /** Sent as `dimensions` (models that can shorten their output); must equal the column's dim. */
  dimensions?: number;
  /** Texts per request; default 64. */
  batch?: number;
  /** Per-request timeout; default 30000. */
  timeoutMs?: number;
  /** Retries on 429, 5xx and network errors; default 3. */
  retries?: number;
}

export type ModelSpec = OnnxModelSpec | OpenAiModelSpec;

/** What a schema's `embedder.model` holds: a built-in name (`hashing`, `use-lite`) or a spec object. */
export type EmbedderModel = string | ModelSpec;

export const DEFAULT_ONNX_BATCH = 32;
export const DEFAULT_OPENAI_BATCH = 64;
export const DEFAULT_OPENAI_TIMEOUT_MS = 30_000;
export const DEFAULT_OPENAI_RETRIES = 3;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

function fail(message: string): never {
  throw new TableError('INVALID_SCHEMA', message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(raw: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(raw)) {
    if (k === 'apiKey' || k === 'key' || k === 'token') {
      fail(`${what}: do not put the API key in the schema; set apiKeyEnv to the name of an environment variable holding it`);
    }
    if (!allowed.includes(k)) fail(`${what}: unknown property ${JSON.stringify(k)} (allowed: ${allowed.join(', ')})`);
  }
}

function optInt(v: unknown, what: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(`${what} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function validateOnnx(raw: Record<string, unknown>): OnnxModelSpec {
  const what = 'embedder.model (onnx)';
  onlyKeys(raw, ['type', 'path', 'pooling', 'normalize', 'batch'], what);
  if (typeof raw.path !== 'string' || !isAbsolute(raw.path)) {
    fail(`${what}: path must be the absolute path of a local model directory, got ${JSON.stringify(raw.path)}`);
  }
  const spec: OnnxModelSpec = { type: 'onnx', path: raw.path };
  if (raw.pooling !== undefined) {
    if (raw.pooling !== 'mean' && raw.pooling !== 'cls') fail(`${what}: pooling must be mean or cls, got ${JSON.stringify(raw.pooling)}`);
    spec.pooling = raw.pooling;
  }
  if (raw.normalize !== undefined) {
    if (typeof raw.normalize !== 'boolean') fail(`${what}: normalize must be a boolean`);
    spec.normalize = raw.normalize;
  }
  const batch = optInt(raw.batch, `${what}: batch`, 1, 4096);
  if (batch !== undefined) spec.batch = batch;
  return spec;
}

function validateOpenAi(raw: Record<string, unknown>): OpenAiModelSpec {
  const what = 'embedder.model (openai)';
  onlyKeys(raw, ['type', 'url', 'name', 'apiKeyEnv', 'dimensions', 'batch', 'timeoutMs', 'retries'], what);
  let url: URL | undefined;
  try {
    url = typeof raw.url === 'string' ? new URL(raw.url) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    fail(`${what}: url must be an http(s) URL, got ${JSON.stringify(raw.url)}`);
  }
  if (url.username || url.password) fail(`${what}: url must not carry credentials; use apiKeyEnv`);
  if (typeof raw.name !== 'string' || raw.name.length === 0) fail(`${what}: name (the remote model name) must be a non-empty string`);
  const spec: OpenAiModelSpec = { type: 'openai', url: raw.url as string, name: raw.name };
  if (raw.apiKeyEnv !== undefined) {
    if (typeof raw.apiKeyEnv !== 'string' || !ENV_NAME.test(raw.apiKeyEnv)) {
      fail(`${what}: apiKeyEnv must be the NAME of an environment variable (e.g. OPENAI_API_KEY), not the key`);
    }
    spec.apiKeyEnv = raw.apiKeyEnv;
  }
  const dimensions = optInt(raw.dimensions, `${what}: dimensions`, 1, 65_536);
  if (dimensions !== undefined) spec.dimensions = dimensions;
  const batch = optInt(raw.batch, `${what}: batch`, 1, 4096);
  if (batch !== undefined) spec.batch = batch;
  const timeoutMs = optInt(raw.timeoutMs, `${what}: timeoutMs`, 1, 600_000);
  if (timeoutMs !== undefined) spec.timeoutMs = timeoutMs;
  const retries = optInt(raw.retries, `${what}: retries`, 0, 20);
  if (retries !== undefined) spec.retries = retries;
  return spec;
}

/** Validates a schema's `embedder.model`; returns a normalised copy (throws TableError INVALID_SCHEMA). */
export function validateEmbedderModel(raw: unknown): EmbedderModel {
  if (typeof raw === 'string') {
    if (raw.length === 0) fail('embedder.model must be a non-empty string or a model object');
    return raw;
  }
  if (!isObject(raw)) fail('embedder.model must be a model name (hashing, use-lite) or an object with type onnx or openai');
  if (raw.type === 'onnx') return validateOnnx(raw);
  if (raw.type === 'openai') return validateOpenAi(raw);
  return fail(`embedder.model.type must be onnx or openai, got ${JSON.stringify(raw.type)}`);
}

/** Short human label for errors and logs (never includes secrets: the schema holds none). */
export function describeModel(model: EmbedderModel): string {
  if (typeof model === 'string') return model;
  if (model.type === 'onnx') return `onnx(${model.path})`;
  return `openai(${model.name} at ${model.url})`;
}
