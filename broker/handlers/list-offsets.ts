import { readListOffsetsRequest, writeListOffsetsResponse, type ListOffsetsRequest, type ListOffsetsResponse, type ListOffsetsResponseListOffsetsPartitionResponse } from '../protocol/generated/list-offsets.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Input } from '../protocol/primitives/codec-helpers.js';
import type { PartitionLog } from '../log/index.js';
import { decodeBatches } from '../protocol/records/records.js';
import { defineHandler } from './types.js';
import { logErrorCode } from './produce.js';

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;
const EARLIEST_LOCAL = -4;
const LATEST_TIERED = -5;

type PartitionResult = Input<ListOffsetsResponseListOffsetsPartitionResponse>;

/** What a lookup needs: the leader's own log, or (cluster) a view of the shared medium. */
type OffsetSource = Pick<PartitionLog, 'highWatermark' | 'logStartOffset' | 'offsetForTimestamp' | 'maxTimestamp'> & {
  read(offset: number, maxBytes: number, opts?: { minOneBatch?: boolean }): Promise<Buffer>;
};

async function lookup(log: OffsetSource, ts: number): Promise<{ offset: number; timestamp: number }> {
  switch (ts) {
    case LATEST:
    case LATEST_TIERED:
      return { offset: log.highWatermark, timestamp: -1 };
    case EARLIEST:
    case EARLIEST_LOCAL:
      return { offset: log.logStartOffset, timestamp: -1 };
    case MAX_TIMESTAMP: {
      const hit = await log.maxTimestamp();
      if (hit.offset < 0) return hit;
      return (await recordIn(log, hit.offset, (t) => t >= hit.timestamp)) ?? hit;
    }
    default: {
      const hit = await log.offsetForTimestamp(ts);
      if (!hit) return { offset: -1, timestamp: -1 };
      return (await recordIn(log, hit.offset, (t) => t >= ts)) ?? hit;
    }
  }
}

/**
 * The log indexes timestamps per batch; Kafka answers per record, so look inside the batch
 * at `offset` for the first record whose timestamp matches.
 */
async function recordIn(log: OffsetSource, offset: number, match: (ts: number) => boolean): Promise<{ offset: number; timestamp: number } | null> {
  const bytes = await log.read(offset, 1, { minOneBatch: true });
  for (const batch of await decodeBatches(bytes)) {
    const logAppend = batch.timestampType === 'LogAppendTime';
    for (const r of batch.records) {
      const t = logAppend ? batch.header.maxTimestamp : r.timestamp;
      if (r.offset >= offset && match(t)) return { offset: r.offset, timestamp: t };
    }
  }
  return null;
}

export default defineHandler<ListOffsetsRequest, ListOffsetsResponse>({
  apiKey: 2,
  minVersion: 1,
  maxVersion: 10,
  read: readListOffsetsRequest,
  write: writeListOffsetsResponse,
  async handle(req, ctx) {
    const { broker } = ctx;
    const topics = await Promise.all(
      req.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(
          t.partitions.map(async (p): Promise<PartitionResult> => {
            const base = { partitionIndex: p.partitionIndex, timestamp: -1, offset: -1, leaderEpoch: -1 };
            const log = broker.topics.partition(t.name, p.partitionIndex);
            if (!log) {
              const rec = broker.cluster ? broker.topics.get(t.name) : undefined;
              const led = rec !== undefined && p.partitionIndex >= 0 && p.partitionIndex < rec.partitions;
              // Cluster: a partition led elsewhere is answered from the shared medium, up to its published high watermark.
              const view = led ? await broker.cluster!.readView(t.name, p.partitionIndex).catch(() => undefined) : undefined;
              if (view) {
                if (p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch !== view.leaderEpoch) {
                  return { ...base, errorCode: p.currentLeaderEpoch > view.leaderEpoch ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH };
                }
                if (p.timestamp === MAX_TIMESTAMP && ctx.apiVersion < 7) return { ...base, errorCode: ErrorCode.UNSUPPORTED_VERSION };
                try {
                  const hit = await lookup(view, p.timestamp);
                  return { ...base, errorCode: ErrorCode.NONE, offset: hit.offset, timestamp: hit.timestamp, leaderEpoch: hit.offset >= 0 ? view.leaderEpoch : -1 };
                } catch (err) {
                  return { ...base, errorCode: logErrorCode(err).code };
                }
              }
              return { ...base, errorCode: led ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
            }
            if (p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch !== log.leaderEpoch) {
              return { ...base, errorCode: p.currentLeaderEpoch > log.leaderEpoch ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH };
            }
            if (p.timestamp === MAX_TIMESTAMP && ctx.apiVersion < 7) return { ...base, errorCode: ErrorCode.UNSUPPORTED_VERSION };
            try {
              const hit = await lookup(log, p.timestamp);
              return { ...base, errorCode: ErrorCode.NONE, offset: hit.offset, timestamp: hit.timestamp, leaderEpoch: hit.offset >= 0 ? log.leaderEpoch : -1 };
            } catch (err) {
              return { ...base, errorCode: logErrorCode(err).code };
            }
          }),
        ),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },
});
