// Runs load jobs in worker threads, from .ts sources (under tsx) or compiled .js alike.
import { Worker } from 'node:worker_threads';
import type { Job, JobResult } from './load-jobs.js';

const here = import.meta.url;
const fromTs = here.endsWith('.ts');
const workerUrl = new URL(fromTs ? './load-worker.ts' : './load-worker.js', here).href;

function spawn(job: Job): Worker {
  if (!fromTs) return new Worker(new URL(workerUrl), { workerData: job });
  // Worker threads do not inherit tsx's loader: register it before importing the entry.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(workerUrl)}); })`;
  return new Worker(boot, { eval: true, workerData: job });
}

export function runInWorker<R extends JobResult>(job: Job): Promise<R> {
  return new Promise((resolve, reject) => {
    const w = spawn(job);
    let settled = false;
    w.once('message', (m: { ok: boolean; result?: R; error?: string }) => {
      settled = true;
      if (m.ok) resolve(m.result!);
      else reject(new Error(`load worker failed: ${m.error}`));
      void w.terminate();
    });
    w.once('error', (e) => {
      if (!settled) reject(e);
      settled = true;
    });
    w.once('exit', (code) => {
      if (!settled) reject(new Error(`load worker exited with code ${code}`));
      settled = true;
    });
  });
}
