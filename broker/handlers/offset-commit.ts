import { readOffsetCommitRequest, writeOffsetCommitResponse, type OffsetCommitRequest, type OffsetCommitResponse } from '../protocol/generated/offset-commit.js';
import { defineHandler } from './types.js';

export default defineHandler<OffsetCommitRequest, OffsetCommitResponse>({
  apiKey: 8,
  // Kafka 4 dropped v0-1 (ZooKeeper-stored and timestamped commits).
  minVersion: 2,
  maxVersion: 9,
  read: readOffsetCommitRequest,
  write: writeOffsetCommitResponse,
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    const topics = await ctx.broker.groups.commitOffsets({
      groupId: req.groupId,
      generationId: req.generationIdOrMemberEpoch,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      retentionTimeMs: v <= 4 ? req.retentionTimeMs : -1,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          committedOffset: p.committedOffset,
          committedLeaderEpoch: v >= 6 ? p.committedLeaderEpoch : -1,
          committedMetadata: p.committedMetadata,
        })),
      })),
    });
    return { throttleTimeMs: 0, topics };
  },
});
