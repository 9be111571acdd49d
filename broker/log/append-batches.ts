// The synchronous steps of an append: split it into batches with the checks the write path
// relies on, decide whether it needs a new segment, and stamp offsets into the bytes.
import { crc32c } from '@node-rs/crc32';
import {
  ATTRIBUTES,
  BASE_OFFSET,
  CRC,
  CRC_START,
  HEADER_SIZE,
  MAX_TIMESTAMP,
  PARTITION_LEADER_EPOCH,
  TIMESTAMP_TYPE_BIT,
} from '../protocol/records/batch-header.js';
import { BatchCursor } from '../protocol/records/batch-iterator.js';
import type { LogConfig } from './config.js';
import { LogError } from './errors.js';
import { writeInt64 } from './file-io.js';
import type { LogState } from './log-state.js';
import type { ProducerBatch } from './producer-state.js';
import type { Segment } from './segment.js';

export interface ParsedBatch extends ProducerBatch {
  pos: number;
  size: number;
}

const EMPTY = Buffer.alloc(0);
const MAX_SEGMENT_BYTES = 0x7fffffff; // index positions are int32
/** The append path's walk (synchronous, so one cursor serves every log). */
const walk = new BatchCursor();

/** Splits an append into batches with the sanity checks the write path relies on. */
export function parseAppend(data: Buffer, config: LogConfig): ParsedBatch[] {
  const out: ParsedBatch[] = [];
  if (data.length === 0) throw new LogError('CORRUPT_MESSAGE', 'empty append');
  const c = walk.reset(data);
  while (c.next()) {
    const pos = c.position;
    const size = c.size;
    if (c.magic !== 2) throw new LogError('CORRUPT_MESSAGE', `unsupported magic at byte ${pos}`);
    if (size > config.maxMessageBytes) {
      throw new LogError('MESSAGE_TOO_LARGE', `batch of ${size} bytes exceeds max.message.bytes ${config.maxMessageBytes}`);
    }
    const lastOffsetDelta = c.lastOffsetDelta;
    if (lastOffsetDelta < 0) throw new LogError('CORRUPT_MESSAGE', `negative lastOffsetDelta at byte ${pos}`);
    out.push({
      pos,
      size,
      lastOffsetDelta,
      attributes: c.attributes,
      maxTimestamp: c.maxTimestamp,
      producerId: c.producerId,
      producerEpoch: c.producerEpoch,
      baseSequence: c.baseSequence,
    });
  }
  if (c.stop !== 'end') {
    const pos = c.position;
    if (c.available < HEADER_SIZE) throw new LogError('CORRUPT_MESSAGE', `truncated batch header at byte ${pos}`);
    throw new LogError('CORRUPT_MESSAGE', `bad batch length at byte ${pos}`);
  }
  c.reset(EMPTY);
  if (data.length > maxSegmentBytes(config)) {
    throw new LogError('MESSAGE_TOO_LARGE', `append of ${data.length} bytes exceeds segment.bytes ${config.segmentBytes}`);
  }
  return out;
}

function maxSegmentBytes(config: LogConfig): number {
  return Math.min(config.segmentBytes, MAX_SEGMENT_BYTES);
}

/** True when an append of `bytes` (batches `batches`, received at `now`) must start a new segment. */
export function mustRoll(s: LogState, seg: Segment, bytes: number, now: number, batches: ParsedBatch[]): boolean {
  if (seg.epoch !== s.epoch) return true;
  if (seg.size === 0) return false;
  if (seg.size + bytes > maxSegmentBytes(s.config)) return true;
  // As Kafka: compare batch time with the segment's first batch, else wall time with creation.
  const ts = s.config.timestampType === 'LogAppendTime' ? now : Math.max(...batches.map((b) => b.maxTimestamp));
  const waited = seg.firstBatchTimestamp >= 0 && ts >= 0 ? ts - seg.firstBatchTimestamp : now - seg.createdMs;
  return waited >= s.config.segmentMs;
}

/**
 * Patches offsets, epoch (and LogAppendTime) into the batches and records them in memory: the
 * segment's summary, producer state and the log end. Returns the LogAppendTime or -1.
 */
export function assignOffsets(s: LogState, data: Buffer, batches: ParsedBatch[], seg: Segment, now: number): number {
  const logAppendTime = s.config.timestampType === 'LogAppendTime';
  let offset = s.endOffset;
  let position = seg.size;
  for (const b of batches) {
    writeInt64(data, b.pos + BASE_OFFSET, offset);
    data.writeInt32BE(s.epoch, b.pos + PARTITION_LEADER_EPOCH);
    if (logAppendTime) {
      b.attributes |= TIMESTAMP_TYPE_BIT;
      b.maxTimestamp = now;
      data.writeInt16BE(b.attributes, b.pos + ATTRIBUTES);
      writeInt64(data, b.pos + MAX_TIMESTAMP, now);
      data.writeUInt32BE(crc32c(data.subarray(b.pos + CRC_START, b.pos + b.size)), b.pos + CRC);
    }
    seg.onAppend(offset, offset + b.lastOffsetDelta, b.maxTimestamp, position, b.size, s.config.indexIntervalBytes);
    s.producerState.apply(b, offset);
    offset += b.lastOffsetDelta + 1;
    position += b.size;
  }
  seg.size = position;
  s.endOffset = offset;
  return logAppendTime ? now : -1;
}
