import { createHash } from 'node:crypto';

/** Keys up to this many bytes are stored as is; longer ones by digest, to bound memory. */
const INLINE_KEY_BYTES = 64;

/** Record key -> highest offset seen for it: the cleaner's dedupe map. */
export class KeyOffsetMap {
  private readonly map = new Map<string, number>();

  /** Records `offset` for `key`; offsets arrive in increasing order, so the last put wins. */
  put(key: Buffer, offset: number): void {
    this.map.set(mapKey(key), offset);
  }

  get(key: Buffer): number | undefined {
    return this.map.get(mapKey(key));
  }

  get size(): number {
    return this.map.size;
  }
}

function mapKey(key: Buffer): string {
  // Distinct prefixes keep a raw key from ever equalling a digest.
  if (key.length <= INLINE_KEY_BYTES) return `r${key.toString('latin1')}`;
  return `h${createHash('sha256').update(key).digest('base64')}`;
}
