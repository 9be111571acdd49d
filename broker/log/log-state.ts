// The in-memory state of one partition log. The facade (PartitionLog), the append pipeline and
// retention share this one object, so none of them keeps a copy that could drift.
import type { LogConfig } from './config.js';
import type { Logger } from './logger.js';
import type { ProducerStateManager } from './producer-state.js';
import type { Segment } from './segment.js';

export interface LogState {
  readonly dir: string;
  config: LogConfig;
  readonly logger: Logger;
  readonly producerState: ProducerStateManager;
  /** Leader epoch new appends are written under. */
  epoch: number;
  /** Oldest first; the last one is the active segment. */
  segments: Segment[];
  startOffset: number;
  /** Next offset to assign (includes data not yet durable). */
  endOffset: number;
  /** End of the durable (and acknowledged) data. */
  hw: number;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** -1 unless the topic uses LogAppendTime. */
  logAppendTime: number;
  logStartOffset: number;
  duplicate: boolean;
}

/** Producer snapshots kept on disk (taken at each roll and at close). */
export const SNAPSHOTS_KEPT = 3;

export function activeSegment(s: LogState): Segment {
  return s.segments[s.segments.length - 1]!;
}

/** Bytes in all segments (including appends not yet durable). */
export function sizeBytes(s: LogState): number {
  return s.segments.reduce((n, seg) => n + seg.size, 0);
}
