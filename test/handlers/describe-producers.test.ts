import { afterEach, describe, expect, it } from 'vitest';
import { readDescribeProducersResponse, writeDescribeProducersRequest } from '../../broker/protocol/generated/describe-producers.js';
import { ErrorCode } from '../../broker/protocol/generated/error-codes.js';
import { openHarness, type Harness } from './admin-harness.js';

const API = 61;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('DescribeProducers', () => {
  it('lists the idempotent producers of each partition', async () => {
    h = await openHarness();
    await h.createTopic('t', 2);
    await h.append('t', 0, 3, { producerId: 1000, producerEpoch: 2, baseSequence: 0 });
    await h.append('t', 0, 1, { producerId: 2000, producerEpoch: 0, baseSequence: 0 });
    await h.append('t', 1, 2);
    const res = await h.call(API, 0, writeDescribeProducersRequest, { topics: [{ name: 't', partitionIndexes: [0, 1, 9] }, { name: 'missing', partitionIndexes: [0] }] }, readDescribeProducersResponse);
    const [p0, p1, p9] = res.topics[0]!.partitions;
    expect(p0!.errorCode).toBe(ErrorCode.NONE);
    const byId = new Map(p0!.activeProducers.map((p) => [p.producerId, p]));
    expect([...byId.keys()].sort()).toEqual([1000, 2000]);
    expect(byId.get(1000)).toMatchObject({ producerEpoch: 2, lastSequence: 2, currentTxnStartOffset: -1 });
    expect(byId.get(1000)!.lastTimestamp).toBeGreaterThan(0);
    expect(byId.get(2000)).toMatchObject({ producerEpoch: 0, lastSequence: 0 });
    // Non-idempotent batches leave no producer state.
    expect(p1).toMatchObject({ partitionIndex: 1, errorCode: ErrorCode.NONE, activeProducers: [] });
    expect(p9).toMatchObject({ partitionIndex: 9, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, activeProducers: [] });
    expect(res.topics[1]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});
