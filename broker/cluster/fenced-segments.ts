// Segment files a fenced writer created after its lease ended. Epochs only grow along a log, so a
// file whose epoch is below that of a file starting before it was rolled by a zombie (an old
// leader woken after its takeover) and holds nothing any reader may see.
import { unlink } from 'node:fs/promises';
import { segmentPath, type ParsedSegmentFile } from '../log/segment-files.js';

/** Splits log segment files (any order) into the live chain, by base offset, and the fenced rest. */
export function splitFencedSegments(files: readonly ParsedSegmentFile[]): { live: ParsedSegmentFile[]; fenced: ParsedSegmentFile[] } {
  const sorted = [...files].sort((a, b) => a.baseOffset - b.baseOffset || b.epoch - a.epoch);
  const live: ParsedSegmentFile[] = [];
  const fenced: ParsedSegmentFile[] = [];
  let maxEpoch = -1;
  for (const f of sorted) {
    const prev = live[live.length - 1];
    // Same base offset: the newer epoch replaced an empty segment (kept first by the sort).
    if (prev !== undefined && prev.baseOffset === f.baseOffset) continue;
    if (f.epoch < maxEpoch) {
      fenced.push(f);
      continue;
    }
    maxEpoch = f.epoch;
    live.push(f);
  }
  return { live, fenced };
}

/** Deletes fenced segment files (with their indexes) before a new writer opens the log. */
export async function removeFencedSegments(dir: string, files: readonly ParsedSegmentFile[]): Promise<number> {
  const { fenced } = splitFencedSegments(files);
  for (const f of fenced) {
    for (const kind of ['log', 'index', 'timeindex'] as const) await unlink(segmentPath(dir, f.baseOffset, f.epoch, kind)).catch(() => {});
  }
  return fenced.length;
}
