// DescribeTopicPartitions (KIP-966): what Kafka 4's Admin.describeTopics uses instead of Metadata.
// Paged by a cursor and a per-response partition limit.
import { readDescribeTopicPartitionsRequestCursor, readDescribeTopicPartitionsRequestTopicRequest, writeDescribeTopicPartitionsResponseCursor, writeDescribeTopicPartitionsResponseDescribeTopicPartitionsResponseTopic, readDescribeTopicPartitionsResponseCursor, readDescribeTopicPartitionsResponseDescribeTopicPartitionsResponseTopic, writeDescribeTopicPartitionsRequestCursor, writeDescribeTopicPartitionsRequestTopicRequest, type DescribeTopicPartitionsRequest, type DescribeTopicPartitionsResponse, type DescribeTopicPartitionsResponseDescribeTopicPartitionsResponseTopic } from '../protocol/generated/describe-topic-partitions.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { readArray, writeArray, type Input } from '../protocol/primitives/codec-helpers.js';
import type { Reader } from '../protocol/primitives/reader.js';
import type { Writer } from '../protocol/primitives/writer.js';
import type { TopicRecord } from '../cluster/control-store.js';
import { topicMetadata } from './metadata.js';
import { defineHandler } from './types.js';

type Topic = Input<DescribeTopicPartitionsResponseDescribeTopicPartitionsResponseTopic>;

const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
/** Kafka's max.request.partition.size.limit default: the most partitions one response carries. */
export const MAX_RESPONSE_PARTITIONS = 2000;
// No authorizer: every topic operation is allowed. READ(3) WRITE(4) CREATE(5) DELETE(6) ALTER(7)
// DESCRIBE(8) DESCRIBE_CONFIGS(10) ALTER_CONFIGS(11).
export const TOPIC_OPERATIONS = [3, 4, 5, 6, 7, 8, 10, 11].reduce((bits, op) => bits | (1 << op), 0);

// The cursors are nullable structs, which Kafka encodes behind a presence byte (-1 = null, 1 =
// present). The generated codec lacks that byte, so this API reads and writes its top level here.
export function readRequest(r: Reader, v: number): DescribeTopicPartitionsRequest {
  const topics = readArray(r, true, false, (rr: Reader) => readDescribeTopicPartitionsRequestTopicRequest(rr, v));
  const responsePartitionLimit = r.int32();
  const cursor = r.int8() < 0 ? null : readDescribeTopicPartitionsRequestCursor(r, v);
  r.taggedFields();
  return { topics, responsePartitionLimit, cursor };
}

export function writeResponse(w: Writer, v: number, m: Input<DescribeTopicPartitionsResponse>): void {
  w.int32(m.throttleTimeMs ?? 0);
  writeArray(w, true, false, (m.topics ?? []) as Topic[], (ww: Writer, e: Topic) => writeDescribeTopicPartitionsResponseDescribeTopicPartitionsResponseTopic(ww, v, e));
  if (m.nextCursor == null) w.int8(-1);
  else {
    w.int8(1);
    writeDescribeTopicPartitionsResponseCursor(w, v, m.nextCursor);
  }
  w.uvarint(0);
}

/** Request writer with the presence byte, for tests and tools. */
export function writeRequest(w: Writer, v: number, m: Input<DescribeTopicPartitionsRequest>): void {
  writeArray(w, true, false, (m.topics ?? []) as Array<{ name: string }>, (ww: Writer, e: { name: string }) => writeDescribeTopicPartitionsRequestTopicRequest(ww, v, e));
  w.int32(m.responsePartitionLimit ?? MAX_RESPONSE_PARTITIONS);
  if (m.cursor == null) w.int8(-1);
  else {
    w.int8(1);
    writeDescribeTopicPartitionsRequestCursor(w, v, m.cursor);
  }
  w.uvarint(0);
}

/** Response reader with the presence byte, for tests and tools. */
export function readResponse(r: Reader, v: number): DescribeTopicPartitionsResponse {
  const throttleTimeMs = r.int32();
  const topics = readArray(r, true, false, (rr: Reader) => readDescribeTopicPartitionsResponseDescribeTopicPartitionsResponseTopic(rr, v));
  const nextCursor = r.int8() < 0 ? null : readDescribeTopicPartitionsResponseCursor(r, v);
  r.taggedFields();
  return { throttleTimeMs, topics, nextCursor };
}

function unknown(name: string, errorCode: number): Topic {
  return { errorCode, name, topicId: ZERO_UUID, isInternal: false, partitions: [], topicAuthorizedOperations: TOPIC_OPERATIONS };
}

export default defineHandler<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse>({
  apiKey: 75,
  minVersion: 0,
  maxVersion: 0,
  read: readRequest,
  write: writeResponse,
  handle(req, ctx) {
    const { broker } = ctx;
    // An empty list means every topic; either way topics are answered in name order.
    const explicit = req.topics.length > 0;
    const names = explicit ? [...new Set(req.topics.map((t) => t.name))].sort() : broker.topics.list().map((t) => t.name).sort();
    const cursor = req.cursor;
    if (cursor !== null && (cursor.partitionIndex < 0 || (explicit && !names.includes(cursor.topicName)))) {
      const why = cursor.partitionIndex < 0 ? `negative cursor partition ${cursor.partitionIndex}` : `cursor topic ${cursor.topicName} is not among the requested topics`;
      ctx.log.debug({ cursor }, why);
      return { throttleTimeMs: 0, topics: names.map((n) => unknown(n, ErrorCode.INVALID_REQUEST)), nextCursor: null };
    }
    let budget = Math.max(1, Math.min(req.responsePartitionLimit > 0 ? req.responsePartitionLimit : MAX_RESPONSE_PARTITIONS, MAX_RESPONSE_PARTITIONS));
    const topics: Topic[] = [];
    let nextCursor: { topicName: string; partitionIndex: number } | null = null;
    const start = cursor === null ? 0 : names.findIndex((n) => n >= cursor.topicName);
    for (let i = start < 0 ? names.length : start; i < names.length; i++) {
      const name = names[i]!;
      const t: TopicRecord | undefined = broker.topics.get(name);
      if (!t) {
        topics.push(unknown(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
        continue;
      }
      if (budget === 0) {
        nextCursor = { topicName: name, partitionIndex: 0 };
        break;
      }
      const meta = topicMetadata(broker, t);
      const from = cursor !== null && name === cursor.topicName ? cursor.partitionIndex : 0;
      const parts = meta.partitions!.slice(from, from + budget);
      budget -= parts.length;
      topics.push({
        errorCode: ErrorCode.NONE,
        name: t.name,
        topicId: t.topicId,
        isInternal: meta.isInternal ?? false,
        partitions: parts.map((p) => ({ ...p, eligibleLeaderReplicas: [], lastKnownElr: [] })),
        topicAuthorizedOperations: TOPIC_OPERATIONS,
      });
      if (from + parts.length < t.partitions) {
        nextCursor = { topicName: name, partitionIndex: from + parts.length };
        break;
      }
    }
    return { throttleTimeMs: 0, topics, nextCursor };
  },
});
