import { readProduceRequest, writeProduceResponse, type ProduceRequest, type ProduceResponse, type ProduceResponsePartitionProduceResponse } from '../protocol/generated/produce.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Input } from '../protocol/primitives/codec-helpers.js';
import { validateProduceRecords } from '../protocol/records/validate.js';
import { LogError } from '../log/index.js';
import { LeaseLostError } from '../cluster/lease-lost-error.js';
import { isCompacted } from '../log/cleaner.js';
import { defineHandler, type RequestContext } from './types.js';

type PartitionResult = Input<ProduceResponsePartitionProduceResponse>;

function fail(index: number, errorCode: number, errorMessage: string | null): PartitionResult {
  return { index, errorCode, errorMessage, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
}

export function logErrorCode(err: unknown): { code: number; message: string } {
  if (err instanceof LogError) return { code: ErrorCode[err.code], message: err.message };
  if (err instanceof LeaseLostError) return { code: ErrorCode.NOT_LEADER_OR_FOLLOWER, message: err.message };
  return { code: ErrorCode.KAFKA_STORAGE_ERROR, message: (err as Error)?.message ?? String(err) };
}

async function producePartition(ctx: RequestContext, topic: string, index: number, records: Buffer | null): Promise<PartitionResult> {
  const { broker } = ctx;
  if (ctx.apiVersion < 3) return fail(index, ErrorCode.UNSUPPORTED_VERSION, 'Produce requests below v3 (message format v0/v1) are not supported');
  const log = broker.topics.partition(topic, index);
  if (!log) {
    const t = broker.cluster ? broker.topics.get(topic) : undefined;
    if (t && index >= 0 && index < t.partitions) return fail(index, ErrorCode.NOT_LEADER_OR_FOLLOWER, `Broker ${broker.nodeId} is not the leader of ${topic}-${index}`);
    return fail(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `This server does not host ${topic}-${index}`);
  }
  if (records === null || records.length === 0) return fail(index, ErrorCode.INVALID_RECORD, 'Produce request carries no record batch');
  const cfg = broker.topics.logConfigOf(topic);
  const now = Date.now();
  const checked = validateProduceRecords(records, {
    maxMessageBytes: cfg.maxMessageBytes,
    timestampType: cfg.timestampType,
    messageTimestampBeforeMaxMs: cfg.messageTimestampBeforeMaxMs,
    messageTimestampAfterMaxMs: cfg.messageTimestampAfterMaxMs,
    now,
    // Compacted topics need a key on every record, compressed batches included.
    ...(isCompacted(cfg.cleanupPolicy) ? { compacted: true, deepCheck: true } : {}),
  });
  if ('code' in checked) return fail(index, checked.code, checked.message);
  if (checked.batches.some((b) => b.header.attributes & 0x10)) {
    return fail(index, ErrorCode.INVALID_TXN_STATE, 'Transactional produce is not supported by this broker');
  }
  try {
    const res = await log.append(records, { now });
    broker.metrics.bytesIn.inc({ topic, partition: index }, records.length);
    broker.metrics.recordsIn.inc({ topic, partition: index }, checked.recordCount);
    return {
      index,
      errorCode: ErrorCode.NONE,
      baseOffset: res.baseOffset,
      logAppendTimeMs: cfg.timestampType === 'LogAppendTime' ? res.logAppendTime : -1,
      logStartOffset: res.logStartOffset,
      errorMessage: null,
    };
  } catch (err) {
    const { code, message } = logErrorCode(err);
    if (code === ErrorCode.KAFKA_STORAGE_ERROR) ctx.log.error({ err, topic, partition: index }, 'append failed');
    return fail(index, code, message);
  }
}

export default defineHandler<ProduceRequest, ProduceResponse>({
  apiKey: 0,
  // Advertised from v0 like Kafka 4 (old librdkafka disables compression otherwise); v0-2 are refused.
  minVersion: 0,
  maxVersion: 11,
  read: readProduceRequest,
  write: writeProduceResponse,
  async handle(req, ctx) {
    const { broker } = ctx;
    const badAcks = req.acks !== 0 && req.acks !== 1 && req.acks !== -1;
    const responses = await Promise.all(
      req.topicData.map(async (td) => {
        let known = !badAcks && td.name ? await broker.topics.ensure(td.name).catch(() => undefined) : undefined;
        const partitionResponses = await Promise.all(
          td.partitionData.map((pd) => {
            if (badAcks) return fail(pd.index, ErrorCode.INVALID_REQUIRED_ACKS, `acks must be -1, 0 or 1, got ${req.acks}`);
            if (!known) return fail(pd.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${td.name} does not exist`);
            return producePartition(ctx, td.name, pd.index, pd.records);
          }),
        );
        known = undefined;
        return { name: td.name, partitionResponses };
      }),
    );
    if (req.acks === 0) return null;
    return { responses, throttleTimeMs: 0 };
  },
});
