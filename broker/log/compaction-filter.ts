import {
  BASE_TIMESTAMP,
  BATCH_LENGTH,
  COMPRESSION_MASK,
  CONTROL_BIT,
  DELETE_HORIZON_BIT,
  HEADER_SIZE,
  LOG_OVERHEAD,
  MAX_TIMESTAMP,
  RECORDS_COUNT,
  ATTRIBUTES,
  readBatchHeader,
  type BatchHeader,
} from '../protocol/records/batch-header.js';
import { writeBatchCrc } from '../protocol/records/crc.js';
import { decodeBatchesSync, encodeBatchSync, type Record } from '../protocol/records/records.js';
import type { KeyOffsetMap } from './offset-map.js';

/** What the cleaner knows when it decides about one stored batch. */
export interface FilterContext {
  now: number;
  deleteRetentionMs: number;
  /** Latest offset of each key in the dirty section. */
  latest: KeyOffsetMap;
  /** True for the last batch an active idempotent producer wrote: it must survive, even empty. */
  isProducerTail(h: BatchHeader): boolean;
}

export interface FilteredBatch {
  /** The batch to write (the original bytes when nothing changed), or null to drop it. */
  bytes: Buffer | null;
  changed: boolean;
  recordsRemoved: number;
  /** Delete horizon of the written batch when it still holds tombstones, else null. */
  horizon: number | null;
}

/**
 * Applies compaction to one stored batch: drops records superseded by a later offset of their
 * key, keyless records and tombstones past their delete horizon, stamps a horizon on batches
 * that keep tombstones, and re-encodes with the batch's own codec. Offsets, base offset and
 * lastOffsetDelta are kept so producer sequence state survives.
 */
export function filterBatch(batch: Buffer, ctx: FilterContext): FilteredBatch {
  const h = readBatchHeader(batch);
  // No transactions yet: markers are kept as they are.
  if ((h.attributes & CONTROL_BIT) !== 0) return { bytes: batch, changed: false, recordsRemoved: 0, horizon: null };
  const decoded = decodeBatchesSync(batch)[0];
  if (decoded === undefined) throw new Error(`batch at offset ${h.baseOffset} is truncated`);
  const existing = decoded.deleteHorizonMs;
  const kept: Record[] = [];
  let tombstones = 0;
  for (const r of decoded.records) {
    if (r.key === null) continue;
    const latest = ctx.latest.get(r.key);
    if (latest !== undefined && latest > r.offset) continue;
    if (r.value === null) {
      if (existing !== null && ctx.now > existing) continue;
      tombstones++;
    }
    kept.push(r);
  }
  const removed = decoded.records.length - kept.length;
  const horizon = tombstones > 0 ? (existing ?? ctx.now + ctx.deleteRetentionMs) : null;
  if (kept.length === 0) {
    if (!ctx.isProducerTail(h)) return { bytes: null, changed: true, recordsRemoved: removed, horizon: null };
    if (h.recordsCount === 0) return { bytes: batch, changed: false, recordsRemoved: 0, horizon: null };
    return { bytes: emptyBatch(batch, h), changed: true, recordsRemoved: removed, horizon: null };
  }
  if (removed === 0 && (tombstones === 0 || existing !== null)) {
    return { bytes: batch, changed: false, recordsRemoved: 0, horizon };
  }
  const bytes = encodeBatchSync({
    records: kept.map((r) => ({
      key: r.key,
      value: r.value,
      headers: r.headers.map((x) => ({ key: x.key, value: x.value })),
      timestamp: r.timestamp,
      offsetDelta: r.offset - h.baseOffset,
    })),
    compression: decoded.compression,
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    baseOffset: h.baseOffset,
    timestampType: decoded.timestampType,
    isTransactional: decoded.isTransactional,
    partitionLeaderEpoch: h.partitionLeaderEpoch,
    lastOffsetDelta: h.lastOffsetDelta,
    ...(horizon !== null ? { deleteHorizonMs: horizon } : {}),
  });
  return { bytes, changed: true, recordsRemoved: removed, horizon };
}

/** A header-only batch with the original offset range and producer fields. */
function emptyBatch(batch: Buffer, h: BatchHeader): Buffer {
  const out = Buffer.from(batch.subarray(0, HEADER_SIZE));
  out.writeInt32BE(HEADER_SIZE - LOG_OVERHEAD, BATCH_LENGTH);
  out.writeInt16BE(h.attributes & ~(COMPRESSION_MASK | DELETE_HORIZON_BIT), ATTRIBUTES);
  // Both timestamps carry the batch's max so time-based lookups and retention still see it.
  out.writeBigInt64BE(BigInt(h.maxTimestamp), BASE_TIMESTAMP);
  out.writeBigInt64BE(BigInt(h.maxTimestamp), MAX_TIMESTAMP);
  out.writeInt32BE(0, RECORDS_COUNT);
  writeBatchCrc(out, 0, HEADER_SIZE);
  return out;
}
