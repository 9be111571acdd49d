// What a Java broker checks on Produce (v3+), as a pure function. It never throws: any input,
// however mangled, yields either the batch layout or the Kafka error code to answer with.

import {
  ATTRIBUTES,
  type BatchHeader,
  Compression,
  compressionOf,
  CONTROL_BIT,
  CRC,
  HEADER_SIZE,
  LOG_OVERHEAD,
  MAGIC,
  readBatchHeader,
  RECORDS,
  TIMESTAMP_TYPE_BIT,
} from './batch-header.js';
import { BatchCursor } from './batch-iterator.js';
import { decompressSync } from './compression.js';
import { batchCrcMatches, computeBatchCrc } from './crc.js';
import {
  CORRUPT_MESSAGE,
  corrupt,
  errorName,
  INVALID_RECORD,
  INVALID_TIMESTAMP,
  invalidRecord,
  MESSAGE_TOO_LARGE,
  RECORD_LIST_TOO_LARGE,
  RecordsError,
  UNSUPPORTED_COMPRESSION_TYPE,
} from './errors.js';
import { type RecordScan, scanRecord } from './record.js';
import { Cursor } from './varint.js';

export interface ValidationError {
  code: number;
  name: string;
  message: string;
  /** Index of the offending record in its batch (Produce v8+ record_errors), when known. */
  recordIndex?: number;
}

export interface ValidatedBatch {
  pos: number;
  size: number;
  header: BatchHeader;
  /** Max record timestamp seen (now for LogAppendTime topics; the header's for unwalked batches). */
  maxTimestamp: number;
}

export interface ValidatedBatches {
  batches: ValidatedBatch[];
  recordCount: number;
  maxTimestamp: number;
}

export interface ValidateOptions {
  maxMessageBytes: number;
  timestampType: 'CreateTime' | 'LogAppendTime';
  /** Fallback for both bounds below (Kafka's message.timestamp.difference.max.ms). */
  messageTimestampDifferenceMaxMs?: number;
  messageTimestampBeforeMaxMs?: number;
  messageTimestampAfterMaxMs?: number;
  now: number;
  /** Also inflate compressed batches and walk their records. */
  deepCheck?: boolean;
  /** segment.bytes: a partition's records larger than this -> RECORD_LIST_TOO_LARGE. */
  segmentBytes?: number;
  /** cleanup.policy=compact: every record needs a key (checked where records are walked). */
  compacted?: boolean;
  /** Produce request version; below 7 zstd is refused like Kafka does. Default: latest. */
  apiVersion?: number;
  /** Cap on one batch's inflated size during deepCheck (Floe's guard, not Kafka's). Default 256 MiB. */
  maxDecompressedBytes?: number;
}

const DEFAULT_MAX_INFLATED = 256 * 1024 * 1024;
const NO_TIMESTAMP = -1;

interface Bounds {
  createTime: boolean;
  min: number;
  max: number;
}

function fail(code: number, message: string, recordIndex?: number): RecordsError {
  const e = new RecordsError(code, message);
  if (recordIndex !== undefined) e.recordIndex = recordIndex;
  return e;
}

function boundsOf(opts: ValidateOptions): Bounds {
  const before = opts.messageTimestampBeforeMaxMs ?? opts.messageTimestampDifferenceMaxMs ?? Infinity;
  const after = opts.messageTimestampAfterMaxMs ?? opts.messageTimestampDifferenceMaxMs ?? Infinity;
  return { createTime: opts.timestampType === 'CreateTime', min: opts.now - before, max: opts.now + after };
}

/** Kafka's per-record timestamp rule, including its refusal of client-set LogAppendTime. */
function checkTimestamp(ts: number, batchLogAppend: boolean, b: Bounds, recordIndex?: number): void {
  if (b.createTime && ts !== NO_TIMESTAMP) {
    if (ts < b.min || ts > b.max) {
      throw fail(INVALID_TIMESTAMP, `Timestamp ${ts} of record ${recordIndex ?? ''} is out of range; it should be within [${b.min}, ${b.max}]`, recordIndex);
    }
  } else if (batchLogAppend) {
    throw fail(INVALID_TIMESTAMP, 'Producer should not set timestamp type to LogAppendTime', recordIndex);
  }
}

/** Walks the records of one batch; returns their max timestamp. */
function walkRecords(data: Buffer, start: number, h: BatchHeader, b: Bounds, compacted: boolean): number {
  const c = new Cursor(data, start, data.length);
  const scan: RecordScan = { timestampDelta: 0, offsetDelta: 0, hasKey: false };
  const logAppend = (h.attributes & TIMESTAMP_TYPE_BIT) !== 0;
  let maxTs = NO_TIMESTAMP;
  for (let i = 0; i < h.recordsCount; i++) {
    if (c.remaining === 0) throw fail(INVALID_RECORD, `batch declares ${h.recordsCount} records but ends after ${i}`, i);
    try {
      scanRecord(c, scan);
    } catch (err) {
      if (err instanceof RecordsError) err.recordIndex = i;
      throw err;
    }
    if (scan.offsetDelta !== i) {
      throw fail(INVALID_RECORD, `record ${i} has offset delta ${scan.offsetDelta}; expected ${i}`, i);
    }
    const ts = logAppend ? h.maxTimestamp : h.baseTimestamp + scan.timestampDelta;
    checkTimestamp(ts, logAppend, b, i);
    if (compacted && !scan.hasKey) throw fail(INVALID_RECORD, 'Compacted topic cannot accept message without key', i);
    if (ts > maxTs) maxTs = ts;
  }
  if (c.remaining !== 0) throw invalidRecord(`${c.remaining} bytes remain after the last of ${h.recordsCount} records`);
  return maxTs;
}

/** Batch-level checks Kafka's LogValidator makes on client batches. */
function checkBatchFields(h: BatchHeader): void {
  const countFromOffsets = h.lastOffsetDelta + 1;
  if (countFromOffsets <= 0) throw invalidRecord(`Batch has an invalid offset range: lastOffsetDelta ${h.lastOffsetDelta}`);
  if (h.recordsCount <= 0) throw invalidRecord(`Invalid reported count for record batch: ${h.recordsCount}`);
  if (countFromOffsets !== h.recordsCount) {
    throw invalidRecord(`Inconsistent batch offset range [0, ${h.lastOffsetDelta}] and count of records ${h.recordsCount}`);
  }
  if (h.attributes & CONTROL_BIT) throw invalidRecord('Clients are not allowed to write control records');
  if (h.producerId >= 0 && h.baseSequence < 0) {
    throw invalidRecord(`Invalid sequence number ${h.baseSequence} in record batch with producerId ${h.producerId}`);
  }
}

function validateBatch(buf: Buffer, pos: number, size: number, opts: ValidateOptions, b: Bounds): ValidatedBatch {
  if (size < HEADER_SIZE) throw corrupt(`Record batch is corrupt (the size ${size} is smaller than the minimum allowed overhead ${HEADER_SIZE})`);
  if (size > opts.maxMessageBytes) {
    throw fail(MESSAGE_TOO_LARGE, `The record batch size is ${size} bytes which exceeds the maximum configured value of ${opts.maxMessageBytes}.`);
  }
  if (!batchCrcMatches(buf, pos, size)) {
    throw corrupt(`Record is corrupt (stored crc = ${buf.readUInt32BE(pos + CRC)}, computed crc = ${computeBatchCrc(buf, pos, size)})`);
  }
  const h = readBatchHeader(buf, pos);
  const codec = compressionOf(h.attributes);
  if (codec > Compression.Zstd) throw fail(UNSUPPORTED_COMPRESSION_TYPE, `Unknown compression type id: ${codec}`);
  checkBatchFields(h);
  const logAppend = (h.attributes & TIMESTAMP_TYPE_BIT) !== 0;
  let maxTimestamp: number;
  if (codec === Compression.None) {
    maxTimestamp = walkRecords(buf.subarray(pos, pos + size), RECORDS, h, b, opts.compacted ?? false);
  } else if (opts.deepCheck) {
    const payload = buf.subarray(pos + RECORDS, pos + size);
    const data = decompressSync(codec, payload, { maxBytes: opts.maxDecompressedBytes ?? DEFAULT_MAX_INFLATED });
    maxTimestamp = walkRecords(data, 0, h, b, opts.compacted ?? false);
  } else {
    // Without inflating, only the header's first and max timestamps can be checked.
    checkTimestamp(logAppend ? h.maxTimestamp : h.baseTimestamp, logAppend, b);
    checkTimestamp(h.maxTimestamp, logAppend, b);
    maxTimestamp = h.maxTimestamp;
  }
  if (!b.createTime) maxTimestamp = opts.now;
  return { pos, size, header: h, maxTimestamp };
}

/** Splits the buffer into batches; anything that is not a whole batch is CORRUPT_MESSAGE. */
function frame(buf: Buffer): Array<{ pos: number; size: number }> {
  const out: Array<{ pos: number; size: number }> = [];
  const c = new BatchCursor().reset(buf);
  while (c.next()) out.push({ pos: c.position, size: c.size });
  const pos = c.position;
  if (c.stop === 'corrupt') throw corrupt(`Record batch at byte ${pos} has illegal length ${c.size - LOG_OVERHEAD}`);
  if (c.stop === 'torn') {
    if (c.size === 0) throw corrupt(`${c.available} trailing bytes are not a record batch`);
    throw corrupt(`Record batch at byte ${pos} declares ${c.size} bytes but only ${c.available} remain`);
  }
  return out;
}

function validate(buf: Buffer, opts: ValidateOptions): ValidatedBatches {
  if (buf.length === 0) throw invalidRecord('Produce requests with version 3+ must have at least one record batch per partition');
  const framed = frame(buf);
  // Kafka's ProduceRequest.validateRecords runs before anything else: magic, then one batch only.
  const first = framed[0]!;
  const magic = buf.readInt8(first.pos + MAGIC);
  if (magic !== 2) {
    throw invalidRecord(`Produce requests with version 3+ are only allowed to contain record batches with magic version 2 (got ${magic})`);
  }
  if ((opts.apiVersion ?? Infinity) < 7 && compressionOf(buf.readInt16BE(first.pos + ATTRIBUTES)) === Compression.Zstd) {
    throw fail(UNSUPPORTED_COMPRESSION_TYPE, 'Produce requests with version below 7 cannot use zstd compression');
  }
  if (framed.length > 1) throw invalidRecord('Produce requests with version 3+ are only allowed to contain exactly one record batch per partition');
  if (opts.segmentBytes !== undefined && buf.length > opts.segmentBytes) {
    throw fail(RECORD_LIST_TOO_LARGE, `Message batch size is ${buf.length} bytes which exceeds the maximum configured segment size of ${opts.segmentBytes}.`);
  }
  const v = validateBatch(buf, first.pos, first.size, opts, boundsOf(opts));
  return { batches: [v], recordCount: v.header.recordsCount, maxTimestamp: v.maxTimestamp };
}

function toError(err: unknown): ValidationError {
  if (err instanceof RecordsError) {
    const out: ValidationError = { code: err.code, name: err.errorName, message: err.message };
    if (err.recordIndex !== undefined) out.recordIndex = err.recordIndex;
    return out;
  }
  // A bug or library fault must still not escape as an exception.
  const msg = err instanceof Error ? err.message : String(err);
  return { code: CORRUPT_MESSAGE, name: errorName(CORRUPT_MESSAGE), message: `Record batch could not be parsed: ${msg}` };
}

/** Validates one partition's Produce records; returns their layout or the error to answer with. */
export function validateProduceRecords(buf: Buffer, opts: ValidateOptions): ValidatedBatches | ValidationError {
  try {
    return validate(buf, opts);
  } catch (err) {
    return toError(err);
  }
}

export function isValidationError(r: ValidatedBatches | ValidationError): r is ValidationError {
  return 'code' in r;
}
