// Reads decoded records from one partition, from an offset or the first record at/after a time.
import type { Broker } from '../../broker/core/broker.js';
import type { PartitionLog } from '../../broker/log/index.js';
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

/** Where a read starts: explicit offset, else first offset at/after timestamp (hw if none), else log start. */
export async function startOffset(log: PartitionLog, req: { offset?: number; timestamp?: number }): Promise<number> {
  if (req.offset !== undefined) return req.offset;
  if (req.timestamp !== undefined) return (await log.offsetForTimestamp(req.timestamp))?.offset ?? log.highWatermark;
  return log.logStartOffset;
}

/**
 * Up to `limit` records below the high watermark, stopping once `maxBytes` of stored batches
 * were read (at least one batch, so a large record never blocks the reader).
 */
export async function readFrom(log: PartitionLog, offset: number, maxBytes: number, limit: number, minTimestamp = -1): Promise<{ records: KafkaRecord[]; nextOffset: number; bytes: number }> {
  if (offset < log.logStartOffset || offset > log.logEndOffset) {
    throw kafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${offset} is outside [${log.logStartOffset}, ${log.highWatermark}]`);
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
  const log = partitionLog(broker, topic, partition);
  const from = await startOffset(log, req);
  const { records, nextOffset, bytes } = await readFrom(log, from, req.maxBytes, req.limit, req.offset === undefined ? (req.timestamp ?? -1) : -1);
  if (bytes > 0) broker.metrics.bytesOut.inc({ topic, partition }, bytes);
  return { records, nextOffset, highWatermark: log.highWatermark, logStartOffset: log.logStartOffset };
}
