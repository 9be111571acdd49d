// Produce over HTTP: JSON records -> one v2 batch per partition -> the same validation and log
// append path as a Kafka Produce request. In a cluster a partition led by another broker gets
// the batch through broker.router (a Produce to its leader).
import type { Broker } from '../../broker/core/broker.js';
import { ErrorCode, errorName } from '../../broker/protocol/generated/error-codes.js';
import { encodeBatch, type BatchInputRecord } from '../../broker/protocol/records/records.js';
import { validateProduceRecords } from '../../broker/protocol/records/validate.js';
import { logErrorCode } from '../../broker/handlers/produce.js';
import { RouterError } from '../../broker/cluster/router.js';
import { KafkaError } from '../../broker/client/errors.js';
import { kafkaError, notFound } from './errors.js';
import type { HttpPartitioner } from './partitioner.js';
import { encodeField, encodeHeader, type RecordFormat } from './record-format.js';

export interface ProduceRecordInput {
  key?: unknown;
  value?: unknown;
  headers?: Array<{ key: string; value: string | null }>;
  partition?: number;
  timestamp?: number;
}

export interface ProducedRecord {
  partition: number;
  /** -1 when the record's partition failed. */
  offset: number;
  error_code?: string;
  message?: string;
}

export interface ProduceOutcome {
  offsets: ProducedRecord[];
  /** Kafka code of the first failure, or NONE. */
  firstError: number;
  firstMessage: string;
}

export async function produceRecords(broker: Broker, partitioner: HttpPartitioner, topic: string, records: ProduceRecordInput[], format: RecordFormat): Promise<ProduceOutcome> {
  let t = broker.topics.get(topic);
  // Created through another broker since this one last refreshed its topic list.
  if (!t && broker.cluster !== null) {
    await broker.store.refresh();
    t = broker.topics.get(topic);
  }
  if (!t) throw notFound(`topic '${topic}' does not exist`);
  const byPartition = new Map<number, { indices: number[]; inputs: BatchInputRecord[] }>();
  records.forEach((r, i) => {
    const key = encodeField(r.key, format, `records[${i}].key`);
    const value = encodeField(r.value, format, `records[${i}].value`);
    const headers = (r.headers ?? []).map((h, j) => ({ key: h.key, value: encodeHeader(h.value, format, `records[${i}].headers[${j}].value`) }));
    let p: number;
    if (r.partition !== undefined) {
      if (r.partition >= t.partitions) throw kafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `records[${i}]: topic '${topic}' has no partition ${r.partition} (it has ${t.partitions})`);
      p = r.partition;
    } else p = partitioner.choose(topic, key, t.partitions);
    let slot = byPartition.get(p);
    if (!slot) byPartition.set(p, (slot = { indices: [], inputs: [] }));
    slot.indices.push(i);
    slot.inputs.push({ key, value, headers, ...(r.timestamp !== undefined ? { timestamp: r.timestamp } : {}) });
  });

  const offsets: ProducedRecord[] = new Array<ProducedRecord>(records.length);
  let firstError: number = ErrorCode.NONE;
  let firstMessage = '';
  const cfg = broker.topics.logConfigOf(topic);
  const compacted = (t.configs['cleanup.policy'] ?? '').includes('compact');
  await Promise.all(
    [...byPartition].map(async ([p, slot]) => {
      const res = await appendPartition(broker, topic, p, slot.inputs, cfg, compacted);
      if (res.code !== ErrorCode.NONE && firstError === ErrorCode.NONE) {
        firstError = res.code;
        firstMessage = res.message;
      }
      slot.indices.forEach((idx, j) => {
        offsets[idx] =
          res.code === ErrorCode.NONE ? { partition: p, offset: res.baseOffset + j } : { partition: p, offset: -1, error_code: errorName(res.code), message: res.message };
      });
    }),
  );
  return { offsets, firstError, firstMessage };
}

type AppendOutcome = { code: number; message: string; baseOffset: number };

async function appendPartition(broker: Broker, topic: string, partition: number, inputs: BatchInputRecord[], cfg: ReturnType<Broker['topics']['logConfigOf']>, compacted: boolean): Promise<AppendOutcome> {
  const log = broker.topics.partition(topic, partition);
  if (!log && broker.cluster === null) return { code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `This server does not host ${topic}-${partition}`, baseOffset: -1 };
  const batch = await encodeBatch({ records: inputs });
  const now = Date.now();
  const checked = validateProduceRecords(batch, {
    maxMessageBytes: cfg.maxMessageBytes,
    timestampType: cfg.timestampType,
    messageTimestampBeforeMaxMs: cfg.messageTimestampBeforeMaxMs,
    messageTimestampAfterMaxMs: cfg.messageTimestampAfterMaxMs,
    now,
    compacted,
    deepCheck: compacted,
  });
  if ('code' in checked) return { code: checked.code, message: checked.message, baseOffset: -1 };
  if (!log) {
    // Led elsewhere: that broker counts the bytes in.
    try {
      const res = await broker.router.append(topic, partition, batch);
      return { code: ErrorCode.NONE, message: '', baseOffset: res.baseOffset };
    } catch (err) {
      return { ...routedErrorCode(err), baseOffset: -1 };
    }
  }
  try {
    const res = await log.append(batch, { now });
    broker.metrics.bytesIn.inc({ topic, partition }, batch.length);
    broker.metrics.recordsIn.inc({ topic, partition }, checked.recordCount);
    return { code: ErrorCode.NONE, message: '', baseOffset: res.baseOffset };
  } catch (err) {
    const { code, message } = logErrorCode(err);
    return { code, message, baseOffset: -1 };
  }
}

function routedErrorCode(err: unknown): { code: number; message: string } {
  if (err instanceof KafkaError) return { code: err.code, message: err.message };
  if (err instanceof RouterError) {
    const code = err.code === 'UNKNOWN_TOPIC_OR_PARTITION' ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : err.code === 'TIMEOUT' ? ErrorCode.REQUEST_TIMED_OUT : ErrorCode.NOT_LEADER_OR_FOLLOWER;
    return { code, message: err.message };
  }
  return logErrorCode(err);
}
