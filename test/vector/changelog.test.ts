import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryChangelog, type ChangeEntry } from '../../vector/changelog.js';
import { FileChangelog } from '../../vector/file-changelog.js';
import { tempDir } from './helpers.js';

async function readAll(cl: { read: FileChangelog['read'] }, from = 0) {
  const got: [number, ChangeEntry][] = [];
  const next = await cl.read(from, (e, o) => {
    got.push([o, e]);
  });
  return { got, next };
}

describe('changelogs', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.cleanup());

  it('memory changelog assigns consecutive offsets and copies entries', async () => {
    const cl = new MemoryChangelog();
    const row = { id: 'a', v: [1, 2] };
    expect(await cl.append([{ op: 'upsert', key: 'a', row }])).toBe(0);
    row.v[0] = 99;
    expect(await cl.append([{ op: 'delete', key: 'a' }, { op: 'delete', key: 'b' }])).toBe(2);
    const { got, next } = await readAll(cl, 1);
    expect(next).toBe(3);
    expect(got).toEqual([
      [1, { op: 'delete', key: 'a' }],
      [2, { op: 'delete', key: 'b' }],
    ]);
    expect((await readAll(cl)).got[0]![1].row).toEqual({ id: 'a', v: [1, 2] });
  });

  it('file changelog survives reopen and reads from any offset, including unicode', async () => {
    const path = join(tmp.dir, 'cl', 'changelog.jsonl');
    const cl = await FileChangelog.open(path);
    const entries: ChangeEntry[] = Array.from({ length: 100 }, (_, i) => ({ op: 'upsert', key: `k${i}`, row: { t: 'é✓😀'.repeat(i) } }));
    expect(await cl.append(entries.slice(0, 60))).toBe(59);
    expect(await cl.append(entries.slice(60))).toBe(99);
    await cl.close();
    const again = await FileChangelog.open(path);
    expect(again.length).toBe(100);
    const { got, next } = await readAll(again, 57);
    expect(next).toBe(100);
    expect(got.map(([o]) => o)).toEqual(Array.from({ length: 43 }, (_, i) => 57 + i));
    expect(got.map(([, e]) => e)).toEqual(entries.slice(57));
    expect((await readAll(again, 500)).next).toBe(500);
    expect(await again.append([{ op: 'delete', key: 'k1' }])).toBe(100);
    await again.close();
  });

  it('file changelog drops a torn last line on open and keeps appending after it', async () => {
    const path = join(tmp.dir, 'changelog.jsonl');
    const cl = await FileChangelog.open(path);
    await cl.append([{ op: 'delete', key: 'a' }, { op: 'delete', key: 'b' }]);
    await cl.close();
    appendFileSync(path, '{"op":"delete","ke');
    const re = await FileChangelog.open(path);
    expect(re.length).toBe(2);
    expect(await re.append([{ op: 'delete', key: 'c' }])).toBe(2);
    await re.close();
    expect(readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l).key)).toEqual(['a', 'b', 'c']);
  });

  it('an empty file is an empty changelog', async () => {
    const path = join(tmp.dir, 'empty.jsonl');
    writeFileSync(path, '');
    const cl = await FileChangelog.open(path);
    expect((await readAll(cl)).next).toBe(0);
    expect(await cl.append([])).toBe(-1);
    await cl.close();
  });
});
