// Bundled function code on the shared medium: <data>/functions/<name>/v<N>-<sha8>.mjs.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../broker/log/atomic-file.js';

export class ArtifactStore {
  constructor(readonly dir: string) {}

  pathOf(name: string, file: string): string {
    return join(this.dir, name, file);
  }

  async save(name: string, version: number, code: Buffer): Promise<{ file: string; sha256: string }> {
    const sha256 = createHash('sha256').update(code).digest('hex');
    const file = `v${version}-${sha256.slice(0, 8)}.mjs`;
    await mkdir(join(this.dir, name), { recursive: true });
    await writeFileAtomic(this.pathOf(name, file), code);
    return { file, sha256 };
  }

  read(name: string, file: string): Promise<Buffer> {
    return readFile(this.pathOf(name, file));
  }

  async remove(name: string, file: string): Promise<void> {
    await rm(this.pathOf(name, file), { force: true });
  }

  async removeAll(name: string): Promise<void> {
    await rm(join(this.dir, name), { recursive: true, force: true });
  }
}
