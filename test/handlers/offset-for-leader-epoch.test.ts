import { afterEach, describe, expect, it } from 'vitest';
import { readOffsetForLeaderEpochResponse, writeOffsetForLeaderEpochRequest } from '../../broker/protocol/generated/offset-for-leader-epoch.js';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { openHarness, type Harness } from './admin-harness.js';

const API = 23;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function ask(partitions: Array<{ partition: number; currentLeaderEpoch?: number; leaderEpoch: number }>, v = 4, topic = 't') {
  const res = await h!.call(API, v, writeOffsetForLeaderEpochRequest, { replicaId: -1, topics: [{ topic, partitions }] }, readOffsetForLeaderEpochResponse);
  expect(res.topics[0]!.topic).toBe(topic);
  return res.topics[0]!.partitions;
}

describe('OffsetForLeaderEpoch', () => {
  it('returns the end offset of each epoch across an epoch change', async () => {
    h = await openHarness();
    await h.createTopic('t');
    await h.append('t', 0, 5);
    const log = h.broker.topics.partition('t', 0)!;
    await log.setLeaderEpoch(2);
    await h.append('t', 0, 3);
    const res = await ask([
      { partition: 0, leaderEpoch: 0 },
      { partition: 0, leaderEpoch: 1 },
      { partition: 0, leaderEpoch: 2, currentLeaderEpoch: 2 },
    ]);
    expect(res).toEqual([
      { errorCode: ErrorCode.NONE, partition: 0, leaderEpoch: 0, endOffset: 5 },
      // Epoch 1 never wrote: the answer is the largest epoch below it and that epoch's end.
      { errorCode: ErrorCode.NONE, partition: 0, leaderEpoch: 0, endOffset: 5 },
      { errorCode: ErrorCode.NONE, partition: 0, leaderEpoch: 2, endOffset: 8 },
    ]);
  });

  it('fences stale and unknown current leader epochs', async () => {
    h = await openHarness();
    await h.createTopic('t');
    await h.broker.topics.partition('t', 0)!.setLeaderEpoch(3);
    const res = await ask([
      { partition: 0, currentLeaderEpoch: 2, leaderEpoch: 0 },
      { partition: 0, currentLeaderEpoch: 4, leaderEpoch: 0 },
      { partition: 5, leaderEpoch: 0 },
    ]);
    expect(res.map((p) => [p.errorCode, p.leaderEpoch, p.endOffset])).toEqual([
      [ErrorCode.FENCED_LEADER_EPOCH, -1, -1],
      [ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1],
    ]);
  });

  it('v0 has no epoch fencing and no leaderEpoch field', async () => {
    h = await openHarness();
    await h.createTopic('t');
    await h.append('t', 0, 2);
    await h.broker.topics.partition('t', 0)!.setLeaderEpoch(1);
    // currentLeaderEpoch is not on the wire before v2, so it cannot fence.
    const res = await ask([{ partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 }], 0);
    expect(res).toEqual([{ errorCode: ErrorCode.NONE, partition: 0, leaderEpoch: -1, endOffset: 2 }]);
  });

  it('unknown topics get UNKNOWN_TOPIC_OR_PARTITION', async () => {
    h = await openHarness();
    const res = await ask([{ partition: 0, leaderEpoch: 0 }], 3, 'missing');
    expect(res[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});
