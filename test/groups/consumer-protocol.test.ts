import { describe, expect, test } from 'vitest';
import { Writer } from '../../broker/protocol/primitives/writer.js';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, readAssignment, readSubscription } from '../../broker/protocol/consumer/consumer-protocol.js';
import { consumerTopics } from '../../broker/groups/group.js';
import { decodeAssignment as adminDecode } from '../../broker/client/admin.js';

describe('consumer protocol codec', () => {
  test('subscription v0-v3 round trip', () => {
    const owned = new Map([['t', [1, 0]]]);
    const s = readSubscription(encodeSubscription({ topics: ['t', 'u'], userData: Buffer.from('x'), ownedPartitions: owned, generationId: 7, rackId: 'r1' }));
    expect(s).toEqual({ version: 3, topics: ['t', 'u'], userData: Buffer.from('x'), ownedPartitions: new Map([['t', [0, 1]]]), generationId: 7, rackId: 'r1' });
    expect(readSubscription(encodeSubscription(['a']))?.version).toBe(0);
    expect(readSubscription(encodeSubscription({ topics: ['a'], ownedPartitions: owned }))?.generationId).toBe(-1);
  });

  test('a newer version reads as v3 and ignores appended fields', () => {
    const b = Buffer.concat([encodeSubscription({ topics: ['a'], rackId: 'r', version: 9 }), Buffer.from([1, 2, 3])]);
    expect(readSubscription(b)).toMatchObject({ version: 9, topics: ['a'], rackId: 'r' });
    const a = Buffer.concat([encodeAssignment(new Map([['t', [2]]]), Buffer.from('u'), 5), Buffer.from([9])]);
    expect(readAssignment(a)).toEqual({ partitions: new Map([['t', [2]]]), userData: Buffer.from('u') });
  });

  test('garbage and negative versions: null subscription, empty assignment, everywhere alike', () => {
    const w = new Writer();
    w.int16(-1);
    const neg = Buffer.concat([w.toBuffer(), encodeSubscription(['a']).subarray(2)]);
    for (const bad of [Buffer.alloc(0), Buffer.from([1]), Buffer.from([0, 0, 0xff]), neg]) {
      expect(decodeSubscription(bad)).toBeNull();
      expect(consumerTopics(bad)).toBeNull();
      expect(decodeAssignment(bad)).toEqual(new Map());
      expect(adminDecode(bad)).toEqual(new Map());
    }
  });

  test('assignment partitions are merged, sorted and unique', () => {
    const w = new Writer();
    w.int16(0);
    w.int32(2);
    for (const ps of [[3, 1], [1, 0]]) {
      w.string('t');
      w.int32(ps.length);
      for (const p of ps) w.int32(p);
    }
    w.int32(-1);
    expect(decodeAssignment(w.toBuffer())).toEqual(new Map([['t', [0, 1, 3]]]));
  });
});
