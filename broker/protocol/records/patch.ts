// In-place edits the write path makes to a received batch, so it never re-encodes records.

import {
  ATTRIBUTES,
  BASE_OFFSET,
  batchSizeAt,
  MAX_TIMESTAMP,
  PARTITION_LEADER_EPOCH,
  TIMESTAMP_TYPE_BIT,
} from './batch-header.js';
import { writeBatchCrc } from './crc.js';

/** Outside the crc: no recomputation needed. */
export function setBaseOffset(buf: Buffer, pos: number, baseOffset: number): void {
  buf.writeBigInt64BE(BigInt(baseOffset), pos + BASE_OFFSET);
}

/** Outside the crc: no recomputation needed. */
export function setPartitionLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeInt32BE(epoch, pos + PARTITION_LEADER_EPOCH);
}

/** Marks the batch LogAppendTime with maxTimestamp = now, as a broker does for such topics; fixes the crc. */
export function setLogAppendTime(buf: Buffer, pos: number, now: number): void {
  buf.writeInt16BE(buf.readInt16BE(pos + ATTRIBUTES) | TIMESTAMP_TYPE_BIT, pos + ATTRIBUTES);
  buf.writeBigInt64BE(BigInt(now), pos + MAX_TIMESTAMP);
  writeBatchCrc(buf, pos, batchSizeAt(buf, pos));
}
