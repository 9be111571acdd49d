import { afterEach, describe, expect, it } from 'vitest';
import { readDeleteRecordsResponse, writeDeleteRecordsRequest } from '../../broker/protocol/generated/delete-records.js';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { openHarness, type Harness } from './admin-harness.js';

const API = 21;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function del(topic: string, partitions: Array<{ partitionIndex: number; offset: number }>, v = 2) {
  const res = await h!.call(API, v, writeDeleteRecordsRequest, { topics: [{ name: topic, partitions }], timeoutMs: 1000 }, readDeleteRecordsResponse);
  return res.topics[0]!.partitions;
}

describe('DeleteRecords', () => {
  for (const v of [0, 2]) {
    it(`moves the log start offset and returns the low watermark (v${v})`, async () => {
      h = await openHarness();
      await h.createTopic('t', 2);
      await h.append('t', 0, 10);
      await h.append('t', 1, 3);
      const res = await del('t', [{ partitionIndex: 0, offset: 4 }, { partitionIndex: 1, offset: -1 }], v);
      expect(res).toEqual([
        { partitionIndex: 0, lowWatermark: 4, errorCode: ErrorCode.NONE },
        { partitionIndex: 1, lowWatermark: 3, errorCode: ErrorCode.NONE },
      ]);
      expect(h.broker.topics.partition('t', 0)!.logStartOffset).toBe(4);
      expect(h.broker.topics.partition('t', 1)!.logStartOffset).toBe(3);
      // An offset below the start leaves it where it is.
      expect(await del('t', [{ partitionIndex: 0, offset: 2 }], v)).toEqual([{ partitionIndex: 0, lowWatermark: 4, errorCode: ErrorCode.NONE }]);
      expect(h.broker.topics.partition('t', 0)!.logStartOffset).toBe(4);
    });
  }

  it('refuses offsets beyond the high watermark and unknown partitions', async () => {
    h = await openHarness();
    await h.createTopic('t');
    await h.append('t', 0, 5);
    const res = await del('t', [
      { partitionIndex: 0, offset: 6 },
      { partitionIndex: 0, offset: -7 },
      { partitionIndex: 3, offset: 1 },
    ]);
    expect(res.map((p) => [p.errorCode, p.lowWatermark])).toEqual([
      [ErrorCode.OFFSET_OUT_OF_RANGE, -1],
      [ErrorCode.OFFSET_OUT_OF_RANGE, -1],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1],
    ]);
    expect(h.broker.topics.partition('t', 0)!.logStartOffset).toBe(0);
    expect((await del('missing', [{ partitionIndex: 0, offset: 0 }]))[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('refuses compact-only topics with POLICY_VIOLATION', async () => {
    h = await openHarness();
    await h.createTopic('c', 1, { 'cleanup.policy': 'compact' });
    await h.createTopic('cd', 1, { 'cleanup.policy': 'compact,delete' });
    await h.append('c', 0, 2);
    await h.append('cd', 0, 2);
    expect((await del('c', [{ partitionIndex: 0, offset: 1 }]))[0]!.errorCode).toBe(ErrorCode.POLICY_VIOLATION);
    expect(await del('cd', [{ partitionIndex: 0, offset: 1 }])).toEqual([{ partitionIndex: 0, lowWatermark: 1, errorCode: ErrorCode.NONE }]);
  });
});
