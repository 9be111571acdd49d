import { readOffsetFetchRequest, writeOffsetFetchResponse, type OffsetFetchRequest, type OffsetFetchResponse } from '../protocol/generated/offset-fetch.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { FetchResult, TopicPartitions } from '../groups/group-types.js';
import { defineHandler } from './types.js';

function wanted(topics: Array<{ name: string; partitionIndexes: number[] }> | null): TopicPartitions[] | null {
  return topics === null ? null : topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes }));
}

/** v0-1 have no group-level error: it is reported on every requested partition instead. */
function perPartitionError(r: FetchResult, topics: TopicPartitions[] | null): FetchResult['topics'] {
  if (r.errorCode === ErrorCode.NONE || topics === null) return r.topics;
  return topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((partitionIndex) => ({ partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: r.errorCode })),
  }));
}

export default defineHandler<OffsetFetchRequest, OffsetFetchResponse>({
  apiKey: 9,
  minVersion: 1,
  maxVersion: 9,
  read: readOffsetFetchRequest,
  write: writeOffsetFetchResponse,
  handle(req, ctx) {
    const groups = ctx.broker.groups;
    // requireStable needs no wait: there are no pending transactional commits.
    if (ctx.apiVersion >= 8) {
      return {
        throttleTimeMs: 0,
        groups: req.groups.map((g) => {
          const r = groups.fetchOffsets(g.groupId, wanted(g.topics));
          return { groupId: g.groupId, topics: r.topics, errorCode: r.errorCode };
        }),
      };
    }
    const topics = wanted(req.topics);
    const r = groups.fetchOffsets(req.groupId, topics);
    return { throttleTimeMs: 0, topics: ctx.apiVersion < 2 ? perPartitionError(r, topics) : r.topics, errorCode: r.errorCode };
  },
});
