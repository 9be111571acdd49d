// Decode and encode whole v2 record batches. The hot path moves batches as bytes; this is for
// the places that must see records (compaction, functions, tables, tests).

import {
  ATTRIBUTES,
  BASE_OFFSET,
  BASE_SEQUENCE,
  BASE_TIMESTAMP,
  BATCH_LENGTH,
  type BatchHeader,
  Compression,
  COMPRESSION_MASK,
  compressionOf,
  CONTROL_BIT,
  DELETE_HORIZON_BIT,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  PARTITION_LEADER_EPOCH,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  RECORDS,
  RECORDS_COUNT,
  TIMESTAMP_TYPE_BIT,
  TRANSACTIONAL_BIT,
} from './batch-header.js';
import { BatchCursor } from './batch-iterator.js';
import { compress, compressSync, decompress, decompressSync } from './compression.js';
import { batchCrcMatches, writeBatchCrc } from './crc.js';
import { corrupt } from './errors.js';
import { iterateRecords, type RecordFields, type RecordHeader, sizeOfRecord, writeRecord } from './record.js';

export { iterateRecords, type RawRecord, type RecordHeader } from './record.js';

export interface Record {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export type TimestampType = 'CreateTime' | 'LogAppendTime';

export interface DecodedBatch {
  header: BatchHeader;
  records: Record[];
  compression: Compression;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  /** Set when the cleaner stored a delete horizon in baseTimestamp. */
  deleteHorizonMs: number | null;
  /** For control batches: 0 = abort marker, 1 = commit marker (from the control record key). */
  controlType: number | null;
}

export interface DecodeOptions {
  /** Check each batch's CRC32C (default true). */
  verifyCrc?: boolean;
  /** Refuse to inflate a batch past this many bytes (default: no limit). */
  maxDecompressedBytes?: number;
}

export interface BatchInputRecord {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Array<{ key: string; value: Buffer | string | null }>;
  /** Default: the time of encoding. */
  timestamp?: number;
  /** Default: the record's index. Compaction keeps original deltas, which may have gaps. */
  offsetDelta?: number;
}

export interface BatchInput {
  records: BatchInputRecord[];
  compression?: Compression;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  baseOffset?: number;
  timestampType?: TimestampType;
  isTransactional?: boolean;
  partitionLeaderEpoch?: number;
  /** Control batch (transaction markers); not something clients may produce. */
  isControl?: boolean;
  /** Stores the delete horizon in baseTimestamp and sets the attribute bit (compaction). */
  deleteHorizonMs?: number;
  /** Default: the last record's offsetDelta; compaction may keep a larger original value. */
  lastOffsetDelta?: number;
}

type Inflate = (codec: Compression, data: Buffer) => Buffer | Promise<Buffer>;

/** The header plus where each batch sits; shared by the sync and async decoders. */
interface Framed {
  header: BatchHeader;
  payload: Buffer;
}

function frameBatches(buf: Buffer, verifyCrc: boolean): Framed[] {
  const out: Framed[] = [];
  const c = new BatchCursor().reset(buf);
  while (c.next()) {
    const pos = c.position;
    const magic = c.magic;
    if (magic !== 2) throw corrupt(`batch at byte ${pos} has magic ${magic}; only v2 batches are supported`);
    if (verifyCrc && !batchCrcMatches(buf, pos, c.size)) throw corrupt(`batch at byte ${pos} fails its CRC32C check`);
    out.push({ header: c.header(), payload: buf.subarray(pos + RECORDS, pos + c.size) });
  }
  if (c.stop === 'corrupt') throw corrupt(`batch at byte ${c.position} has invalid length ${c.size - LOG_OVERHEAD}`);
  // 'torn': a Fetch response may end with a partial batch.
  return out;
}

function toDecoded(header: BatchHeader, data: Buffer): DecodedBatch {
  const attrs = header.attributes;
  const logAppend = (attrs & TIMESTAMP_TYPE_BIT) !== 0;
  const records: Record[] = [];
  for (const r of iterateRecords(data, header.recordsCount)) {
    records.push({
      offset: header.baseOffset + r.offsetDelta,
      // With LogAppendTime the broker's time in maxTimestamp applies to every record.
      timestamp: logAppend ? header.maxTimestamp : header.baseTimestamp + r.timestampDelta,
      key: r.key,
      value: r.value,
      headers: r.headers,
    });
  }
  const isControl = (attrs & CONTROL_BIT) !== 0;
  const controlKey = isControl ? records[0]?.key : undefined;
  return {
    header,
    records,
    compression: compressionOf(attrs),
    timestampType: logAppend ? 'LogAppendTime' : 'CreateTime',
    isTransactional: (attrs & TRANSACTIONAL_BIT) !== 0,
    isControl,
    deleteHorizonMs: attrs & DELETE_HORIZON_BIT ? header.baseTimestamp : null,
    controlType: controlKey && controlKey.length >= 4 ? controlKey.readInt16BE(2) : null,
  };
}

function inflater(opts?: DecodeOptions): { sync: Inflate; async: Inflate } {
  const limit = { maxBytes: opts?.maxDecompressedBytes };
  return {
    sync: (codec, data) => (codec === Compression.None ? data : decompressSync(codec, data, limit)),
    async: (codec, data) => (codec === Compression.None ? data : decompress(codec, data, limit)),
  };
}

/**
 * Decodes batches laid back to back, inflating compressed ones. A trailing partial batch is
 * skipped; anything else malformed throws a RecordsError.
 */
export async function decodeBatches(buf: Buffer, opts?: DecodeOptions): Promise<DecodedBatch[]> {
  const inflate = inflater(opts).async;
  const out: DecodedBatch[] = [];
  for (const { header, payload } of frameBatches(buf, opts?.verifyCrc ?? true)) {
    out.push(toDecoded(header, await inflate(compressionOf(header.attributes), payload)));
  }
  return out;
}

export function decodeBatchesSync(buf: Buffer, opts?: DecodeOptions): DecodedBatch[] {
  const inflate = inflater(opts).sync;
  return frameBatches(buf, opts?.verifyCrc ?? true).map(({ header, payload }) =>
    toDecoded(header, inflate(compressionOf(header.attributes), payload) as Buffer),
  );
}

function bytesOf(v: Buffer | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

interface Prepared {
  records: Buffer;
  count: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
}

function prepare(input: BatchInput): Prepared {
  const now = Date.now();
  const stamps = input.records.map((r) => r.timestamp ?? now);
  const first = stamps.length > 0 ? stamps[0]! : -1;
  const baseTimestamp = input.deleteHorizonMs ?? first;
  const fields: RecordFields[] = input.records.map((r, i) => ({
    timestampDelta: stamps[i]! - baseTimestamp,
    offsetDelta: r.offsetDelta ?? i,
    key: bytesOf(r.key),
    value: bytesOf(r.value),
    headers: (r.headers ?? []).map((h) => ({ key: Buffer.from(h.key, 'utf8'), value: bytesOf(h.value) })),
  }));
  let size = 0;
  for (const f of fields) size += sizeOfRecord(f);
  const records = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const f of fields) pos = writeRecord(records, pos, f);
  const lastDelta = fields.length > 0 ? fields[fields.length - 1]!.offsetDelta : -1;
  return {
    records,
    count: fields.length,
    lastOffsetDelta: input.lastOffsetDelta ?? lastDelta,
    baseTimestamp,
    maxTimestamp: stamps.length > 0 ? Math.max(...stamps) : -1,
  };
}

function assemble(input: BatchInput, p: Prepared, payload: Buffer): Buffer {
  const size = RECORDS + payload.length;
  const buf = Buffer.allocUnsafe(size);
  let attrs = (input.compression ?? Compression.None) & COMPRESSION_MASK;
  if (input.timestampType === 'LogAppendTime') attrs |= TIMESTAMP_TYPE_BIT;
  if (input.isTransactional) attrs |= TRANSACTIONAL_BIT;
  if (input.isControl) attrs |= CONTROL_BIT;
  if (input.deleteHorizonMs !== undefined) attrs |= DELETE_HORIZON_BIT;
  buf.writeBigInt64BE(BigInt(input.baseOffset ?? 0), BASE_OFFSET);
  buf.writeInt32BE(size - LOG_OVERHEAD, BATCH_LENGTH);
  buf.writeInt32BE(input.partitionLeaderEpoch ?? -1, PARTITION_LEADER_EPOCH);
  buf.writeInt8(2, MAGIC);
  buf.writeInt16BE(attrs, ATTRIBUTES);
  buf.writeInt32BE(p.lastOffsetDelta, LAST_OFFSET_DELTA);
  buf.writeBigInt64BE(BigInt(p.baseTimestamp), BASE_TIMESTAMP);
  buf.writeBigInt64BE(BigInt(p.maxTimestamp), MAX_TIMESTAMP);
  buf.writeBigInt64BE(BigInt(input.producerId ?? -1), PRODUCER_ID);
  buf.writeInt16BE(input.producerEpoch ?? -1, PRODUCER_EPOCH);
  buf.writeInt32BE(input.baseSequence ?? -1, BASE_SEQUENCE);
  buf.writeInt32BE(p.count, RECORDS_COUNT);
  payload.copy(buf, RECORDS);
  writeBatchCrc(buf, 0, size);
  return buf;
}

/** Encodes one v2 batch with a correct CRC32C, lastOffsetDelta and base/max timestamps. */
export async function encodeBatch(input: BatchInput): Promise<Buffer> {
  const p = prepare(input);
  const codec = input.compression ?? Compression.None;
  const payload = codec === Compression.None ? p.records : await compress(codec, p.records);
  return assemble(input, p, payload);
}

export function encodeBatchSync(input: BatchInput): Buffer {
  const p = prepare(input);
  const codec = input.compression ?? Compression.None;
  return assemble(input, p, codec === Compression.None ? p.records : compressSync(codec, p.records));
}
