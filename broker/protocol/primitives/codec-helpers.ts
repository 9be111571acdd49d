import { ProtocolError, Reader } from './reader.js';
import type { Writer } from './writer.js';

export const EMPTY = Buffer.alloc(0);

/** What generated writers accept: every field optional (defaults fill the gaps), recursively. */
export type Input<T> = T extends Buffer
  ? T
  : T extends (infer U)[]
    ? Input<U>[]
    : T extends object
      ? { [K in keyof T]?: Input<T[K]> }
      : T;

export function readArray<T>(r: Reader, flex: boolean, nullable: boolean, elem: (r: Reader) => T): T[] | any {
  const n = flex ? r.compactArrayLength() : r.arrayLength();
  if (n < 0) {
    if (!nullable) throw new ProtocolError('null array in non-nullable field');
    return null;
  }
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++) out[i] = elem(r);
  return out;
}

export function writeArray<T>(w: Writer, flex: boolean, nullable: boolean, arr: T[] | null | undefined, elem: (w: Writer, e: T) => void): void {
  if (arr == null) {
    if (!nullable) arr = [];
    else {
      if (flex) w.uvarint(0);
      else w.int32(-1);
      return;
    }
  }
  if (flex) w.uvarint(arr.length + 1);
  else w.int32(arr.length);
  for (const e of arr) elem(w, e);
}

export function writeTags(w: Writer, tags: Array<[number, Buffer]>): void {
  w.uvarint(tags.length);
  for (const [tag, buf] of tags) {
    w.uvarint(tag);
    w.uvarint(buf.length);
    w.raw(buf);
  }
}
