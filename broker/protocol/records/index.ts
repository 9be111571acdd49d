// Public surface of the record-batch layer.
export * from './batch-header.js';
export { BatchCursor, type BatchStop, countRecords } from './batch-iterator.js';
export { compress, compressSync, decompress, decompressSync, type DecompressOptions } from './compression.js';
export { batchCrcMatches, computeBatchCrc, writeBatchCrc } from './crc.js';
export { RecordsError } from './errors.js';
export { setBaseOffset, setLogAppendTime, setPartitionLeaderEpoch } from './patch.js';
export type { RawRecord, RecordHeader } from './record.js';
export {
  type BatchInput,
  type BatchInputRecord,
  type DecodedBatch,
  type DecodeOptions,
  decodeBatches,
  decodeBatchesSync,
  encodeBatch,
  encodeBatchSync,
  iterateRecords,
  type Record,
  type TimestampType,
} from './records.js';
export {
  isValidationError,
  type ValidatedBatch,
  type ValidatedBatches,
  type ValidateOptions,
  type ValidationError,
  validateProduceRecords,
} from './validate.js';
