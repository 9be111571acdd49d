// Reads decoded records from one partition, from an offset or the first record at/after a time.
// In a cluster a partition led elsewhere is read from the shared medium (broker.router.view).
import type { Broker } from '../../broker/core/broker.js';
import type { PartitionLog } from '../../broker/log/index.js';
import type { PartitionView } from '../../broker/cluster/router.js';
import { BATCH_LENGTH, HEADER_SIZE, LAST_OFFSET_DELTA, LOG_OVERHEAD, MAX_TIMESTAMP } from '../../broker/protocol/records/batch-header.js';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { decodeBatches, type Record as KafkaRecord } from '../../broker/protocol/records/records.js';
import { logErrorCode } from '../../broker/handlers/produce.js';
import { kafkaError, notFound } from './errors.js';

export interface ReadRequest {
  offset?: number;
  timestamp?: number;
  maxBytes: number;
  limit: number;
}

export interface ReadResult {
  records: KafkaRecord[];
  /** Offset to ask for next. */
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
}

export function partitionLog(broker: Broker, topic: string, partition: number): PartitionLog {
  const t = broker.topics.get(topic);
  if (!t) throw notFound(`topic '${topic}' does not exist`);
  const log = broker.topics.partition(topic, partition);
  if (!log) throw kafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic '${topic}' has no partition ${partition} (it has ${t.partitions})`);
  return log;
}

/**
 * A partition as HTTP reads it: the local log, or the view of one led by another broker (no
 * time index there; its end may be past the high watermark heard here).
 */
export type ReadableLog = PartitionView & {
  readonly logEndOffset?: number;
  offsetForTimestamp?(ts: number): Promise<{ offset: number; timestamp: number } | null>;
};

/** The partition wherever it is led; 404 for an unknown topic or partition. */
export async function readableLog(broker: Broker, topic: string, partition: number): Promise<ReadableLog> {
  let t = broker.topics.get(topic);
  // Created through another broker since this one last refreshed its topic list.
  if (!t && broker.cluster !== null) {
    await broker.store.refresh();
    t = broker.topics.get(topic);
  }
  if (!t) throw notFound(`topic '${topic}' does not exist`);
  if (!Number.isInteger(partition) || partition < 0 || partition >= t.partitions) {
    throw kafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic '${topic}' has no partition ${partition} (it has ${t.partitions})`);
  }
  const view = await broker.router.view(topic, partition);
  // A partition no leader has published yet reads as empty.
  return view ?? EMPTY_VIEW;
}

const EMPTY_VIEW: ReadableLog = {
  highWatermark: 0,
  logStartOffset: 0,
  read: () => Promise.resolve(Buffer.alloc(0)),
  onAdvance: () => () => undefined,
};

function startOf(log: ReadableLog): number {
  return log.logStartOffset ?? 0;
}

/** First offset of a batch whose max timestamp is at/after `ts`, by scanning (views have no time index). */
async function scanForTimestamp(log: ReadableLog, ts: number): Promise<number> {
  let pos = startOf(log);
  const end = log.highWatermark;
  while (pos < end) {
    const data = await log.read(pos, 1024 * 1024, { minOneBatch: true });
    if (data.length === 0) break;
    let at = 0;
    const before = pos;
    while (at + HEADER_SIZE <= data.length) {
      const base = Number(data.readBigInt64BE(at));
      const last = base + data.readInt32BE(at + LAST_OFFSET_DELTA);
      if (last >= pos && Number(data.readBigInt64BE(at + MAX_TIMESTAMP)) >= ts) return Math.max(base, pos);
      pos = Math.max(pos, last + 1);
      at += data.readInt32BE(at + BATCH_LENGTH) + LOG_OVERHEAD;
    }
    if (pos === before) break;
  }
  return end;
}

/** Where a read starts: explicit offset, else first offset at/after timestamp (hw if none), else log start. */
export async function startOffset(log: ReadableLog, req: { offset?: number; timestamp?: number }): Promise<number> {
  if (req.offset !== undefined) return req.offset;
  if (req.timestamp !== undefined) {
    if (log.offsetForTimestamp) return (await log.offsetForTimestamp(req.timestamp))?.offset ?? log.highWatermark;
    return scanForTimestamp(log, req.timestamp);
  }
  return startOf(log);
}

/**
 * Up to `limit` records below the high watermark, stopping once `maxBytes` of stored batches
 * were read (at least one batch, so a large record never blocks the reader).
 */
export async function readFrom(log: ReadableLog, offset: number, maxBytes: number, limit: number, minTimestamp = -1): Promise<{ records: KafkaRecord[]; nextOffset: number; bytes: number }> {
  if (offset < startOf(log) || offset > (log.logEndOffset ?? Number.MAX_SAFE_INTEGER)) {
    throw kafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${offset} is outside [${startOf(log)}, ${log.highWatermark}]`);
  }
  const records: KafkaRecord[] = [];
  let next = offset;
  let bytes = 0;
  while (records.length < limit && bytes < maxBytes && next < log.highWatermark) {
    let data: Buffer;
    try {
      data = await log.read(next, maxBytes - bytes, { minOneBatch: bytes === 0 });
    } catch (err) {
      const { code, message } = logErrorCode(err);
      throw kafkaError(code, message);
    }
    if (data.length === 0) break;
    bytes += data.length;
    const before = next;
    for (const b of await decodeBatches(data)) {
      if (records.length >= limit) break;
      if (b.isControl) {
        next = Math.max(next, b.header.baseOffset + b.header.lastOffsetDelta + 1);
        continue;
      }
      for (const r of b.records) {
        if (r.offset < next) continue;
        if (records.length >= limit) break;
        // The time index finds the batch; records before the asked time in it are skipped.
        if (records.length === 0 && r.timestamp < minTimestamp) {
          next = r.offset + 1;
          continue;
        }
        records.push(r);
        next = r.offset + 1;
      }
      // Compaction may leave a batch whose last records are gone: skip past the batch end.
      if (records.length < limit) next = Math.max(next, b.header.baseOffset + b.header.lastOffsetDelta + 1);
    }
    if (next === before) break;
  }
  return { records, nextOffset: next, bytes };
}

export async function readRecords(broker: Broker, topic: string, partition: number, req: ReadRequest): Promise<ReadResult> {
  const log = await readableLog(broker, topic, partition);
  const from = await startOffset(log, req);
  const { records, nextOffset, bytes } = await readFrom(log, from, req.maxBytes, req.limit, req.offset === undefined ? (req.timestamp ?? -1) : -1);
  if (bytes > 0) broker.metrics.bytesOut.inc({ topic, partition }, bytes);
  return { records, nextOffset, highWatermark: log.highWatermark, logStartOffset: startOf(log) };
}
