// Produce a batch of records, and read records from one partition.
import type { FastifyInstance } from 'fastify';
import type { PluginOptions } from '../context.js';
import { HttpError, statusForKafkaCode } from '../errors.js';
import { produceRecords, type ProduceRecordInput } from '../produce.js';
import { readRecords } from '../read.js';
import { recordSchema, toJsonRecord, type RecordFormat } from '../record-format.js';
import { errorName } from '../../../broker/protocol/generated/error-codes.js';
import { errorResponses, formatProp, LIMITS, partitionParams, topicParams } from '../schemas.js';

const inputRecord = {
  type: 'object',
  additionalProperties: false,
  properties: {
    key: { description: 'Any JSON (format=json), a string (text) or base64 (binary); null or absent = null key' },
    value: { description: 'Like key; null = tombstone' },
    headers: {
      type: 'array',
      maxItems: 1000,
      items: { type: 'object', required: ['key'], additionalProperties: false, properties: { key: { type: 'string' }, value: { type: ['string', 'null'] } } },
    },
    partition: { type: 'integer', minimum: 0, maximum: 2147483647, description: 'Default: murmur2(key) like Kafka clients, round robin for null keys' },
    timestamp: { type: 'integer', minimum: 0, description: 'Create time in ms; default now' },
  },
} as const;

const producedRecord = {
  type: 'object',
  properties: { partition: { type: 'integer' }, offset: { type: 'integer' }, error_code: { type: 'string' }, message: { type: 'string' } },
} as const;

export default async function recordRoutes(app: FastifyInstance, { ctx }: PluginOptions): Promise<void> {
  const { broker } = ctx;

  app.post<{ Params: { topic: string }; Body: { format: RecordFormat; records: ProduceRecordInput[] } }>('/v1/topics/:topic/records', {
    bodyLimit: LIMITS.produceBodyBytes,
    schema: {
      summary: 'Produce records',
      description:
        `Up to ${LIMITS.maxRecordsPerProduce} records and ${LIMITS.produceBodyBytes} bytes of JSON per request. Records for one partition form one batch, ` +
        'appended atomically and acknowledged once durable (acks=all). Offsets come back in request order. ' +
        'If some partitions fail, the response is 200 with error_code on the failed records; if all fail, the error status of the first failure.',
      tags: ['records'],
      params: topicParams,
      body: {
        type: 'object',
        required: ['records'],
        additionalProperties: false,
        properties: { format: formatProp, records: { type: 'array', minItems: 1, maxItems: LIMITS.maxRecordsPerProduce, items: inputRecord } },
      },
      response: { 200: { type: 'object', properties: { offsets: { type: 'array', items: producedRecord } } }, ...errorResponses(400, 404, 413, 422, 503) },
    },
    handler: async (req) => {
      const out = await produceRecords(broker, ctx.partitioner, req.params.topic, req.body.records, req.body.format);
      if (out.offsets.every((o) => o.error_code !== undefined)) {
        throw new HttpError(statusForKafkaCode(out.firstError), errorName(out.firstError), out.firstMessage);
      }
      return { offsets: out.offsets };
    },
  });

  app.get<{ Params: { topic: string; partition: number }; Querystring: { offset?: number; timestamp?: number; max_bytes: number; limit: number; format: RecordFormat } }>(
    '/v1/topics/:topic/partitions/:partition/records',
    {
      schema: {
        summary: 'Read records from a partition',
        description: `From \`offset\`, or the first record at/after \`timestamp\` (ms), else the log start. At most \`limit\` records (max ${LIMITS.maxReadRecords}) and about \`max_bytes\` of stored batches (max ${LIMITS.maxReadBytes}; at least one batch is read).`,
        tags: ['records'],
        params: partitionParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            offset: { type: 'integer', minimum: 0 },
            timestamp: { type: 'integer', minimum: 0 },
            max_bytes: { type: 'integer', minimum: 1, maximum: LIMITS.maxReadBytes, default: LIMITS.defaultReadBytes },
            limit: { type: 'integer', minimum: 1, maximum: LIMITS.maxReadRecords, default: LIMITS.defaultReadRecords },
            format: formatProp,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              records: { type: 'array', items: recordSchema },
              next_offset: { type: 'integer' },
              high_watermark: { type: 'integer' },
              log_start_offset: { type: 'integer' },
            },
          },
          ...errorResponses(400, 404, 422),
        },
      },
      handler: async (req) => {
        const { topic, partition } = req.params;
        const q = req.query;
        if (q.offset !== undefined && q.timestamp !== undefined) throw new HttpError(400, 400, 'give offset or timestamp, not both');
        const r = await readRecords(broker, topic, partition, { offset: q.offset, timestamp: q.timestamp, maxBytes: q.max_bytes, limit: q.limit });
        const records = r.records.map((x) => toJsonRecord(topic, partition, x, q.format));
        if (records.length > 0) ctx.metrics.recordsOut.inc({ topic, partition }, records.length);
        return { records, next_offset: r.nextOffset, high_watermark: r.highWatermark, log_start_offset: r.logStartOffset };
      },
    },
  );
}

