import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readdir, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalOffsetStore } from '../../broker/groups/local-offset-store.js';
import type { OffsetWrite } from '../../broker/groups/offset-store.js';

function w(topic: string, partition: number, offset: number, metadata = ''): OffsetWrite {
  return { topic, partition, value: { offset, leaderEpoch: 1, metadata, commitTimestamp: 1000 + offset, expireTimestamp: null } };
}

function offsetOf(s: LocalOffsetStore, g: string, t: string, p: number): number | undefined {
  return s.offsets(g)?.get(t)?.get(p)?.offset;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'floe-offsets-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('LocalOffsetStore', () => {
  it('keeps commits and deletes across close and reopen', async () => {
    const s = new LocalOffsetStore(dir);
    await s.open();
    await s.commit('g1', [w('t', 0, 5, 'hello'), w('t', 1, 6)]);
    await s.commit('g2', [w('t', 0, 7)]);
    await s.commit('g1', [w('t', 0, 8)]);
    await s.delete('g1', [{ topic: 't', partition: 1 }]);
    await s.commit('g3', [w('x', 0, 1)]);
    await s.delete('g3', null);
    await s.close();

    const r = new LocalOffsetStore(dir);
    await r.open();
    expect(r.groupIds().sort()).toEqual(['g1', 'g2']);
    expect(r.offsets('g1')?.get('t')?.get(0)).toEqual({ offset: 8, leaderEpoch: 1, metadata: '', commitTimestamp: 1008, expireTimestamp: null });
    expect(offsetOf(r, 'g1', 't', 1)).toBeUndefined();
    expect(offsetOf(r, 'g2', 't', 0)).toBe(7);
    await r.close();
  });

  it('group-commits concurrent commits into few fsyncs', async () => {
    const s = new LocalOffsetStore(dir);
    await s.open();
    await Promise.all(Array.from({ length: 200 }, (_, i) => s.commit('g', [w('t', i, i)])));
    expect(s.fsyncCount).toBeLessThan(20);
    expect(s.fsyncCount).toBeGreaterThan(0);
    await s.close();
    const r = new LocalOffsetStore(dir);
    await r.open();
    expect(offsetOf(r, 'g', 't', 199)).toBe(199);
    await r.close();
  });

  it('drops a torn last record and keeps appending after it', async () => {
    const s = new LocalOffsetStore(dir);
    await s.open();
    await s.commit('g', [w('t', 0, 1)]);
    await s.commit('g', [w('t', 0, 2)]);
    await s.close();
    const [journal] = (await readdir(dir)).filter((f) => f.endsWith('.journal'));
    const path = join(dir, journal!);
    const size = (await stat(path)).size;
    await truncate(path, size - 3); // the second record is now torn

    const r = new LocalOffsetStore(dir);
    await r.open();
    expect(offsetOf(r, 'g', 't', 0)).toBe(1);
    await r.commit('g', [w('t', 1, 3)]);
    await r.close();

    // Garbage after valid records (a crash mid-write) is ignored as well.
    await appendFile(path, Buffer.from([0, 0, 0, 9, 1, 2, 3, 4, 5]));
    const again = new LocalOffsetStore(dir);
    await again.open();
    expect(offsetOf(again, 'g', 't', 0)).toBe(1);
    expect(offsetOf(again, 'g', 't', 1)).toBe(3);
    await again.close();
  });

  it('compacts the journal into a snapshot and replays both', async () => {
    const s = new LocalOffsetStore(dir, { compactBytes: 2048 });
    await s.open();
    for (let i = 0; i < 300; i++) await s.commit(`g${i % 7}`, [w('t', i % 5, i)]);
    await s.delete('g0', null);
    await s.delete('g1', [{ topic: 't', partition: 1 }]);
    expect(s.compactionCount).toBeGreaterThan(0);
    const files = await readdir(dir);
    expect(files).toContain('offsets.snapshot');
    expect(files.filter((f) => f.endsWith('.journal')).length).toBe(1);
    const expected = new Map<string, number | undefined>();
    for (let g = 0; g < 7; g++) for (let p = 0; p < 5; p++) expected.set(`g${g}/${p}`, offsetOf(s, `g${g}`, 't', p));
    await s.close();

    const r = new LocalOffsetStore(dir, { compactBytes: 2048 });
    await r.open();
    for (let g = 0; g < 7; g++) for (let p = 0; p < 5; p++) expect(offsetOf(r, `g${g}`, 't', p)).toBe(expected.get(`g${g}/${p}`));
    expect(r.offsets('g0')).toBeUndefined();
    expect(offsetOf(r, 'g1', 't', 1)).toBeUndefined();
    expect(offsetOf(r, 'g2', 't', 4)).toBeDefined();
    await r.close();
  });

  it('never loses an acknowledged commit when the process is killed with SIGKILL', async () => {
    const script = join(import.meta.dirname, 'fixtures', 'commit-forever.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acked = -1;
    let buffered = '';
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const l of lines) if (l.startsWith('acked ')) acked = Math.max(acked, Number(l.slice(6)));
        if (acked >= 300) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => resolve());
    });
    await new Promise((r) => child.once('exit', r).once('close', r));
    expect(acked).toBeGreaterThanOrEqual(300);

    const r = new LocalOffsetStore(dir, { compactBytes: 4096 });
    await r.open();
    // Commit i sets partition i % 8 to offset i, and the child only acks in order per partition.
    for (let i = Math.max(0, acked - 7); i <= acked; i++) {
      expect(offsetOf(r, 'g', 't', i % 8)).toBeGreaterThanOrEqual(i);
    }
    await r.close();
  }, 60_000);
});
