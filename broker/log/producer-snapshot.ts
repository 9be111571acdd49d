import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import type { ProducerEntry } from './producer-state.js';
import { parseSnapshotName, snapshotName } from './segment-files.js';

interface SnapshotFile {
  version: 1;
  offset: number;
  producers: ProducerEntry[];
  /** Leader epoch of the writer (absent in older files). */
  epoch?: number;
}

/** Producer state as of `offset` (covers every batch below it), written by the leader of `epoch`. */
export async function writeProducerSnapshot(dir: string, offset: number, producers: ProducerEntry[], epoch?: number): Promise<void> {
  const body: SnapshotFile = { version: 1, offset, producers, ...(epoch === undefined ? {} : { epoch }) };
  await writeFileAtomic(join(dir, snapshotName(offset)), JSON.stringify(body));
}

async function snapshotOffsets(dir: string): Promise<number[]> {
  const names = await readdir(dir);
  return names.map(parseSnapshotName).filter((o): o is number => o !== null).sort((a, b) => a - b);
}

/**
 * The newest readable snapshot at or below `maxOffset` that `accept`s (offset, writer epoch).
 * Snapshots above it describe data that no longer exists (a truncated tail) and are deleted.
 */
export async function loadProducerSnapshot(
  dir: string,
  maxOffset: number,
  accept: (offset: number, epoch: number | undefined) => boolean = () => true,
): Promise<{ offset: number; producers: ProducerEntry[] } | null> {
  const offsets = await snapshotOffsets(dir);
  for (const o of offsets) if (o > maxOffset) await unlink(join(dir, snapshotName(o)));
  for (const o of offsets.filter((x) => x <= maxOffset).reverse()) {
    try {
      const parsed = JSON.parse(await readFile(join(dir, snapshotName(o)), 'utf8')) as SnapshotFile;
      if (parsed.version === 1 && parsed.offset === o && Array.isArray(parsed.producers) && accept(o, parsed.epoch)) return { offset: o, producers: parsed.producers };
    } catch {
      // An unreadable snapshot only costs a longer replay.
    }
  }
  return null;
}

/** Keeps the newest `keep` snapshots. */
export async function pruneProducerSnapshots(dir: string, keep: number): Promise<void> {
  const offsets = await snapshotOffsets(dir);
  for (const o of offsets.slice(0, Math.max(0, offsets.length - keep))) {
    await unlink(join(dir, snapshotName(o))).catch(() => {});
  }
}
