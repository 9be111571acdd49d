import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import hnswlib from 'hnswlib-node';
import type { HierarchicalNSW } from 'hnswlib-node';
import type { AnnEnvelope, AnnReply, AnnRequest, AnnSearchResult, AnnStats, AnnWorkerData } from './ann-protocol.js';

// Runs in a worker thread: every hnswlib call blocks, so none of them may run on the main thread.
const indexes = new Map<string, HierarchicalNSW>();

function get(id: string): HierarchicalNSW {
  const idx = indexes.get(id);
  if (!idx) throw new Error(`ann index ${id} is not loaded`);
  return idx;
}

function handle(req: AnnRequest): unknown {
  switch (req.op) {
    case 'init': {
      const idx = new hnswlib.HierarchicalNSW(req.space, req.dim);
      idx.initIndex({ maxElements: Math.max(1, req.capacity), m: req.m, efConstruction: req.efConstruction, randomSeed: req.seed });
      indexes.set(req.id, idx);
      return null;
    }
    case 'load': {
      const idx = new hnswlib.HierarchicalNSW(req.space, req.dim);
      idx.readIndexSync(req.path);
      indexes.set(req.id, idx);
      return null;
    }
    case 'add': {
      const idx = get(req.id);
      const n = req.labels.length;
      const dim = idx.getNumDimensions();
      const need = idx.getCurrentCount() + n;
      if (need > idx.getMaxElements()) idx.resizeIndex(Math.max(need, idx.getMaxElements() * 2));
      for (let i = 0; i < n; i++) {
        idx.addPoint(Array.from(req.data.subarray(i * dim, (i + 1) * dim)), req.labels[i]!);
      }
      return null;
    }
    case 'delete': {
      const idx = get(req.id);
      for (const label of req.labels) {
        try {
          idx.markDelete(label);
        } catch {
          // Unknown or already deleted: the main thread's live map is authoritative anyway.
        }
      }
      return null;
    }
    case 'search': {
      const idx = get(req.id);
      const count = idx.getCurrentCount();
      if (count === 0) return { labels: [], distances: [] } satisfies AnnSearchResult;
      const k = Math.min(req.k, idx.getMaxElements());
      idx.setEf(Math.max(req.ef, k));
      const { allow, limit } = req;
      let filter: ((label: number) => boolean) | undefined;
      if (allow) filter = (l) => l < limit && ((allow[l >> 3]! >> (l & 7)) & 1) === 1;
      else if (Number.isFinite(limit)) filter = (l) => l < limit;
      const r = idx.searchKnn(Array.from(req.query), k, filter);
      return { labels: r.neighbors, distances: r.distances } satisfies AnnSearchResult;
    }
    case 'write':
      get(req.id).writeIndexSync(req.path);
      return null;
    case 'drop':
      indexes.delete(req.id);
      return null;
    case 'stats': {
      const idx = get(req.id);
      return { count: idx.getCurrentCount(), capacity: idx.getMaxElements() } satisfies AnnStats;
    }
  }
}

function answer(msg: AnnEnvelope, replyTo: { postMessage(v: unknown): void } | null = parentPort): void {
  let reply: AnnReply;
  try {
    reply = { seq: msg.seq, ok: true, result: handle(msg.req) };
  } catch (err) {
    reply = { seq: msg.seq, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  replyTo?.postMessage(reply);
}

/**
 * 'shared' channel: sleep on the doorbell, drain the port without going through the event loop;
 * replies go back on the same port.
 * Reading the bell before draining means a request posted meanwhile makes the wait return at once.
 * This thread does nothing else, so blocking it is fine; terminate() interrupts the wait.
 */
function serveShared({ bell, port }: AnnWorkerData): void {
  const ring = new Int32Array(bell);
  for (;;) {
    const seen = Atomics.load(ring, 0);
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) answer(m.message as AnnEnvelope, port);
    Atomics.wait(ring, 0, seen);
  }
}

const shared = workerData as AnnWorkerData | null | undefined;
// Started after this module finished evaluating, so the importer (tsx's boot script) settles.
if (shared?.bell) setImmediate(() => serveShared(shared));
else parentPort?.on('message', (msg: AnnEnvelope) => answer(msg));
