// Moving the log start: DeleteRecords, and retention deleting whole sealed segments past
// retention.ms or retention.bytes. Both confirm the lease before they change any file.
import { LogError } from './errors.js';
import { type LogState, sizeBytes } from './log-state.js';
import type { Segment } from './segment.js';

export interface RetentionDeps {
  /** Rejects unless this writer still holds its lease (cluster); absent on a single node. */
  checkLease: (() => Promise<void>) | undefined;
  /** Persists the new log start; the lease was just checked. */
  saveStart: () => Promise<void>;
  /** Removes segments that left the log (their files go once no read holds them). */
  retire: (doomed: Segment[]) => Promise<void>;
}

const DEFAULT_PRODUCER_EXPIRATION_MS = 86400000;

/** DeleteRecords: moves the log start (at most to the high watermark); returns the new start. */
export async function deleteRecordsBefore(s: LogState, offset: number, deps: RetentionDeps): Promise<number> {
  if (offset < 0 || offset > s.hw) {
    throw new LogError('OFFSET_OUT_OF_RANGE', `cannot delete before ${offset}: high watermark is ${s.hw}`);
  }
  if (offset <= s.startOffset) return s.startOffset;
  await deps.checkLease?.();
  s.startOffset = offset;
  await deps.saveStart();
  const doomed: Segment[] = [];
  while (s.segments.length > 1 && s.segments[1]!.baseOffset <= offset) doomed.push(s.segments.shift()!);
  await deps.retire(doomed);
  return s.startOffset;
}

/** Deletes whole sealed segments past retention.ms or retention.bytes; returns bytes freed. */
export async function enforceRetention(s: LogState, now: number, deps: RetentionDeps): Promise<number> {
  s.producerState.expire(now, s.config.producerIdExpirationMs ?? DEFAULT_PRODUCER_EXPIRATION_MS);
  if (retentionCount(s, now) === 0) return 0;
  await deps.checkLease?.();
  // Counted again: appends or compaction may have changed the segments during the check.
  const count = retentionCount(s, now);
  if (count === 0) return 0;
  const doomed = s.segments.splice(0, count);
  s.startOffset = Math.max(s.startOffset, s.segments[0]!.baseOffset);
  await deps.saveStart();
  await deps.retire(doomed);
  const freed = doomed.reduce((n, seg) => n + seg.size, 0);
  s.logger.info({ dir: s.dir, segments: count, bytes: freed, logStartOffset: s.startOffset }, 'retention deleted segments');
  return freed;
}

/** How many leading sealed segments are past retention.ms or retention.bytes. */
function retentionCount(s: LogState, now: number): number {
  const { retentionMs, retentionBytes } = s.config;
  let count = 0;
  let excess = retentionBytes >= 0 ? sizeBytes(s) - retentionBytes : 0;
  // Never the active segment, and never past the high watermark.
  while (count < s.segments.length - 1 && s.segments[count + 1]!.baseOffset <= s.hw) {
    const seg = s.segments[count]!;
    const newest = seg.maxTimestamp >= 0 ? seg.maxTimestamp : seg.lastModifiedMs;
    const expired = retentionMs >= 0 && now - newest > retentionMs;
    const oversize = retentionBytes >= 0 && excess - seg.size >= 0;
    if (!expired && !oversize) break;
    excess -= seg.size;
    count++;
  }
  return count;
}
