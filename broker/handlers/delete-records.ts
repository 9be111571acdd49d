import { readDeleteRecordsRequest, writeDeleteRecordsResponse, type DeleteRecordsRequest, type DeleteRecordsResponse, type DeleteRecordsResponseDeleteRecordsPartitionResult } from '../protocol/generated/delete-records.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Input } from '../protocol/primitives/codec-helpers.js';
import type { RequestContext } from './types.js';
import { defineHandler } from './types.js';
import { logErrorCode } from './produce.js';

type PartitionResult = Input<DeleteRecordsResponseDeleteRecordsPartitionResult>;

/** Kafka's "delete up to the high watermark" sentinel. */
const HIGH_WATERMARK = -1;

async function deletePartition(ctx: RequestContext, topic: string, partition: number, offset: number): Promise<PartitionResult> {
  const fail = (errorCode: number): PartitionResult => ({ partitionIndex: partition, lowWatermark: -1, errorCode });
  const { broker } = ctx;
  const log = broker.topics.partition(topic, partition);
  if (!log) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  // Records of a compact-only topic are removed by the cleaner, never by offset.
  const policy = broker.topics.get(topic)?.configs['cleanup.policy'] ?? 'delete';
  if (!policy.split(',').map((s) => s.trim()).includes('delete')) return fail(ErrorCode.POLICY_VIOLATION);
  const target = offset === HIGH_WATERMARK ? log.highWatermark : offset;
  if (target < 0 || target > log.highWatermark) return fail(ErrorCode.OFFSET_OUT_OF_RANGE);
  // The log start only moves forward; an older offset is already deleted.
  if (target <= log.logStartOffset) return { partitionIndex: partition, lowWatermark: log.logStartOffset, errorCode: ErrorCode.NONE };
  try {
    const lowWatermark = await log.deleteRecordsBefore(target);
    return { partitionIndex: partition, lowWatermark, errorCode: ErrorCode.NONE };
  } catch (err) {
    ctx.log.warn({ err, topic, partition, offset: target }, 'delete records failed');
    return fail(logErrorCode(err).code);
  }
}

export default defineHandler<DeleteRecordsRequest, DeleteRecordsResponse>({
  apiKey: 21,
  minVersion: 0,
  maxVersion: 2,
  read: readDeleteRecordsRequest,
  write: writeDeleteRecordsResponse,
  async handle(req, ctx) {
    const topics = await Promise.all(
      req.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(t.partitions.map((p) => deletePartition(ctx, t.name, p.partitionIndex, p.offset))),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },
});
