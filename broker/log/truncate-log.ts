// Takeover truncation: cuts a closed log's files back to the last offset the previous writer
// acknowledged, so the next open sees exactly the offsets below it.
import { open, readdir, truncate, unlink } from 'node:fs/promises';
import { fsyncDir } from './atomic-file.js';
import { scanBatches } from './batch-scan.js';
import type { Logger } from './logger.js';
import { parseSegmentFile, segmentPath, type ParsedSegmentFile } from './segment-files.js';

/** Drops every batch at or past `endOffset` of the log in `dir` (not open); returns the bytes dropped. */
export async function truncateLogTo(dir: string, endOffset: number, logger: Logger): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  const files = names
    .map(parseSegmentFile)
    .filter((f): f is ParsedSegmentFile => f !== null && f.kind === 'log' && f.suffix === '')
    .sort((a, b) => a.baseOffset - b.baseOffset || a.epoch - b.epoch);
  let dropped = 0;
  const remove = async (f: ParsedSegmentFile): Promise<void> => {
    for (const kind of ['log', 'index', 'timeindex'] as const) await unlink(segmentPath(dir, f.baseOffset, f.epoch, kind)).catch(() => {});
  };
  // Whole segments past the end go; the first one is kept (emptied) so the log keeps its start.
  while (files.length > 1 && files[files.length - 1]!.baseOffset >= endOffset) {
    const f = files.pop()!;
    dropped += (await open(segmentPath(dir, f.baseOffset, f.epoch, 'log'), 'r').then(async (fh) => {
      try {
        return (await fh.stat()).size;
      } finally {
        await fh.close();
      }
    }).catch(() => 0));
    await remove(f);
  }
  const last = files[files.length - 1];
  if (last !== undefined) {
    const path = segmentPath(dir, last.baseOffset, last.epoch, 'log');
    const fh = await open(path, 'r+');
    try {
      const size = (await fh.stat()).size;
      let cut = size;
      if (last.baseOffset >= endOffset) cut = 0;
      else {
        const res = await scanBatches(fh, 0, size, {}, (h, position) => {
          if (h.baseOffset >= endOffset) {
            cut = position;
            return false;
          }
          return true;
        });
        if (res.stop !== 'stopped') cut = res.end;
      }
      if (cut < size) {
        await fh.truncate(cut);
        await fh.datasync();
        dropped += size - cut;
        // Indexes may point past the cut; they are rebuilt on open.
        for (const kind of ['index', 'timeindex'] as const) await truncate(segmentPath(dir, last.baseOffset, last.epoch, kind), 0).catch(() => {});
      }
    } finally {
      await fh.close();
    }
  }
  await fsyncDir(dir);
  if (dropped > 0) logger.warn({ dir, endOffset, dropped }, 'truncated the log to the sealed end of the previous epoch');
  return dropped;
}
