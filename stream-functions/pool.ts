// One piscina pool per running function version: a crash, hang or leak stays inside it.
import { createRequire } from 'node:module';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Effects, FnIdentity, ModuleRef, ProbeResult, SearchCall, SearchReply, WireRecord } from './worker-protocol.js';

export interface PoolOptions {
  threads: number;
  memoryMb: number;
  /** Extra time a task gets when it may be the first on a new thread (module load + init). */
  startupTimeoutMs: number;
  onError(err: Error): void;
}

export class TimeoutError extends Error {
  constructor(ms: number, what: string) {
    super(`${what} timed out after ${ms} ms (worker terminated)`);
    this.name = 'TimeoutError';
  }
}

let bootFile: Promise<string> | undefined;

/** The worker entry: compiled JS, or (running from source) a shim that registers tsx first. */
function workerFilename(): Promise<string> {
  const here = fileURLToPath(import.meta.url);
  if (!here.endsWith('.ts')) return Promise.resolve(join(dirname(here), 'worker.js'));
  bootFile ??= (async () => {
    const tsxDir = dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
    const api = pathToFileURL(join(tsxDir, 'dist/esm/api/index.mjs')).href;
    const entry = pathToFileURL(join(dirname(here), 'worker.ts')).href;
    const dir = join(tmpdir(), `floe-fn-boot-${process.pid}`);
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'worker-boot.mjs');
    await writeFile(file, `const { register } = await import(${JSON.stringify(api)});\nregister();\nconst m = await import(${JSON.stringify(entry)});\nexport default m.default;\n`);
    return file;
  })();
  return bootFile;
}

export type SearchHandler = (call: SearchCall) => Promise<unknown[]>;

type TransferList = NonNullable<NonNullable<Parameters<Piscina['run']>[1]>['transferList']>;

export class FunctionPool {
  /** Threads created but not yet charged a startup allowance. */
  private fresh = 0;

  private constructor(
    private readonly pool: Piscina,
    private readonly startupMs: number,
  ) {
    pool.on('workerCreate', () => this.fresh++);
  }

  static async create(opts: PoolOptions): Promise<FunctionPool> {
    const pool = new Piscina({
      filename: await workerFilename(),
      minThreads: 0,
      maxThreads: opts.threads,
      idleTimeout: 60_000,
      resourceLimits: { maxOldGenerationSizeMb: opts.memoryMb, maxYoungGenerationSizeMb: Math.max(8, Math.floor(opts.memoryMb / 8)) },
      // Surface the thread's own stderr; a worker must never bring down the broker.
      trackUnmanagedFds: true,
    });
    pool.on('error', (err: Error) => opts.onError(err));
    return new FunctionPool(pool, opts.startupTimeoutMs);
  }

  private async runWithTimeout<R>(task: object, ms: number, what: string, transferList?: TransferList): Promise<R> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), ms);
    try {
      return (await this.pool.run(task, { signal: ctl.signal, ...(transferList ? { transferList } : {}) })) as R;
    } catch (err) {
      if (ctl.signal.aborted) throw new TimeoutError(ms, what);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  probe(module: ModuleRef, fn: FnIdentity, timeoutMs: number): Promise<ProbeResult> {
    return this.runWithTimeout({ kind: 'probe', module, fn }, timeoutMs, 'startup (module load + init)');
  }

  async run(module: ModuleRef, fn: FnIdentity, records: WireRecord[], timeoutMs: number, search: SearchHandler): Promise<Effects> {
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (call: SearchCall) => {
      search(call).then(
        (hits) => port1.postMessage({ id: call.id, ok: true, hits } satisfies SearchReply),
        (err: unknown) => port1.postMessage({ id: call.id, ok: false, error: (err as Error).message ?? String(err) } satisfies SearchReply),
      );
    });
    // Not exact (piscina picks the thread), but a new thread never gets only the record budget.
    const extra = this.fresh > 0 ? (this.fresh--, this.startupMs) : 0;
    try {
      return await this.runWithTimeout<Effects>({ kind: 'run', module, fn, records, port: port2 }, timeoutMs + extra, `batch of ${records.length}`, [port2]);
    } finally {
      port1.close();
    }
  }

  async close(fn: FnIdentity): Promise<void> {
    await this.runWithTimeout({ kind: 'close', fn }, 5_000, 'close').catch(() => undefined);
    await this.pool.destroy();
  }

  get threads(): number {
    return this.pool.threads.length;
  }
}
