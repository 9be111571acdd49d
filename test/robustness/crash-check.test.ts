// The crash test's checker must catch each kind of violation it claims to catch.
import { describe, expect, it } from 'vitest';
import { type Ack, checkPartition, type StoredRecord, valueOf } from './crash-check.js';

const PID = 7;
const rec = (offset: number, seq: number, p = 0, pid = PID): StoredRecord => ({ offset, value: Buffer.from(valueOf(p, seq)), producerId: pid, batchSeq: seq });
const acksFor = (n: number): Ack[] => Array.from({ length: n }, (_, i) => ({ seq: i, offset: i }));
const good = () => Array.from({ length: 5 }, (_, i) => rec(i, i));

describe('crash checker', () => {
  it('accepts a clean log', () => {
    expect(checkPartition(0, PID, acksFor(5), good(), 5)).toEqual([]);
  });

  it('reports a lost acknowledged record', () => {
    const log = good().slice(0, 4);
    expect(checkPartition(0, PID, acksFor(5), log, 4).join('\n')).toMatch(/seq 4 .*missing/);
  });

  it('reports a duplicate left by a retry', () => {
    const log = [...good(), rec(5, 4)];
    expect(checkPartition(0, PID, acksFor(5), log, 6).join('\n')).toMatch(/seq 4 stored 2 times/);
  });

  it('reports an offset gap', () => {
    const log = good().map((r, i) => (i >= 3 ? { ...r, offset: r.offset + 1 } : r));
    expect(checkPartition(0, PID, acksFor(5), log, 6).join('\n')).toMatch(/dense/);
  });

  it('reports records stored out of acknowledgement order', () => {
    const log = [rec(0, 0), rec(1, 2), rec(2, 1)];
    const acks: Ack[] = [{ seq: 0, offset: 0 }, { seq: 1, offset: 2 }, { seq: 2, offset: 1 }];
    expect(checkPartition(0, PID, acks, log, 3).join('\n')).toMatch(/out of acknowledgement order/);
  });

  it('reports an ack whose offset differs from where the record is', () => {
    const acks = acksFor(5);
    acks[2] = { seq: 2, offset: 3 };
    expect(checkPartition(0, PID, acks, good(), 5).join('\n')).toMatch(/acknowledged at offset 3 but stored at 2/);
  });

  it('reports unacknowledged, foreign and mislabelled records and a wrong high watermark', () => {
    const log = [...good(), rec(5, 99), rec(6, 6, 1), { ...rec(7, 7), producerId: 8 }];
    const v = checkPartition(0, PID, acksFor(5), log, 9).join('\n');
    expect(v).toMatch(/seq 99, never acknowledged/);
    expect(v).toMatch(/foreign value/);
    expect(v).toMatch(/producer id 8/);
    expect(v).toMatch(/high watermark 9, acknowledged 5/);
  });
});
