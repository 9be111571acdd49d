// The fault test's checker must catch broken histories, or its clean verdicts mean nothing.
import { describe, expect, it } from 'vitest';
import { checkConsumers, checkManifest, checkServed, type ConsumerEvent, type FinalPartition } from './jepsen-check.js';

const final = new Map<number, FinalPartition>([[0, { highWatermark: 6, values: new Map([0, 1, 2, 3, 4, 5].map((o) => [o, `v${o}`])) }]]);
const deliver = (consumer: number, from: number, to: number): ConsumerEvent[] =>
  Array.from({ length: to - from }, (_, i) => ({ kind: 'delivery', consumer, partition: 0, offset: from + i, value: `v${from + i}` }));

describe('jepsen checker: consumer group', () => {
  it('accepts a member that resumes at the acknowledged commit after the coordinator moved', () => {
    const events: ConsumerEvent[] = [
      { kind: 'join', consumer: 0, partitions: [0] },
      ...deliver(0, 0, 3),
      { kind: 'commit', consumer: 0, partition: 0, offset: 3 },
      // Coordinator moved; consumer 1 takes the partition over and resumes at the commit.
      { kind: 'join', consumer: 1, partitions: [0] },
      ...deliver(1, 3, 6),
      { kind: 'commit', consumer: 1, partition: 0, offset: 6 },
    ];
    const r = checkConsumers(events, final, new Map([[0, 6]]));
    expect(r.violations).toEqual([]);
    expect(r.stats.resumes).toBe(2);
  });

  it('flags a resume below the acknowledged commit (a lost commit)', () => {
    const events: ConsumerEvent[] = [
      { kind: 'join', consumer: 0, partitions: [0] },
      ...deliver(0, 0, 4),
      { kind: 'commit', consumer: 0, partition: 0, offset: 4 },
      { kind: 'join', consumer: 1, partitions: [0] },
      ...deliver(1, 2, 6),
    ];
    expect(checkConsumers(events, final, new Map([[0, 6]])).violations).toEqual(['p0: consumer 1 resumed at 2, below the acknowledged commit 4']);
  });

  it('flags skipped offsets, wrong values, undelivered records and a final commit below an acknowledged one', () => {
    const events: ConsumerEvent[] = [
      { kind: 'join', consumer: 0, partitions: [0] },
      ...deliver(0, 0, 2),
      { kind: 'delivery', consumer: 0, partition: 0, offset: 3, value: 'other' },
      { kind: 'commit', consumer: 0, partition: 0, offset: 4 },
    ];
    const v = checkConsumers(events, final, new Map([[0, 2]])).violations;
    expect(v).toContain('p0: consumer 0 skipped offsets 2..2');
    expect(v.some((x) => x.includes('"other" at offset 3'))).toBe(true);
    expect(v).toContain('p0: 3 of 6 records never delivered to the group (first at offset 2)');
    expect(v).toContain('p0: final committed offset 2 is below the acknowledged commit 4');
  });
});

describe('jepsen checker: commits', () => {
  it('flags a commit past offsets no member was given', () => {
    const events: ConsumerEvent[] = [
      { kind: 'join', consumer: 0, partitions: [0] },
      ...deliver(0, 0, 2),
      { kind: 'commit', consumer: 0, partition: 0, offset: 2 },
      { kind: 'commit', consumer: 0, partition: 0, offset: 5 },
      ...deliver(0, 2, 6),
    ];
    expect(checkConsumers(events, final, new Map([[0, 6]])).violations).toEqual(['p0: consumer 0 committed 5 but offset 2 was never delivered']);
  });
});

describe('jepsen checker: readers and manifest', () => {
  it('flags a record served past the final high watermark or differing from the log', () => {
    const v = checkServed([{ partition: 0, offset: 1, value: 'v1', node: 1 }, { partition: 0, offset: 2, value: 'zombie', node: 2 }, { partition: 0, offset: 6, value: 'v6', node: 3 }], final);
    expect(v).toHaveLength(2);
  });

  it('flags a batch of an older epoch past its seal and a broken chain', () => {
    const manifest = [
      { epoch: 0, holder: 1, startOffset: 0, endOffset: 3 },
      { epoch: 1, holder: 2, startOffset: 3, endOffset: null },
    ];
    expect(checkManifest(0, manifest, [{ baseOffset: 0, lastOffset: 2, epoch: 0 }, { baseOffset: 3, lastOffset: 5, epoch: 1 }], 6)).toEqual([]);
    expect(checkManifest(0, manifest, [{ baseOffset: 3, lastOffset: 4, epoch: 0 }], 6)).toHaveLength(2);
    expect(checkManifest(0, [{ ...manifest[0]!, endOffset: 4 }, manifest[1]!], [], 6)).toEqual(['p0: epoch 1 starts at 3, epoch 0 was sealed at 4']);
  });
});
