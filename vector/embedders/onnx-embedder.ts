import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { TableError } from '../errors.js';
import { DEFAULT_ONNX_BATCH, type OnnxModelSpec } from './config.js';
import type { OnnxReply, OnnxRequest, OnnxWorkerInit } from './onnx-protocol.js';
import { spawnSiblingWorker } from './spawn-worker.js';

export interface OnnxModelFiles {
  root: string;
  id: string;
  subfolder: 'onnx' | '';
  /** hidden_size (or d_model / dim) from config.json, when it has one. */
  configDim: number | undefined;
}

function invalid(message: string): never {
  throw new TableError('INVALID_SCHEMA', message);
}

/**
 * Checks a model directory synchronously so a bad path fails table creation (HTTP 400), not the
 * first write: config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx or model.onnx.
 */
export function inspectOnnxModelDir(path: string): OnnxModelFiles {
  const dir = resolve(path);
  const what = `onnx model directory ${dir}`;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) invalid(`${what} does not exist (models are never downloaded: put the files there first)`);
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) {
    if (!existsSync(join(dir, f))) invalid(`${what} has no ${f}`);
  }
  let subfolder: 'onnx' | '';
  if (existsSync(join(dir, 'onnx', 'model.onnx'))) subfolder = 'onnx';
  else if (existsSync(join(dir, 'model.onnx'))) subfolder = '';
  else invalid(`${what} has neither onnx/model.onnx nor model.onnx`);
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  } catch (err) {
    invalid(`${what}: config.json is not valid JSON: ${(err as Error).message}`);
  }
  const hidden = config.hidden_size ?? config.d_model ?? config.dim;
  return { root: dirname(dir), id: basename(dir), subfolder, configDim: typeof hidden === 'number' ? hidden : undefined };
}

interface Pending {
  resolve: (r: Extract<OnnxReply, { ok: true }>) => void;
  reject: (e: Error) => void;
}

/** One worker thread per (model directory, pooling, normalize); shared by every embedder using it. */
class OnnxHost {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private loaded: Promise<number> | undefined;

  constructor(
    private readonly init: OnnxWorkerInit,
    private readonly label: string,
  ) {}

  private start(): Worker {
    const w = spawnSiblingWorker(import.meta.url, 'onnx-worker', this.init);
    w.unref();
    w.on('message', (reply: OnnxReply) => {
      const p = this.pending.get(reply.seq);
      if (!p) return;
      this.pending.delete(reply.seq);
      if (this.pending.size === 0) w.unref();
      if (reply.ok) p.resolve(reply);
      else p.reject(new TableError('EMBEDDER_UNAVAILABLE', `${this.label}: ${reply.error}`));
    });
    const die = (err: Error): void => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.loaded = undefined;
      const e = new TableError('EMBEDDER_UNAVAILABLE', `${this.label}: worker stopped: ${err.message}`);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    w.on('error', die);
    w.on('exit', (code) => die(new Error(`exit code ${code}`)));
    return w;
  }

  call(req: Omit<Extract<OnnxRequest, { op: 'embed' }>, 'seq'> | Omit<Extract<OnnxRequest, { op: 'load' }>, 'seq'>): Promise<Extract<OnnxReply, { ok: true }>> {
    this.worker ??= this.start();
    const w = this.worker;
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      // Keep the process alive only while an answer is owed.
      if (this.pending.size === 0) w.ref();
      this.pending.set(seq, { resolve, reject });
      w.postMessage({ ...req, seq });
    });
  }

  /** Loads the model once and returns the dimension it actually produces. */
  modelDim(): Promise<number> {
    if (!this.loaded) {
      const p = this.call({ op: 'load' }).then((r) => r.dim);
      this.loaded = p;
      p.catch(() => {
        if (this.loaded === p) this.loaded = undefined;
      });
    }
    return this.loaded;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.loaded = undefined;
    if (w) await w.terminate();
  }
}

const hosts = new Map<string, OnnxHost>();

/** Stops every ONNX worker (tests, shutdown); the next embed starts them again. */
export async function closeOnnxWorkers(): Promise<void> {
  const all = [...hosts.values()];
  hosts.clear();
  await Promise.all(all.map((h) => h.close()));
}

/**
 * Embeds with a local ONNX model through @huggingface/transformers in a worker thread. Remote
 * models are disabled there, so a missing file is an error and never a download.
 */
export class OnnxEmbedder {
  readonly dim: number;
  private readonly host: OnnxHost;
  private readonly batch: number;
  private readonly label: string;

  constructor(spec: OnnxModelSpec, dim: number) {
    const files = inspectOnnxModelDir(spec.path);
    this.label = `onnx embedder ${join(files.root, files.id)}`;
    if (files.configDim !== undefined && files.configDim !== dim) {
      invalid(`${this.label}: config.json says the model produces ${files.configDim}-d vectors, column has dim ${dim}`);
    }
    this.dim = dim;
    this.batch = spec.batch ?? DEFAULT_ONNX_BATCH;
    const init: OnnxWorkerInit = {
      root: files.root,
      id: files.id,
      subfolder: files.subfolder,
      pooling: spec.pooling ?? 'mean',
      normalize: spec.normalize ?? true,
    };
    const key = JSON.stringify(init);
    let host = hosts.get(key);
    if (!host) {
      host = new OnnxHost(init, this.label);
      hosts.set(key, host);
    }
    this.host = host;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const modelDim = await this.host.modelDim();
    if (modelDim !== this.dim) {
      throw new TableError('EMBEDDER_UNAVAILABLE', `${this.label} produces ${modelDim}-d vectors, column has dim ${this.dim}`);
    }
    const chunks: Array<Promise<Extract<OnnxReply, { ok: true }>>> = [];
    for (let i = 0; i < texts.length; i += this.batch) chunks.push(this.host.call({ op: 'embed', texts: texts.slice(i, i + this.batch) }));
    const out: Float32Array[] = [];
    for (const r of await Promise.all(chunks)) {
      if (r.dim !== this.dim || !r.data || r.data.length !== r.count * r.dim) {
        throw new TableError('EMBEDDER_UNAVAILABLE', `${this.label} returned ${r.dim}-d vectors, column has dim ${this.dim}`);
      }
      for (let j = 0; j < r.count; j++) out.push(r.data.slice(j * r.dim, (j + 1) * r.dim));
    }
    return out;
  }
}
