import { cpus } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, Worker, type MessagePort, type WorkerOptions } from 'node:worker_threads';
import type { AnnChannel, AnnEnvelope, AnnReply, AnnRequest, AnnSearchResult, AnnStats, AnnWorkerData } from './ann-protocol.js';
import type { Metric } from './schema.js';

function startWorker(options: WorkerOptions): Worker {
  const here = fileURLToPath(import.meta.url);
  if (!here.endsWith('.ts')) return new Worker(join(dirname(here), 'ann-worker.js'), options);
  // Running from source (tests, tsx): register tsx's loader inside the worker before importing it.
  const tsxDir = dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const api = pathToFileURL(join(tsxDir, 'dist/esm/api/index.mjs')).href;
  const entry = pathToFileURL(join(dirname(here), 'ann-worker.ts')).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { ...options, eval: true });
}

/** `FLOE_ANN_CHANNEL=shared` selects the SharedArrayBuffer doorbell channel (for A/B measurements). */
export function defaultAnnChannel(): AnnChannel {
  // postMessage stays the default: same-run A/B runs did not show the shared doorbell faster.
  return process.env.FLOE_ANN_CHANNEL === 'shared' ? 'shared' : 'post';
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
  /** 'shared' channel: requests go through this port and the worker is woken through `bell`. */
  private readonly port: MessagePort | undefined;
  private readonly bell: Int32Array | undefined;

  constructor(readonly channel: AnnChannel = defaultAnnChannel()) {
    if (channel === 'shared') {
      // The worker sleeps in Atomics.wait and drains the port synchronously when the bell rings:
      // no event-loop turn and no 'message' event dispatch in the worker per request.
      const { port1, port2 } = new MessageChannel();
      const bell = new SharedArrayBuffer(4);
      this.port = port1;
      this.bell = new Int32Array(bell);
      const workerData: AnnWorkerData = { bell, port: port2 };
      this.worker = startWorker({ workerData, transferList: [port2] });
    } else {
      this.worker = startWorker({});
    }
    this.worker.unref();
    const onReply = (reply: AnnReply): void => {
      const p = this.pending.get(reply.seq);
      if (!p) return;
      this.pending.delete(reply.seq);
      if (this.pending.size === 0) this.unrefAll();
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new Error(reply.error));
    };
    // Replies come back on the same port (skips the Worker object's own message forwarding).
    if (this.port) this.port.on('message', onReply);
    else this.worker.on('message', onReply);
    this.unrefAll();
    const die = (err: Error): void => {
      this.dead ??= err;
      for (const p of this.pending.values()) p.reject(this.dead);
      this.pending.clear();
      // A listening port keeps the process alive: nothing will answer on it any more.
      this.port?.close();
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`ann worker exited with code ${code}`)));
  }

  private refAll(): void {
    this.worker.ref();
    this.port?.ref();
  }

  private unrefAll(): void {
    this.worker.unref();
    this.port?.unref();
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  call<T>(req: AnnRequest, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      // Keep the process alive only while an answer is owed.
      if (this.pending.size === 0) this.refAll();
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      const env: AnnEnvelope = { seq, req };
      if (this.port && this.bell) {
        this.port.postMessage(env, transfer);
        Atomics.add(this.bell, 0, 1);
        Atomics.notify(this.bell, 0, 1);
      } else {
        this.worker.postMessage(env, transfer);
      }
    });
  }

  async terminate(): Promise<void> {
    this.port?.close();
    await this.worker.terminate();
  }
}

/** A fixed set of worker threads; each index lives on one of them. */
export class AnnPool {
  private readonly workers: AnnWorker[] = [];
  private next = 0;
  private counter = 0;

  constructor(size = Math.max(1, Math.min(4, cpus().length)), channel: AnnChannel = defaultAnnChannel()) {
    for (let i = 0; i < size; i++) this.workers.push(new AnnWorker(channel));
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
