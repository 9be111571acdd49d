import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import type { EpochEntry } from './epoch-history.js';

export interface PartitionMeta {
  version: 1;
  logStartOffset: number;
  epochs: EpochEntry[];
  /** Present only between a clean close and the next open: the active segment needs no scan. */
  cleanShutdown?: { activeBaseOffset: number; activeSize: number };
}

export const META_FILE = 'partition.json';

/** partition.json: written atomically; saves are serialized so the last call's content wins. */
export class PartitionMetaStore {
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly dir: string) {}

  async load(): Promise<PartitionMeta | null> {
    let text: string;
    try {
      text = await readFile(join(this.dir, META_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const meta = JSON.parse(text) as PartitionMeta;
    if (meta.version !== 1 || typeof meta.logStartOffset !== 'number' || !Array.isArray(meta.epochs)) {
      throw new Error(`${join(this.dir, META_FILE)}: unrecognized content`);
    }
    return meta;
  }

  save(meta: PartitionMeta): Promise<void> {
    const body = JSON.stringify(meta);
    const next = this.chain.then(() => writeFileAtomic(join(this.dir, META_FILE), body));
    this.chain = next.catch(() => {});
    return next;
  }
}
