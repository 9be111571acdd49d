// Worker entry for exact-knn.ts: scans one slice and posts its per-query top k.
import { parentPort, workerData } from 'node:worker_threads';
import { scanSlice, type KnnSlice } from './exact-knn.js';

const out = scanSlice(workerData as KnnSlice);
parentPort?.postMessage(out, [out.buffer as ArrayBuffer]);
