import { readFetchRequest, writeFetchResponse, type FetchRequest, type FetchResponse, type FetchResponsePartitionData } from '../protocol/generated/fetch.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { BatchCursor, countRecords } from '../protocol/records/batch-iterator.js';
import type { Input } from '../protocol/primitives/codec-helpers.js';
import { LogError, type PartitionLog } from '../log/index.js';
import { defineHandler, type RequestContext } from './types.js';
import { logErrorCode } from './produce.js';
import { BufferPool } from '../server/buffer-pool.js';
import { releaseAfterWrite } from '../server/write-release.js';

type PartitionData = Input<FetchResponsePartitionData>;

/** What a Fetch needs of a partition: the local log, or (cluster) a view of one led elsewhere. */
type ReadableLog = Pick<PartitionLog, 'highWatermark' | 'logStartOffset' | 'logEndOffset' | 'leaderEpoch' | 'read' | 'onAdvance'>;

interface Target {
  topic: string;
  topicId: string;
  partition: number;
  log: ReadableLog | undefined;
  error: number;
  fetchOffset: number;
  maxBytes: number;
  currentLeaderEpoch: number;
}

/** Read buffers of Fetch responses, reused once the socket has written them. */
const readPool = new BufferPool();
const takeReadBuffer = (n: number): Buffer => readPool.take(n);

/** Fetch sessions (KIP-227) are declined with session id 0: every fetch is a full fetch. */
const NO_SESSION = 0;

function resolveTargets(req: FetchRequest, ctx: RequestContext): Target[] {
  const { broker } = ctx;
  const byId = ctx.apiVersion >= 13;
  const out: Target[] = [];
  for (const ft of req.topics) {
    const rec = byId ? broker.topics.byId(ft.topicId) : broker.topics.get(ft.topic);
    for (const fp of ft.partitions) {
      const log = rec ? broker.topics.partition(rec.name, fp.partition) : undefined;
      out.push({
        topic: rec?.name ?? ft.topic,
        topicId: rec?.topicId ?? ft.topicId,
        partition: fp.partition,
        log,
        error: log
          ? ErrorCode.NONE
          : byId && !rec
            ? ErrorCode.UNKNOWN_TOPIC_ID
            : rec && broker.cluster && fp.partition >= 0 && fp.partition < rec.partitions
              ? ErrorCode.NOT_LEADER_OR_FOLLOWER
              : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        fetchOffset: fp.fetchOffset,
        maxBytes: fp.partitionMaxBytes,
        currentLeaderEpoch: fp.currentLeaderEpoch,
      });
    }
  }
  return out;
}

/** Partitions read at once within one Fetch; bounds the reads queued on libuv's thread pool. */
const MAX_PARALLEL_READS = 16;

const EMPTY = Buffer.alloc(0);
/** Reused by every Fetch (the walks are synchronous): no allocation per batch or per call. */
const walk = new BatchCursor();

/** Bytes of the largest prefix of whole batches in `data` that fits in `limit`. */
function wholeBatchesWithin(data: Buffer, limit: number): number {
  walk.reset(data, 0, limit);
  while (walk.next());
  const keep = walk.position;
  walk.reset(EMPTY);
  return keep;
}

/** Bytes of the first batch if `data` holds it whole, else 0. */
function firstBatchSize(data: Buffer): number {
  const keep = walk.reset(data).next() ? walk.size : 0;
  walk.reset(EMPTY);
  return keep;
}

type ReadOutcome = { data: Buffer } | { error: number };

async function readOne(log: ReadableLog, t: Target, limit: number, minOneBatch: boolean): Promise<ReadOutcome> {
  try {
    return { data: await log.read(t.fetchOffset, limit, { minOneBatch, alloc: takeReadBuffer }) };
  } catch (err) {
    return { error: err instanceof LogError ? logErrorCode(err).code : ErrorCode.KAFKA_STORAGE_ERROR };
  }
}

/**
 * Reads every partition of a Fetch. Partitions are read concurrently, in waves that together
 * could fill the bytes still allowed, and then cut back in request order to what a one-by-one
 * read would have returned: partition i gets at most min(its max, what partitions before it
 * left of maxBytes), in whole batches, and the first partition with data at least one batch.
 */
async function readAll(targets: Target[], maxBytes: number): Promise<{ parts: PartitionData[]; bytes: number }> {
  let remaining = maxBytes;
  let bytes = 0;
  const parts: PartitionData[] = [];
  const toRead: Array<{ t: Target; log: ReadableLog; base: PartitionData }> = [];
  for (const t of targets) {
    const base: PartitionData = { partitionIndex: t.partition, errorCode: t.error, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, abortedTransactions: null, preferredReadReplica: -1, records: null };
    parts.push(base);
    const log = t.log;
    if (!log) continue;
    base.highWatermark = log.highWatermark;
    base.lastStableOffset = log.highWatermark;
    base.logStartOffset = log.logStartOffset;
    if (t.currentLeaderEpoch >= 0 && t.currentLeaderEpoch !== log.leaderEpoch) {
      base.errorCode = t.currentLeaderEpoch > log.leaderEpoch ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH;
      continue;
    }
    if (t.fetchOffset < log.logStartOffset || t.fetchOffset > log.highWatermark) {
      // Offsets between the high watermark and the log end are not out of range: they just have no data yet.
      if (t.fetchOffset < log.logStartOffset || t.fetchOffset > log.logEndOffset) {
        base.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
      } else base.records = Buffer.alloc(0);
      continue;
    }
    // Nothing to read at the high watermark: skip the file lookup.
    if (t.fetchOffset === log.highWatermark) {
      base.records = Buffer.alloc(0);
      continue;
    }
    toRead.push({ t, log, base });
  }
  let next = 0;
  while (next < toRead.length) {
    const minOne = bytes === 0;
    if (remaining <= 0 && !minOne) {
      // The response is full: later partitions answer with no records, as one-by-one reads would.
      for (; next < toRead.length; next++) toRead[next]!.base.records = Buffer.alloc(0);
      break;
    }
    const wave: Array<{ t: Target; log: ReadableLog; base: PartitionData; limit: number }> = [];
    let cover = 0;
    while (next < toRead.length && wave.length < MAX_PARALLEL_READS && (wave.length === 0 || cover < remaining)) {
      const r = toRead[next++]!;
      const limit = Math.max(0, Math.min(r.t.maxBytes, remaining));
      wave.push({ ...r, limit });
      cover += limit;
    }
    // Kafka returns at least one whole batch for the first partition with data, whatever the limits.
    const outcomes = await Promise.all(wave.map((w) => readOne(w.log, w.t, w.limit, minOne)));
    wave.forEach((w, i) => {
      const out = outcomes[i]!;
      if ('error' in out) {
        w.base.errorCode = out.error;
        return;
      }
      let data = out.data;
      const cap = Math.max(0, Math.min(w.t.maxBytes, remaining));
      if (data.length > cap) {
        // Read with the wave's budget; partitions before this one may have used part of it.
        let keep = wholeBatchesWithin(data, cap);
        if (keep === 0 && bytes === 0) keep = firstBatchSize(data);
        if (keep < data.length) {
          if (keep === 0 && readPool.owns(data)) readPool.give(data);
          data = keep === 0 ? Buffer.alloc(0) : data.subarray(0, keep);
        }
      }
      w.base.records = data;
      bytes += data.length;
      remaining -= data.length;
    });
  }
  return { parts, bytes };
}

/** Cluster: partitions led by another broker are read from the shared medium (looked up concurrently). */
async function attachRemoteViews(targets: Target[], ctx: RequestContext): Promise<void> {
  const cluster = ctx.broker.cluster;
  if (!cluster) return;
  await Promise.all(
    targets.map(async (t) => {
      if (t.log || t.error !== ErrorCode.NOT_LEADER_OR_FOLLOWER) return;
      try {
        const view = await cluster.readView(t.topic, t.partition);
        if (view) {
          t.log = view;
          t.error = ErrorCode.NONE;
        }
      } catch (err) {
        ctx.log.warn({ err, topic: t.topic, partition: t.partition }, 'cannot read a partition from the shared medium');
      }
    }),
  );
}

/** Resolves when any of the logs advances or the deadline passes. */
function waitForData(logs: ReadableLog[], ms: number): Promise<void> {
  return new Promise((resolve) => {
    const offs: Array<() => void> = [];
    const done = () => {
      clearTimeout(timer);
      for (const off of offs) off();
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const l of logs) offs.push(l.onAdvance(done));
  });
}

export default defineHandler<FetchRequest, FetchResponse>({
  apiKey: 1,
  minVersion: 4,
  maxVersion: 17,
  read: readFetchRequest,
  write: writeFetchResponse,
  async handle(req, ctx) {
    const targets = resolveTargets(req, ctx);
    await attachRemoteViews(targets, ctx);
    const maxBytes = req.maxBytes > 0 ? req.maxBytes : 0x7fffffff;
    const deadline = Date.now() + Math.max(0, req.maxWaitMs);
    let result = await readAll(targets, maxBytes);
    const logs = targets.flatMap((t) => (t.log ? [t.log] : []));
    while (result.bytes < Math.max(1, req.minBytes) && !ctx.broker.closing && logs.length > 0) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      if (result.parts.some((p) => p.errorCode !== ErrorCode.NONE)) break;
      await waitForData(logs, left);
      // Nothing holds the previous reads any more: their pooled buffers can be reused now.
      for (const p of result.parts) if (p.records && readPool.owns(p.records)) readPool.give(p.records);
      result = await readAll(targets, maxBytes);
    }
    for (const p of result.parts) {
      const records = p.records;
      if (records && readPool.owns(records)) releaseAfterWrite(records, () => readPool.give(records));
    }
    const byTopic = new Map<string, { topic: string; topicId: string; partitions: PartitionData[] }>();
    targets.forEach((t, i) => {
      const key = `${t.topic}\u0000${t.topicId}`;
      let e = byTopic.get(key);
      if (!e) byTopic.set(key, (e = { topic: t.topic, topicId: t.topicId, partitions: [] }));
      e.partitions.push(result.parts[i]!);
      const n = result.parts[i]!.records?.length ?? 0;
      if (n > 0) {
        const labels = { topic: t.topic, partition: t.partition };
        ctx.broker.metrics.bytesOut.inc(labels, n);
        ctx.broker.metrics.recordsOut.inc(labels, countRecords(result.parts[i]!.records as Buffer));
      }
    });
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: NO_SESSION, responses: [...byTopic.values()] };
  },
});
