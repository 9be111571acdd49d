// Request encoding and response decoding for the benchmark client, on top of the broker's own
// generated codecs so the bench speaks exactly the wire format the broker parses.
import { randomBytes } from 'node:crypto';
import { isFlexible } from '../../broker/protocol/frame.js';
import { Reader } from '../../broker/protocol/primitives/reader.js';
import { Writer } from '../../broker/protocol/primitives/writer.js';
import { writeRequestHeader } from '../../broker/protocol/generated/request-header.js';
import { readProduceResponse, writeProduceRequest } from '../../broker/protocol/generated/produce.js';
import { readFetchResponse, writeFetchRequest } from '../../broker/protocol/generated/fetch.js';
import { readCreateTopicsResponse, writeCreateTopicsRequest } from '../../broker/protocol/generated/create-topics.js';
import { readListOffsetsResponse, writeListOffsetsRequest } from '../../broker/protocol/generated/list-offsets.js';
import { encodeBatchSync } from '../../broker/protocol/records/records.js';
import { BASE_TIMESTAMP, BATCH_LENGTH, LOG_OVERHEAD, MAX_TIMESTAMP, readBatchHeader } from '../../broker/protocol/records/batch-header.js';
import { writeBatchCrc } from '../../broker/protocol/records/crc.js';
import type { KafkaConn } from './kafka-conn.js';

export const PRODUCE_VERSION = 9;
export const FETCH_VERSION = 12;
const LIST_OFFSETS_VERSION = 7;
const CREATE_TOPICS_VERSION = 7;
const API_PRODUCE = 0;
const API_FETCH = 1;
const API_LIST_OFFSETS = 2;
const API_CREATE_TOPICS = 19;
const CLIENT_ID = 'floe-bench';
/** Size prefix + apiKey + apiVersion: where the correlation id sits in a frame. */
const CORRELATION_AT = 8;

/** A whole request frame, size prefix included. */
export function encodeRequest(apiKey: number, version: number, correlationId: number, body: (w: Writer) => void): Buffer {
  const w = new Writer(1024);
  w.int32(0);
  writeRequestHeader(w, isFlexible(apiKey, version) ? 2 : 1, { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: CLIENT_ID });
  body(w);
  const frame = w.toBuffer();
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

/** A reader positioned at the response body (after correlation id and, if flexible, header tags). */
export function responseBody(frame: Buffer, apiKey: number, version: number): Reader {
  const r = new Reader(frame);
  r.int32();
  if (isFlexible(apiKey, version)) r.taggedFields();
  return r;
}

/**
 * A Produce request for one batch of `records` records of `recordBytes` random bytes each, to one
 * partition. Copies of it are stamped with a fresh correlation id and timestamp before each send.
 */
export class ProduceTemplate {
  readonly frame: Buffer;
  readonly batchAt: number;
  readonly batchSize: number;
  readonly records: number;
  readonly valueBytes: number;

  constructor(topic: string, partition: number, records: number, recordBytes: number, acks: number, payload: Buffer) {
    const now = Date.now();
    const recs = [];
    for (let i = 0; i < records; i++) {
      // Distinct slices of one random block: incompressible, and no two records alike.
      const at = (i * 7919) % Math.max(1, payload.length - recordBytes);
      recs.push({ value: payload.subarray(at, at + recordBytes), timestamp: now });
    }
    const batch = encodeBatchSync({ records: recs });
    this.frame = encodeRequest(API_PRODUCE, PRODUCE_VERSION, 0, (w) =>
      writeProduceRequest(w, PRODUCE_VERSION, {
        transactionalId: null,
        acks,
        timeoutMs: 30_000,
        topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
      }),
    );
    // v9: the batch is followed by three tag sections (partition, topic, request).
    this.batchAt = this.frame.length - 3 - batch.length;
    this.batchSize = batch.length;
    if (!this.frame.subarray(this.batchAt, this.batchAt + batch.length).equals(batch)) {
      throw new Error('produce template: batch not where expected');
    }
    this.records = records;
    this.valueBytes = records * recordBytes;
  }

  /** A private copy that can be stamped while other copies are in flight. */
  copy(): Buffer {
    return Buffer.from(this.frame);
  }

  setCorrelationId(buf: Buffer, correlationId: number): void {
    buf.writeInt32BE(correlationId, CORRELATION_AT);
  }

  /** Sets correlation id and the batch timestamps (ms), then fixes the batch CRC. */
  stamp(buf: Buffer, correlationId: number, timestampMs: number): void {
    buf.writeInt32BE(correlationId, CORRELATION_AT);
    const ts = BigInt(Math.floor(timestampMs));
    buf.writeBigInt64BE(ts, this.batchAt + BASE_TIMESTAMP);
    buf.writeBigInt64BE(ts, this.batchAt + MAX_TIMESTAMP);
    writeBatchCrc(buf, this.batchAt, this.batchSize);
  }
}

export function randomPayload(bytes: number): Buffer {
  return randomBytes(bytes);
}

/** Error code and message of the first failed partition in a Produce response, or null. */
export function produceError(frame: Buffer): { code: number; message: string | null } | null {
  const res = readProduceResponse(responseBody(frame, API_PRODUCE, PRODUCE_VERSION), PRODUCE_VERSION);
  for (const t of res.responses) {
    for (const p of t.partitionResponses) {
      if (p.errorCode !== 0) return { code: p.errorCode, message: p.errorMessage };
    }
  }
  return null;
}

export interface FetchPosition {
  partition: number;
  offset: number;
}

export function encodeFetch(
  correlationId: number,
  topic: string,
  positions: FetchPosition[],
  opts: { maxWaitMs: number; minBytes: number; maxBytes: number; partitionMaxBytes: number },
): Buffer {
  return encodeRequest(API_FETCH, FETCH_VERSION, correlationId, (w) =>
    writeFetchRequest(w, FETCH_VERSION, {
      replicaId: -1,
      maxWaitMs: opts.maxWaitMs,
      minBytes: opts.minBytes,
      maxBytes: opts.maxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          partitions: positions.map((p) => ({
            partition: p.partition,
            currentLeaderEpoch: -1,
            fetchOffset: p.offset,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: opts.partitionMaxBytes,
          })),
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    }),
  );
}

export interface FetchedBatch {
  baseOffset: number;
  nextOffset: number;
  records: number;
  maxTimestamp: number;
  /** Bytes of the whole batch as stored. */
  size: number;
}

export interface FetchedPartition {
  partition: number;
  errorCode: number;
  highWatermark: number;
  batches: FetchedBatch[];
}

/** Walks the complete batches of each partition in a Fetch response (headers only). */
export function decodeFetch(frame: Buffer): { errorCode: number; partitions: FetchedPartition[] } {
  const res = readFetchResponse(responseBody(frame, API_FETCH, FETCH_VERSION), FETCH_VERSION);
  const partitions: FetchedPartition[] = [];
  for (const t of res.responses) {
    for (const p of t.partitions) {
      const batches: FetchedBatch[] = [];
      const data = p.records;
      let pos = 0;
      while (data && data.length - pos >= LOG_OVERHEAD) {
        const size = data.readInt32BE(pos + BATCH_LENGTH) + LOG_OVERHEAD;
        if (size > data.length - pos) break; // partial trailing batch
        const h = readBatchHeader(data, pos);
        batches.push({ baseOffset: h.baseOffset, nextOffset: h.baseOffset + h.lastOffsetDelta + 1, records: h.recordsCount, maxTimestamp: h.maxTimestamp, size });
        pos += size;
      }
      partitions.push({ partition: p.partitionIndex, errorCode: p.errorCode, highWatermark: p.highWatermark, batches });
    }
  }
  return { errorCode: res.errorCode, partitions };
}

export async function createTopic(conn: KafkaConn, topic: string, partitions: number): Promise<void> {
  const frame = encodeRequest(API_CREATE_TOPICS, CREATE_TOPICS_VERSION, 1, (w) =>
    writeCreateTopicsRequest(w, CREATE_TOPICS_VERSION, {
      topics: [{ name: topic, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 30_000,
      validateOnly: false,
    }),
  );
  const res = readCreateTopicsResponse(responseBody(await conn.request(frame), API_CREATE_TOPICS, CREATE_TOPICS_VERSION), CREATE_TOPICS_VERSION);
  const t = res.topics[0];
  if (!t || t.errorCode !== 0) throw new Error(`CreateTopics ${topic} failed: ${t?.errorCode} ${t?.errorMessage ?? ''}`);
}

/** Log end offsets (ListOffsets "latest") of partitions 0..n-1. */
export async function latestOffsets(conn: KafkaConn, topic: string, partitions: number): Promise<number[]> {
  const frame = encodeRequest(API_LIST_OFFSETS, LIST_OFFSETS_VERSION, 2, (w) =>
    writeListOffsetsRequest(w, LIST_OFFSETS_VERSION, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: topic, partitions: Array.from({ length: partitions }, (_, i) => ({ partitionIndex: i, currentLeaderEpoch: -1, timestamp: -1 })) }],
    }),
  );
  const res = readListOffsetsResponse(responseBody(await conn.request(frame), API_LIST_OFFSETS, LIST_OFFSETS_VERSION), LIST_OFFSETS_VERSION);
  const out = new Array<number>(partitions).fill(-1);
  for (const t of res.topics) {
    for (const p of t.partitions) {
      if (p.errorCode !== 0) throw new Error(`ListOffsets ${topic}-${p.partitionIndex} failed: ${p.errorCode}`);
      out[p.partitionIndex] = p.offset;
    }
  }
  return out;
}
