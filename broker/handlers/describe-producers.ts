import { readDescribeProducersRequest, writeDescribeProducersResponse, type DescribeProducersRequest, type DescribeProducersResponse, type DescribeProducersResponsePartitionResponse } from '../protocol/generated/describe-producers.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Input } from '../protocol/primitives/codec-helpers.js';
import type { RequestContext } from './types.js';
import { defineHandler } from './types.js';

type PartitionResult = Input<DescribeProducersResponsePartitionResponse>;

function describe(ctx: RequestContext, topic: string, partition: number): PartitionResult {
  const log = ctx.broker.topics.partition(topic, partition);
  if (!log) return { partitionIndex: partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `This server does not host ${topic}-${partition}`, activeProducers: [] };
  const activeProducers = log.producers().map((p) => ({
    producerId: p.producerId,
    producerEpoch: p.producerEpoch,
    lastSequence: p.lastSequence,
    lastTimestamp: p.lastTimestamp,
    coordinatorEpoch: p.coordinatorEpoch,
    currentTxnStartOffset: p.currentTxnStartOffset,
  }));
  return { partitionIndex: partition, errorCode: ErrorCode.NONE, errorMessage: null, activeProducers };
}

export default defineHandler<DescribeProducersRequest, DescribeProducersResponse>({
  apiKey: 61,
  minVersion: 0,
  maxVersion: 0,
  read: readDescribeProducersRequest,
  write: writeDescribeProducersResponse,
  handle(req, ctx) {
    const topics = req.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => describe(ctx, t.name, p)) }));
    return { throttleTimeMs: 0, topics };
  },
});
