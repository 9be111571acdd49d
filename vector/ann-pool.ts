import { cpus } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { AnnEnvelope, AnnReply, AnnRequest, AnnSearchResult, AnnStats } from './ann-protocol.js';
import type { Metric } from './schema.js';

function startWorker(): Worker {
  const here = fileURLToPath(import.meta.url);
  if (!here.endsWith('.ts')) return new Worker(join(dirname(here), 'ann-worker.js'));
  // Running from source (tests, tsx): register tsx's loader inside the worker before importing it.
  const tsxDir = dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const api = pathToFileURL(join(tsxDir, 'dist/esm/api/index.mjs')).href;
  const entry = pathToFileURL(join(dirname(here), 'ann-worker.ts')).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { eval: true });
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** One worker thread; requests are answered strictly in the order they were posted. */
export class AnnWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private dead: Error | undefined;

  constructor() {
    this.worker = startWorker();
    this.worker.unref();
    this.worker.on('message', (reply: AnnReply) => {
      const p = this.pending.get(reply.seq);
      if (!p) return;
      this.pending.delete(reply.seq);
      if (this.pending.size === 0) this.worker.unref();
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new Error(reply.error));
    });
    const die = (err: Error): void => {
      this.dead ??= err;
      for (const p of this.pending.values()) p.reject(this.dead);
      this.pending.clear();
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`ann worker exited with code ${code}`)));
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  call<T>(req: AnnRequest, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      // Keep the process alive only while an answer is owed.
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      const env: AnnEnvelope = { seq, req };
      this.worker.postMessage(env, transfer);
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

/** A fixed set of worker threads; each index lives on one of them. */
export class AnnPool {
  private readonly workers: AnnWorker[] = [];
  private next = 0;
  private counter = 0;

  constructor(size = Math.max(1, Math.min(4, cpus().length))) {
    for (let i = 0; i < size; i++) this.workers.push(new AnnWorker());
  }

  get size(): number {
    return this.workers.length;
  }

  /** Places a new index on the next worker (round robin). */
  place(name: string): AnnIndex {
    const w = this.workers[this.next++ % this.workers.length]!;
    return new AnnIndex(w, `${name}#${++this.counter}`);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Main-thread handle of one hnswlib index living in a worker. */
export class AnnIndex {
  constructor(
    private readonly worker: AnnWorker,
    readonly id: string,
  ) {}

  init(space: Metric, dim: number, m: number, efConstruction: number, capacity: number, seed = 100): Promise<void> {
    return this.worker.call({ op: 'init', id: this.id, space, dim, m, efConstruction, capacity, seed });
  }

  load(space: Metric, dim: number, path: string): Promise<void> {
    return this.worker.call({ op: 'load', id: this.id, space, dim, path });
  }

  /** `data` holds labels.length vectors back to back; both buffers are transferred. */
  add(labels: Float64Array, data: Float32Array): Promise<void> {
    return this.worker.call({ op: 'add', id: this.id, labels, data }, [labels.buffer as ArrayBuffer, data.buffer as ArrayBuffer]);
  }

  delete(labels: number[]): Promise<void> {
    return this.worker.call({ op: 'delete', id: this.id, labels });
  }

  /** Only labels below `limit` (and set in `allow`, if given) can be returned. */
  search(query: Float32Array, k: number, ef: number, limit: number, allow?: Uint8Array): Promise<AnnSearchResult> {
    const req: AnnRequest = { op: 'search', id: this.id, query, k, ef, limit };
    if (allow) req.allow = allow;
    return this.worker.call(req);
  }

  write(path: string): Promise<void> {
    return this.worker.call({ op: 'write', id: this.id, path });
  }

  drop(): Promise<void> {
    return this.worker.call({ op: 'drop', id: this.id });
  }

  stats(): Promise<AnnStats> {
    return this.worker.call({ op: 'stats', id: this.id });
  }
}
