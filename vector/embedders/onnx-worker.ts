// Worker thread hosting one transformers.js feature-extraction pipeline: tokenising and inference
// stay off the event loop of the broker (or of the stream-function worker) that asked.
import { parentPort, workerData } from 'node:worker_threads';
import type { OnnxReply, OnnxRequest, OnnxWorkerInit } from './onnx-protocol.js';

// An optionalDependency, imported only here and only on first use; in a variable so type-checking
// and bundling never need it.
const TRANSFORMERS_PKG = '@huggingface/transformers';

interface Tensor {
  dims: number[];
  data: ArrayLike<number>;
}
type Extractor = (texts: string[], opts: { pooling: string; normalize: boolean }) => Promise<Tensor>;
interface TransformersModule {
  env: {
    allowRemoteModels: boolean;
    allowLocalModels: boolean;
    localModelPath: string;
    useFSCache: boolean;
    useBrowserCache: boolean;
    fetch: (...args: unknown[]) => Promise<unknown>;
  };
  pipeline(task: string, model: string, opts: Record<string, unknown>): Promise<Extractor>;
}

class Unavailable extends Error {}

const init = workerData as OnnxWorkerInit;
let extractor: Promise<Extractor> | undefined;

async function load(): Promise<Extractor> {
  let tf: TransformersModule;
  try {
    tf = (await import(TRANSFORMERS_PKG)) as TransformersModule;
  } catch (err) {
    throw new Unavailable(`embedder 'onnx' needs ${TRANSFORMERS_PKG}: npm install ${TRANSFORMERS_PKG} (${(err as Error).message})`);
  }
  // Local files only: no hub lookups, no cache writes, and any fetch at all is an error.
  tf.env.allowRemoteModels = false;
  tf.env.allowLocalModels = true;
  tf.env.localModelPath = init.root.endsWith('/') ? init.root : `${init.root}/`;
  tf.env.useFSCache = false;
  tf.env.useBrowserCache = false;
  tf.env.fetch = () => Promise.reject(new Error('network access is disabled for the onnx embedder'));
  return tf.pipeline('feature-extraction', init.id, { local_files_only: true, dtype: 'fp32', device: 'cpu', subfolder: init.subfolder });
}

async function run(texts: string[]): Promise<{ dim: number; data: Float32Array }> {
  if (!extractor) {
    const loading = load();
    extractor = loading;
    // A failed load is retried on the next request (the directory may have been fixed meanwhile).
    loading.catch(() => {
      if (extractor === loading) extractor = undefined;
    });
  }
  const fn = await extractor;
  const out = await fn(texts, { pooling: init.pooling, normalize: init.normalize });
  if (out.dims.length !== 2 || out.dims[0] !== texts.length) {
    throw new Error(`model output has shape [${out.dims.join(', ')}] after ${init.pooling} pooling, expected [${texts.length}, dim]`);
  }
  return { dim: out.dims[1]!, data: out.data instanceof Float32Array ? out.data : Float32Array.from(out.data) };
}

async function handle(req: OnnxRequest): Promise<void> {
  let reply: OnnxReply;
  const transfer: ArrayBuffer[] = [];
  try {
    if (req.op === 'load') {
      const { dim } = await run(['probe']);
      reply = { seq: req.seq, ok: true, dim, count: 0, data: null };
    } else {
      const { dim, data } = await run(req.texts);
      const copy = data.slice();
      transfer.push(copy.buffer);
      reply = { seq: req.seq, ok: true, dim, count: req.texts.length, data: copy };
    }
  } catch (err) {
    reply = { seq: req.seq, ok: false, error: (err as Error).message, unavailable: err instanceof Unavailable };
  }
  parentPort!.postMessage(reply, transfer);
}

// One request at a time, in arrival order: the caller relies on replies matching its chunk order.
let queue: Promise<void> = Promise.resolve();
parentPort!.on('message', (req: OnnxRequest) => {
  queue = queue.then(() => handle(req));
});
