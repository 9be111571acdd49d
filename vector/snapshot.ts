import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fsyncDir } from '../broker/log/atomic-file.js';
import type { Key, StoredRow } from './rows.js';

/**
 * A snapshot directory `snapshots/<nextOffset, 20 digits>/` holds one hnswlib file per vector column
 * (`<column>.hnsw`), `rows.jsonl` (every live row with its label) and `meta.json`, written last.
 * It is built under a temporary name and renamed into place, so a directory with a final name is complete.
 */
export interface SnapshotMeta {
  version: 1;
  /** First changelog offset NOT covered by this snapshot. */
  nextOffset: number;
  nextLabel: number;
  /** Labels below this are in the index files; rows with higher labels are the exact-search tail. */
  indexedLimit: number;
  /** Index elements that are marked deleted (space to reclaim on rebuild). */
  deadInIndex: number;
  rowCount: number;
  vectors: string[];
  createdAt: string;
}

export interface SnapshotRow {
  label: number;
  row: StoredRow;
}

interface RowLine {
  l: number;
  k: Key;
  v: Record<string, unknown>;
  x: Record<string, string>;
}

const SNAP_DIR = /^\d{20}$/;

export function snapshotsDir(tableDir: string): string {
  return join(tableDir, 'snapshots');
}

export function indexFile(dir: string, column: string): string {
  return join(dir, `${column}.hnsw`);
}

/** Creates an empty temporary snapshot directory (index files are written into it by the workers). */
export async function createSnapshotTemp(tableDir: string): Promise<string> {
  const dir = join(snapshotsDir(tableDir), `.tmp-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

function encodeVector(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

function decodeVector(s: string): Float32Array {
  const b = Buffer.from(s, 'base64');
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/** Writes rows + meta into the temp dir, fsyncs it and renames it into place. Returns the final dir. */
export async function commitSnapshot<T>(
  tableDir: string,
  tmp: string,
  meta: SnapshotMeta,
  rows: readonly T[],
  toRow: (item: T) => SnapshotRow,
): Promise<string> {
  const fh = await open(join(tmp, 'rows.jsonl'), 'w');
  try {
    const CHUNK = 2000;
    for (let i = 0; i < rows.length; i += CHUNK) {
      let text = '';
      for (let j = i; j < Math.min(rows.length, i + CHUNK); j++) {
        const { label, row } = toRow(rows[j]!);
        const x: Record<string, string> = {};
        for (const [name, vec] of Object.entries(row.vectors)) x[name] = encodeVector(vec);
        const line: RowLine = { l: label, k: row.key, v: row.values, x };
        text += JSON.stringify(line) + '\n';
      }
      await fh.write(text);
      // Yield between chunks so a large snapshot does not stall searches.
      await new Promise((r) => setImmediate(r));
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  // fsyncDir opens read-only and fsyncs, which works for the worker-written index files too.
  for (const col of meta.vectors) await fsyncDir(indexFile(tmp, col));
  const metaFh = await open(join(tmp, 'meta.json'), 'w');
  try {
    await metaFh.writeFile(JSON.stringify(meta, null, 2));
    await metaFh.sync();
  } finally {
    await metaFh.close();
  }
  await fsyncDir(tmp);
  const final = join(snapshotsDir(tableDir), String(meta.nextOffset).padStart(20, '0'));
  await rm(final, { recursive: true, force: true });
  await rename(tmp, final);
  await fsyncDir(snapshotsDir(tableDir));
  return final;
}

/** Complete snapshot dirs, newest first. */
export async function listSnapshots(tableDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(snapshotsDir(tableDir));
  } catch {
    return [];
  }
  return names
    .filter((n) => SNAP_DIR.test(n))
    .sort()
    .reverse()
    .map((n) => join(snapshotsDir(tableDir), n));
}

/** Removes leftovers of interrupted snapshot writes and all snapshots except `keep`. */
export async function pruneSnapshots(tableDir: string, keep: string | undefined): Promise<void> {
  let names: string[];
  try {
    names = await readdir(snapshotsDir(tableDir));
  } catch {
    return;
  }
  for (const n of names) {
    const p = join(snapshotsDir(tableDir), n);
    if (p !== keep && (SNAP_DIR.test(n) || n.startsWith('.tmp-'))) await rm(p, { recursive: true, force: true });
  }
}

export async function readSnapshotMeta(dir: string): Promise<SnapshotMeta> {
  const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as SnapshotMeta;
  if (meta.version !== 1) throw new Error(`snapshot ${dir}: unsupported version ${String(meta.version)}`);
  return meta;
}

export async function* readSnapshotRows(dir: string): AsyncGenerator<SnapshotRow> {
  const rl = createInterface({ input: createReadStream(join(dir, 'rows.jsonl'), 'utf8'), crlfDelay: Infinity });
  for await (const text of rl) {
    if (text.length === 0) continue;
    const line = JSON.parse(text) as RowLine;
    const vectors: Record<string, Float32Array> = {};
    for (const [name, enc] of Object.entries(line.x)) vectors[name] = decodeVector(enc);
    yield { label: line.l, row: { key: line.k, values: line.v, vectors } };
  }
}
