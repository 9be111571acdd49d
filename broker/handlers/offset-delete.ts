import { readOffsetDeleteRequest, writeOffsetDeleteResponse, type OffsetDeleteRequest, type OffsetDeleteResponse } from '../protocol/generated/offset-delete.js';
import { defineHandler } from './types.js';

export default defineHandler<OffsetDeleteRequest, OffsetDeleteResponse>({
  apiKey: 47,
  minVersion: 0,
  maxVersion: 0,
  read: readOffsetDeleteRequest,
  write: writeOffsetDeleteResponse,
  async handle(req, ctx) {
    const r = await ctx.broker.groups.deleteOffsets(
      req.groupId,
      req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) })),
    );
    return { errorCode: r.errorCode, throttleTimeMs: 0, topics: r.topics };
  },
});
