// Kafka record batch v2 header layout (docs/implementation.html, "Record Batch").
// Offsets are byte positions inside one batch. Everything before CRC_START is outside the
// CRC, so the writer can patch baseOffset and partitionLeaderEpoch without recomputing it.

export const BASE_OFFSET = 0; // int64
export const BATCH_LENGTH = 8; // int32: bytes after this field
export const PARTITION_LEADER_EPOCH = 12; // int32
export const MAGIC = 16; // int8, must be 2
export const CRC = 17; // uint32, CRC32C over [ATTRIBUTES, end)
export const ATTRIBUTES = 21; // int16
export const LAST_OFFSET_DELTA = 23; // int32
export const BASE_TIMESTAMP = 27; // int64
export const MAX_TIMESTAMP = 35; // int64
export const PRODUCER_ID = 43; // int64
export const PRODUCER_EPOCH = 51; // int16
export const BASE_SEQUENCE = 53; // int32
export const RECORDS_COUNT = 57; // int32
export const RECORDS = 61; // first record

export const CRC_START = ATTRIBUTES;
/** Size of the fixed header; also the smallest valid batch. */
export const HEADER_SIZE = RECORDS;
/** baseOffset + batchLength: the bytes not counted by batchLength. */
export const LOG_OVERHEAD = 12;

export const COMPRESSION_MASK = 0x07;
export const TIMESTAMP_TYPE_BIT = 0x08; // 1 = LogAppendTime
export const TRANSACTIONAL_BIT = 0x10;
export const CONTROL_BIT = 0x20;
export const DELETE_HORIZON_BIT = 0x40;

export enum Compression {
  None = 0,
  Gzip = 1,
  Snappy = 2,
  Lz4 = 3,
  Zstd = 4,
}

/** Fixed header fields of one stored or received batch; bigint-free for the hot path. */
export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
}

function readInt64(buf: Buffer, pos: number): number {
  return Number(buf.readBigInt64BE(pos));
}

/** Reads the fixed header at `pos`. The caller guarantees HEADER_SIZE bytes are present. */
export function readBatchHeader(buf: Buffer, pos = 0): BatchHeader {
  return {
    baseOffset: readInt64(buf, pos + BASE_OFFSET),
    batchLength: buf.readInt32BE(pos + BATCH_LENGTH),
    partitionLeaderEpoch: buf.readInt32BE(pos + PARTITION_LEADER_EPOCH),
    magic: buf.readInt8(pos + MAGIC),
    crc: buf.readUInt32BE(pos + CRC),
    attributes: buf.readInt16BE(pos + ATTRIBUTES),
    lastOffsetDelta: buf.readInt32BE(pos + LAST_OFFSET_DELTA),
    baseTimestamp: readInt64(buf, pos + BASE_TIMESTAMP),
    maxTimestamp: readInt64(buf, pos + MAX_TIMESTAMP),
    producerId: readInt64(buf, pos + PRODUCER_ID),
    producerEpoch: buf.readInt16BE(pos + PRODUCER_EPOCH),
    baseSequence: buf.readInt32BE(pos + BASE_SEQUENCE),
    recordsCount: buf.readInt32BE(pos + RECORDS_COUNT),
  };
}

/** Total bytes of the batch starting at `pos` (header included). */
export function batchSizeAt(buf: Buffer, pos = 0): number {
  return buf.readInt32BE(pos + BATCH_LENGTH) + LOG_OVERHEAD;
}

export function compressionOf(attributes: number): Compression {
  return (attributes & COMPRESSION_MASK) as Compression;
}
