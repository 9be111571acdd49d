import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';

/** Where the last cleaning of a partition stopped; lives next to its segments. */
export interface CleanerCheckpoint {
  version: 1;
  /** Offsets below this were cleaned (no duplicate keys remain there). */
  firstDirtyOffset: number;
  /** Earliest delete horizon of a tombstone kept by the last cleaning, -1 when none. */
  nextDeleteHorizonMs: number;
}

export const CLEANER_CHECKPOINT_FILE = 'cleaner-checkpoint.json';

/** Missing or unreadable checkpoints mean "everything is dirty", which is always safe. */
export async function loadCleanerCheckpoint(dir: string): Promise<CleanerCheckpoint | null> {
  let text: string;
  try {
    text = await readFile(join(dir, CLEANER_CHECKPOINT_FILE), 'utf8');
  } catch {
    return null;
  }
  try {
    const c = JSON.parse(text) as Partial<CleanerCheckpoint>;
    if (c.version !== 1 || typeof c.firstDirtyOffset !== 'number' || typeof c.nextDeleteHorizonMs !== 'number') return null;
    return { version: 1, firstDirtyOffset: c.firstDirtyOffset, nextDeleteHorizonMs: c.nextDeleteHorizonMs };
  } catch {
    return null;
  }
}

export function saveCleanerCheckpoint(dir: string, c: CleanerCheckpoint): Promise<void> {
  return writeFileAtomic(join(dir, CLEANER_CHECKPOINT_FILE), JSON.stringify(c));
}
