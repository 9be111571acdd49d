import type { MessagePort } from 'node:worker_threads';
import type { Metric } from './schema.js';

/** Messages between the main thread and an ANN worker; `id` names one index inside the worker. */
export type AnnRequest =
  | { op: 'init'; id: string; space: Metric; dim: number; m: number; efConstruction: number; capacity: number; seed: number }
  | { op: 'load'; id: string; space: Metric; dim: number; path: string }
  | { op: 'add'; id: string; labels: Float64Array; data: Float32Array }
  | { op: 'delete'; id: string; labels: number[] }
  | { op: 'search'; id: string; query: Float32Array; k: number; ef: number; limit: number; allow?: Uint8Array }
  | { op: 'write'; id: string; path: string }
  | { op: 'drop'; id: string }
  | { op: 'stats'; id: string };

export interface AnnSearchResult {
  labels: number[];
  distances: number[];
}

export interface AnnStats {
  count: number;
  capacity: number;
}

export interface AnnEnvelope {
  seq: number;
  req: AnnRequest;
}

export type AnnReply = { seq: number; ok: true; result: unknown } | { seq: number; ok: false; error: string };

/**
 * How requests reach a worker: 'post' = worker.postMessage (one event-loop turn in the worker per
 * request); 'shared' = a MessagePort drained synchronously by a worker sleeping on a shared doorbell.
 */
export type AnnChannel = 'post' | 'shared';

/** workerData of a 'shared'-channel worker: bell[0] is bumped after every request posted to `port`. */
export interface AnnWorkerData {
  bell: SharedArrayBuffer;
  port: MessagePort;
}
