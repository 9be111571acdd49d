// Worker-thread entry: runs one load job from workerData and posts its result.
import { parentPort, workerData } from 'node:worker_threads';
import { runJob, type Job } from './load-jobs.js';

runJob(workerData as Job).then(
  (result) => parentPort!.postMessage({ ok: true, result }),
  (err: Error) => parentPort!.postMessage({ ok: false, error: err.stack ?? err.message }),
);
