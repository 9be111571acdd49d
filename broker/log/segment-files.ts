import { join } from 'node:path';

export type SegmentFileKind = 'log' | 'index' | 'timeindex';

/** `00000000000000001234-e7`: base offset (20 digits) and the epoch of the writer that created it. */
export function segmentStem(baseOffset: number, epoch: number): string {
  return `${String(baseOffset).padStart(20, '0')}-e${epoch}`;
}

export function segmentPath(dir: string, baseOffset: number, epoch: number, kind: SegmentFileKind): string {
  return join(dir, `${segmentStem(baseOffset, epoch)}.${kind}`);
}

export interface ParsedSegmentFile {
  baseOffset: number;
  epoch: number;
  kind: SegmentFileKind;
  /** Trailing state suffix such as '.swap', '.cleaned', '.deleted'; '' for a live file. */
  suffix: string;
}

const SEGMENT_FILE = /^(\d{20})-e(\d+)\.(log|index|timeindex)((?:\.[a-z]+)?)$/;

export function parseSegmentFile(name: string): ParsedSegmentFile | null {
  const m = SEGMENT_FILE.exec(name);
  if (m === null) return null;
  return { baseOffset: Number(m[1]), epoch: Number(m[2]), kind: m[3] as SegmentFileKind, suffix: m[4] ?? '' };
}

const SNAPSHOT_FILE = /^(\d{20})\.snapshot$/;

export function snapshotName(offset: number): string {
  return `${String(offset).padStart(20, '0')}.snapshot`;
}

export function parseSnapshotName(name: string): number | null {
  const m = SNAPSHOT_FILE.exec(name);
  return m === null ? null : Number(m[1]);
}
