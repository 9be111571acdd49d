// REST-proxy-style consumer instances bound to a group: create, subscribe, poll, commit, delete.
import type { FastifyInstance } from 'fastify';
import type { PluginOptions } from '../context.js';
import { notFound } from '../errors.js';
import { recordSchema, toJsonRecord, type RecordFormat } from '../record-format.js';
import { errorResponses, formatProp, GROUP_ID, groupParams, LIMITS, TOPIC_NAME } from '../schemas.js';

const instanceParams = {
  type: 'object',
  required: ['group', 'instance'],
  properties: { group: GROUP_ID, instance: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

const tpo = { type: 'object', required: ['topic', 'partition', 'offset'], additionalProperties: false, properties: { topic: TOPIC_NAME, partition: { type: 'integer', minimum: 0 }, offset: { type: 'integer', minimum: 0 } } } as const;

interface CreateBody {
  name?: string;
  format: RecordFormat;
  auto_offset_reset: 'earliest' | 'latest';
  auto_commit: boolean;
  session_timeout_ms: number;
}

type Inst = { Params: { group: string; instance: string } };

export default async function consumerRoutes(app: FastifyInstance, { ctx }: PluginOptions): Promise<void> {
  const { broker, consumers } = ctx;

  app.post<{ Params: { group: string }; Body: CreateBody }>('/v1/consumers/:group', {
    schema: {
      summary: 'Create a consumer instance in a group',
      description:
        'The instance is a real group member (it shows in group describe and shares partitions with Kafka clients in the same group). ' +
        `With auto_commit, each poll first commits what earlier polls returned, and delete commits too (at-least-once). Instances unused for ${consumers.idleTimeoutMs} ms are deleted.`,
      tags: ['consumers'],
      params: groupParams,
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[a-zA-Z0-9._-]+$' },
          format: formatProp,
          auto_offset_reset: { type: 'string', enum: ['earliest', 'latest'], default: 'latest' },
          auto_commit: { type: 'boolean', default: true },
          session_timeout_ms: { type: 'integer', minimum: 6000, maximum: 300000, default: 10000 },
        },
      },
      response: { 201: { type: 'object', properties: { instance_id: { type: 'string' }, base_uri: { type: 'string' } } }, ...errorResponses(400, 409) },
    },
    handler: async (req, reply) => {
      const b = req.body ?? ({} as CreateBody);
      const c = consumers.create(
        req.params.group,
        b.name,
        {
          format: b.format ?? 'json',
          autoOffsetReset: b.auto_offset_reset ?? 'latest',
          autoCommit: b.auto_commit ?? true,
          sessionTimeoutMs: b.session_timeout_ms ?? 10_000,
          rebalanceTimeoutMs: 30_000,
          heartbeatIntervalMs: Math.max(500, Math.floor((b.session_timeout_ms ?? 10_000) / 5)),
        },
        req.ip,
      );
      const base = `/v1/consumers/${encodeURIComponent(c.groupId)}/instances/${encodeURIComponent(c.id)}`;
      reply.code(201).header('location', base);
      return { instance_id: c.id, base_uri: base };
    },
  });

  app.post<Inst & { Body: { topics: string[] } }>('/v1/consumers/:group/instances/:instance/subscription', {
    schema: {
      summary: 'Subscribe to topics (replaces the subscription; triggers a rebalance)',
      tags: ['consumers'],
      params: instanceParams,
      body: { type: 'object', required: ['topics'], additionalProperties: false, properties: { topics: { type: 'array', minItems: 1, maxItems: 1000, items: TOPIC_NAME } } },
      response: { 204: { type: 'null', description: 'Subscribed' }, ...errorResponses(400, 404) },
    },
    handler: async (req, reply) => {
      const c = consumers.get(req.params.group, req.params.instance);
      // A topic created through another broker may not be in this broker's view yet.
      if (broker.cluster !== null && req.body.topics.some((t) => !broker.topics.get(t))) await broker.store.refresh();
      for (const t of req.body.topics) if (!broker.topics.get(t)) throw notFound(`topic '${t}' does not exist`);
      c.subscribe(req.body.topics);
      reply.code(204).send();
    },
  });

  app.get<Inst>('/v1/consumers/:group/instances/:instance/subscription', {
    schema: { summary: 'Current subscription', tags: ['consumers'], params: instanceParams, response: { 200: { type: 'object', properties: { topics: { type: 'array', items: { type: 'string' } } } }, ...errorResponses(404) } },
    handler: async (req) => ({ topics: consumers.get(req.params.group, req.params.instance).subscription }),
  });

  app.get<Inst>('/v1/consumers/:group/instances/:instance/assignments', {
    schema: {
      summary: 'Partitions currently assigned to the instance, with its positions',
      tags: ['consumers'],
      params: instanceParams,
      response: {
        200: {
          type: 'object',
          properties: {
            member_id: { type: 'string' },
            generation_id: { type: 'integer' },
            stable: { type: 'boolean' },
            partitions: { type: 'array', items: { type: 'object', properties: { topic: { type: 'string' }, partition: { type: 'integer' } } } },
            positions: { type: 'array', items: { type: 'object', properties: { topic: { type: 'string' }, partition: { type: 'integer' }, offset: { type: 'integer' } } } },
          },
        },
        ...errorResponses(404),
      },
    },
    handler: async (req) => {
      const c = consumers.get(req.params.group, req.params.instance);
      return { member_id: c.memberId, generation_id: c.generationId, stable: c.isStable, partitions: c.assigned, positions: c.positionsView() };
    },
  });

  app.get<Inst & { Querystring: { timeout_ms: number; max_bytes: number; max_records: number } }>('/v1/consumers/:group/instances/:instance/records', {
    schema: {
      summary: 'Poll records',
      description: `Waits up to timeout_ms (max ${LIMITS.maxPollTimeoutMs}) for the group to settle and for data; returns [] if none.`,
      tags: ['consumers'],
      params: instanceParams,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          timeout_ms: { type: 'integer', minimum: 0, maximum: LIMITS.maxPollTimeoutMs, default: 1000 },
          max_bytes: { type: 'integer', minimum: 1, maximum: LIMITS.maxReadBytes, default: LIMITS.defaultReadBytes },
          max_records: { type: 'integer', minimum: 1, maximum: LIMITS.maxReadRecords, default: LIMITS.defaultReadRecords },
        },
      },
      response: { 200: { type: 'object', properties: { records: { type: 'array', items: recordSchema } } }, ...errorResponses(400, 404, 409, 422, 503) },
    },
    handler: async (req) => {
      const c = consumers.get(req.params.group, req.params.instance);
      const polled = await c.poll(req.query.timeout_ms, req.query.max_bytes, req.query.max_records);
      const records = polled.map((p) => toJsonRecord(p.topic, p.partition, p.record, c.settings.format));
      for (const p of polled) ctx.metrics.recordsOut.inc({ topic: p.topic, partition: p.partition });
      return { records };
    },
  });

  app.post<Inst & { Body: { offsets?: Array<{ topic: string; partition: number; offset: number }> } | undefined }>('/v1/consumers/:group/instances/:instance/offsets', {
    schema: {
      summary: 'Commit offsets',
      description: 'Commits the given offsets (the next offset to read, as in Kafka), or every current position when the body is empty.',
      tags: ['consumers'],
      params: instanceParams,
      body: { type: 'object', additionalProperties: false, properties: { offsets: { type: 'array', maxItems: 100000, items: tpo } } },
      response: { 204: { type: 'null', description: 'Committed' }, ...errorResponses(400, 404, 409, 422, 503) },
    },
    handler: async (req, reply) => {
      await consumers.get(req.params.group, req.params.instance).commit(req.body?.offsets);
      reply.code(204).send();
    },
  });

  app.delete<Inst>('/v1/consumers/:group/instances/:instance', {
    schema: { summary: 'Delete the instance (leaves the group)', tags: ['consumers'], params: instanceParams, response: { 204: { type: 'null', description: 'Deleted' }, ...errorResponses(404) } },
    handler: async (req, reply) => {
      await consumers.delete(req.params.group, req.params.instance);
      reply.code(204).send();
    },
  });
}
