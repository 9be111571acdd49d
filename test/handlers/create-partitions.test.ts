import { afterEach, describe, expect, it } from 'vitest';
import { readCreatePartitionsResponse, writeCreatePartitionsRequest } from '../../broker/protocol/generated/create-partitions.js';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { openHarness, type Harness } from './admin-harness.js';

const API = 37;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('CreatePartitions', () => {
  for (const v of [0, 3]) {
    it(`grows a topic and opens the new partitions (v${v})`, async () => {
      h = await openHarness();
      await h.createTopic('grow', 1);
      const res = await h.call(API, v, writeCreatePartitionsRequest, { topics: [{ name: 'grow', count: 3, assignments: null }], timeoutMs: 1000 }, readCreatePartitionsResponse);
      expect(res.results).toEqual([{ name: 'grow', errorCode: ErrorCode.NONE, errorMessage: null }]);
      expect(h.broker.topics.get('grow')!.partitions).toBe(3);
      expect(h.broker.topics.partition('grow', 2)).toBeDefined();
      await h.append('grow', 2, 1);
      expect(h.broker.topics.partition('grow', 2)!.highWatermark).toBe(1);
    });
  }

  it('validateOnly checks without changing anything', async () => {
    h = await openHarness();
    await h.createTopic('v', 2);
    const res = await h.call(
      API,
      2,
      writeCreatePartitionsRequest,
      { topics: [{ name: 'v', count: 4, assignments: null }, { name: 'v2', count: 4, assignments: null }], validateOnly: true },
      readCreatePartitionsResponse,
    );
    expect(res.results.map((r) => r.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    expect(h.broker.topics.get('v')!.partitions).toBe(2);
    expect(h.broker.topics.partition('v', 2)).toBeUndefined();
  });

  it('rejects counts that do not grow the topic, and duplicates', async () => {
    h = await openHarness();
    await h.createTopic('three', 3);
    await h.createTopic('dup', 1);
    const res = await h.call(
      API,
      3,
      writeCreatePartitionsRequest,
      {
        topics: [
          { name: 'three', count: 3, assignments: null },
          { name: 'dup', count: 2, assignments: null },
          { name: 'dup', count: 3, assignments: null },
        ],
      },
      readCreatePartitionsResponse,
    );
    expect(res.results[0]!.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(res.results[0]!.errorMessage).toMatch(/already has 3/);
    expect(res.results.slice(1).map((r) => r.errorCode)).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
    const shrink = await h.call(API, 3, writeCreatePartitionsRequest, { topics: [{ name: 'three', count: 2, assignments: null }] }, readCreatePartitionsResponse);
    expect(shrink.results[0]!.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(h.broker.topics.get('three')!.partitions).toBe(3);
    expect(h.broker.topics.get('dup')!.partitions).toBe(1);
  });

  it('checks the number of assignments against the partitions added', async () => {
    h = await openHarness();
    await h.createTopic('asg', 1);
    const bad = await h.call(API, 1, writeCreatePartitionsRequest, { topics: [{ name: 'asg', count: 3, assignments: [{ brokerIds: [0] }] }] }, readCreatePartitionsResponse);
    expect(bad.results[0]!.errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(h.broker.topics.get('asg')!.partitions).toBe(1);
    const ok = await h.call(API, 1, writeCreatePartitionsRequest, { topics: [{ name: 'asg', count: 3, assignments: [{ brokerIds: [0] }, { brokerIds: [0] }] }] }, readCreatePartitionsResponse);
    expect(ok.results[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(h.broker.topics.get('asg')!.partitions).toBe(3);
  });
});
