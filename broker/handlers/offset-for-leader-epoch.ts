import { readOffsetForLeaderEpochRequest, writeOffsetForLeaderEpochResponse, type OffsetForLeaderEpochRequest, type OffsetForLeaderEpochResponse, type OffsetForLeaderEpochResponseEpochEndOffset } from '../protocol/generated/offset-for-leader-epoch.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Input } from '../protocol/primitives/codec-helpers.js';
import type { RequestContext } from './types.js';
import { defineHandler } from './types.js';

type PartitionResult = Input<OffsetForLeaderEpochResponseEpochEndOffset>;

const UNDEFINED = -1;

function lookup(ctx: RequestContext, topic: string, partition: number, currentLeaderEpoch: number, leaderEpoch: number): PartitionResult {
  const fail = (errorCode: number): PartitionResult => ({ errorCode, partition, leaderEpoch: UNDEFINED, endOffset: UNDEFINED });
  const log = ctx.broker.topics.partition(topic, partition);
  if (!log) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  // currentLeaderEpoch -1 (and every request before v2) skips the fencing check.
  if (currentLeaderEpoch >= 0 && currentLeaderEpoch !== log.leaderEpoch) {
    return fail(currentLeaderEpoch > log.leaderEpoch ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH);
  }
  if (leaderEpoch < 0) return { errorCode: ErrorCode.NONE, partition, leaderEpoch: UNDEFINED, endOffset: UNDEFINED };
  const hit = log.endOffsetForEpoch(leaderEpoch);
  if (hit.leaderEpoch < 0 || hit.endOffset < 0) return { errorCode: ErrorCode.NONE, partition, leaderEpoch: UNDEFINED, endOffset: UNDEFINED };
  // There are no follower brokers; every caller is a consumer, which can only have read durable data.
  return { errorCode: ErrorCode.NONE, partition, leaderEpoch: hit.leaderEpoch, endOffset: Math.min(hit.endOffset, log.highWatermark) };
}

export default defineHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>({
  apiKey: 23,
  minVersion: 0,
  maxVersion: 4,
  read: readOffsetForLeaderEpochRequest,
  write: writeOffsetForLeaderEpochResponse,
  handle(req, ctx) {
    const topics = req.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p) => lookup(ctx, t.topic, p.partition, ctx.apiVersion >= 2 ? p.currentLeaderEpoch : -1, p.leaderEpoch)),
    }));
    return { throttleTimeMs: 0, topics };
  },
});
