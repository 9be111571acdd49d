// A zombie: the previous leader of a partition, paused past its lease, resumes after the new leader
// has taken over and rolled. Whatever it then writes (late bytes in what is now a middle segment,
// a new segment, indexes, a producer snapshot) must never be trusted by a reader or a later leader.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LOG_CONFIG, FsyncScheduler, PartitionLog } from '../../broker/log/index.js';
import { SharedPartitionReader } from '../../broker/cluster/shared-reader.js';
import { removeFencedSegments } from '../../broker/cluster/fenced-segments.js';
import { parseSegmentFile, type ParsedSegmentFile } from '../../broker/log/segment-files.js';
import { buildBatch, decodeBatches } from '../log/batch-builder.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const T0 = 1_700_000_000_000;
/** The zombie's late records carry timestamps no acknowledged record has. */
const LATE_TS = T0 + 100_000_000; // within segment.ms, so no time-based roll
const P = 7; // the test's idempotent producer
const Q = 8; // a producer only the zombie ever wrote for

async function openLog(dir: string, epoch: number): Promise<PartitionLog> {
  return PartitionLog.open(dir, { config: { ...DEFAULT_LOG_CONFIG, segmentBytes: 2048 }, leaderEpoch: epoch, syncer: new FsyncScheduler() });
}

function batch(prefix: string, n: number, opts: { producerId?: number; baseSequence?: number; ts?: number; pad?: number } = {}): Buffer {
  const records = Array.from({ length: n }, (_, i) => ({ value: `${prefix}${i}${'z'.repeat(opts.pad ?? 0)}`, timestamp: (opts.ts ?? T0) + i }));
  return buildBatch(records, opts.producerId === undefined ? {} : { producerId: opts.producerId, producerEpoch: 0, baseSequence: opts.baseSequence ?? 0 });
}

function logFiles(dir: string): ParsedSegmentFile[] {
  return readdirSync(dir)
    .map(parseSegmentFile)
    .filter((f): f is ParsedSegmentFile => f !== null && f.kind === 'log' && f.suffix === '');
}

const valuesOf = (data: Buffer): string[] => decodeBatches(data).flatMap((b) => b.values.map((v) => v.replace(/z+$/, '')));

/** What a takeover does before opening the log (ClusterManager.acquirePartition). */
async function takeOver(dir: string, sealedEnd: number, epoch: number): Promise<PartitionLog> {
  await removeFencedSegments(dir, logFiles(dir));
  await PartitionLog.truncateTo(dir, sealedEnd);
  const log = await openLog(dir, epoch);
  expect(log.logEndOffset).toBe(sealedEnd);
  return log;
}

describe('zombie writer', () => {
  it('resumed after the new leader rolled: its late bytes, segments, indexes and snapshot are never trusted', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'floe-zombie-'));
    dirs.push(dir);
    // Epoch 0: acknowledged records, several segments.
    const zombie = await openLog(dir, 0);
    let seq = 0;
    for (let i = 0; i < 30; i++) {
      await zombie.append(batch(`a${i}-`, 5, { producerId: P, baseSequence: seq, ts: T0 + i * 10 }));
      seq += 5;
    }
    // A full segment, then a small one: the zombie's active segment has room for its late bytes.
    await zombie.append(batch('a-big-', 1, { producerId: P, baseSequence: seq, ts: T0 + 400, pad: 1_900 }));
    seq += 1;
    await zombie.append(batch('a-mid-', 5, { producerId: P, baseSequence: seq, ts: T0 + 450 }));
    seq += 5;
    await zombie.append(batch('a-last-', 5, { producerId: P, baseSequence: seq, ts: T0 + 500 }));
    seq += 5;
    // Epoch 0 published up to before its last batch: the takeover seals there and cuts that batch,
    // so the zombie's late bytes land past a hole of zeros in its old segment.
    const sealed = zombie.highWatermark - 5;
    seq -= 5; // the producer resends the cut batch to the new leader
    expect(zombie.segmentCount()).toBeGreaterThanOrEqual(3);
    const activeBytes = zombie.sizeBytes() - zombie.sealedSegments().reduce((n, s) => n + s.sizeBytes, 0);
    expect(activeBytes).toBeLessThan(1_000);

    // Epoch 1 takes over (the zombie is paused) and rolls: the zombie's active segment is now a middle one.
    const leader = await takeOver(dir, sealed, 1);
    for (let i = 0; i < 6; i++) {
      await leader.append(batch(`b${i}-`, 5, { producerId: P, baseSequence: seq, ts: T0 + 1_000 + i * 10 }));
      seq += 5;
    }
    const end = leader.highWatermark;
    expect(logFiles(dir).some((f) => f.epoch === 1 && f.baseOffset === sealed)).toBe(true);
    const acknowledged = valuesOf(await leader.read(0, 1 << 20));

    // The zombie resumes: late appends into its (now middle) segment, then a roll, which writes
    // that segment's indexes, a producer snapshot at its own end, and a new epoch-0 segment.
    await zombie.append(batch('late-', 10, { producerId: Q, baseSequence: 0, ts: LATE_TS }));
    await zombie.append(batch('late-big-', 1, { producerId: Q, baseSequence: 10, ts: LATE_TS, pad: 1_900 }));
    await zombie.append(batch('late-after-', 3, { producerId: Q, baseSequence: 11, ts: LATE_TS }));
    await zombie.abandon(new Error('fenced'));
    expect(logFiles(dir).some((f) => f.epoch === 0 && f.baseOffset > sealed)).toBe(true);
    expect(readdirSync(dir).some((n) => n === `${String(sealed + 15).padStart(20, '0')}.snapshot`)).toBe(true);

    // (b) Readers on any broker: exactly the acknowledged records, by offset and by timestamp.
    const reader = new SharedPartitionReader(dir);
    const shared: string[] = [];
    for (let o = 0; o < end; ) {
      const got = decodeBatches(await reader.read(o, 1 << 20, end, true));
      expect(got.length, `shared read at ${o}`).toBeGreaterThan(0);
      for (const b of got) for (let k = 0; k < b.values.length; k++) if (b.baseOffset + k >= o) shared.push(b.values[k]!.replace(/z+$/, ''));
      o = got[got.length - 1]!.lastOffset + 1;
    }
    expect(shared).toEqual(acknowledged);
    expect(await reader.offsetForTimestamp(LATE_TS, end)).toBeNull();
    expect((await reader.maxTimestamp(end)).timestamp).toBe(T0 + 1_054);

    // The leader crashes; epoch 2 takes over at its end and reopens everything from disk.
    await leader.abandon(new Error('crash'));
    const next = await takeOver(dir, end, 2);
    expect(await next.offsetForTimestamp(LATE_TS)).toBeNull();
    expect(await next.maxTimestamp()).toEqual({ offset: end - 5, timestamp: T0 + 1_054 });
    expect(await next.offsetForTimestamp(T0 + 21)).toEqual({ offset: 10, timestamp: T0 + 24 });
    expect(await next.offsetForTimestamp(T0 + 501)).toEqual({ offset: sealed, timestamp: T0 + 1_004 });
    // Fetches of any size never return the hole (zeros) or anything past it.
    for (const maxBytes of [300, 1 << 20]) {
      const seen: string[] = [];
      for (let o = 0; o < end; ) {
        const got = decodeBatches(await next.read(o, maxBytes, { minOneBatch: true }));
        expect(got.length, `read at ${o}`).toBeGreaterThan(0);
        for (const b of got) for (let k = 0; k < b.values.length; k++) if (b.baseOffset + k >= o) seen.push(b.values[k]!.replace(/z+$/, ''));
        o = got[got.length - 1]!.lastOffset + 1;
      }
      expect(seen).toEqual(acknowledged);
    }

    // (a) The zombie's snapshot (producer Q at sequence 10) must not be believed: Q's first batch is new.
    const r = await next.append(batch('q-', 10, { producerId: Q, baseSequence: 0, ts: T0 + 2_000 }));
    expect(r.duplicate).toBe(false);
    expect(r.baseOffset).toBe(end);
    // And P continues where the acknowledged log left it.
    const rp = await next.append(batch('p-', 2, { producerId: P, baseSequence: seq, ts: T0 + 2_000 }));
    expect(rp.duplicate).toBe(false);
    expect(valuesOf(await next.read(end, 1 << 20))).toEqual([...Array(10).keys()].map((i) => `q-${i}`).concat(['p-0', 'p-1']));
    await next.close();
  });

  it('abandoning a log (lease lost) with a write in flight fails that write instead of crashing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'floe-zombie-'));
    dirs.push(dir);
    const log = await openLog(dir, 0);
    await log.append(batch('first-', 3));
    // The append's write is in flight (the drain awaits it) when the lease is lost.
    const pending = log.append(batch('inflight-', 3));
    const outcome = pending.then(() => 'acknowledged', (e: Error) => e.message);
    await log.abandon(new Error('lease lost'));
    expect(await outcome).toBe('lease lost');
    // The next writer sees the acknowledged record, and at most the unacknowledged one after it.
    const next = await openLog(dir, 1);
    expect(next.logEndOffset === 3 || next.logEndOffset === 6).toBe(true);
    expect(valuesOf(await next.read(0, 1 << 20)).slice(0, 3)).toEqual(['first-0', 'first-1', 'first-2']);
    await next.close();
  });
});
