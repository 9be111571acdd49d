// Topic admin: create, list, describe (partitions, offsets, configs), alter configs, delete.
import type { FastifyInstance } from 'fastify';
import { alterTopicConfigs, createTopic, deleteTopic, describeTopic, findTopic, listTopics, partitionDetail, partitionDetails, topicConfigs } from '../admin/topics-ops.js';
import type { PluginOptions } from '../context.js';
import { kafkaError } from '../errors.js';
import { ErrorCode } from '../../../broker/protocol/generated/error-codes.js';
import { errorResponses, partitionParams, TOPIC_NAME, topicParams } from '../schemas.js';

const summary = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    topic_id: { type: 'string' },
    partitions: { type: 'integer' },
    replication_factor: { type: 'integer' },
    internal: { type: 'boolean' },
  },
} as const;

const partition = {
  type: 'object',
  properties: {
    partition: { type: 'integer' },
    leader: { type: 'integer' },
    leader_epoch: { type: 'integer' },
    replicas: { type: 'array', items: { type: 'integer' } },
    isr: { type: 'array', items: { type: 'integer' } },
    log_start_offset: { type: 'integer' },
    high_watermark: { type: 'integer' },
  },
} as const;

const config = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    value: { type: ['string', 'null'] },
    source: { type: 'string' },
    read_only: { type: 'boolean' },
    sensitive: { type: 'boolean' },
  },
} as const;

const configMap = { type: 'object', additionalProperties: { type: 'string' }, maxProperties: 200 } as const;

export default async function topicRoutes(app: FastifyInstance, { ctx }: PluginOptions): Promise<void> {
  const { broker } = ctx;

  app.get<{ Querystring: { internal: boolean } }>('/v1/topics', {
    schema: {
      summary: 'List topics',
      tags: ['topics'],
      querystring: { type: 'object', additionalProperties: false, properties: { internal: { type: 'boolean', default: false } } },
      response: { 200: { type: 'object', properties: { topics: { type: 'array', items: summary } } }, ...errorResponses(400) },
    },
    handler: async (req) => ({ topics: listTopics(broker, req.query.internal) }),
  });

  app.post<{ Body: { name: string; partitions?: number; replication_factor?: number; configs?: Record<string, string> } }>('/v1/topics', {
    schema: {
      summary: 'Create a topic',
      tags: ['topics'],
      body: {
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: {
          name: TOPIC_NAME,
          partitions: { type: 'integer', minimum: 1, maximum: 100000, description: 'Default: the broker num.partitions' },
          replication_factor: { type: 'integer', minimum: 1, maximum: 32767, description: 'Accepted for compatibility; durability comes from the shared medium' },
          configs: configMap,
        },
      },
      response: { 201: summary, ...errorResponses(400, 409, 422) },
    },
    handler: async (req, reply) => {
      const t = await createTopic(broker, req.body);
      reply.code(201).header('location', `/v1/topics/${encodeURIComponent(t.name)}`);
      return t;
    },
  });

  app.get<{ Params: { topic: string } }>('/v1/topics/:topic', {
    schema: {
      summary: 'Describe a topic: partitions with offsets, and configs',
      tags: ['topics'],
      params: topicParams,
      response: {
        200: { type: 'object', properties: { ...summary.properties, partition_details: { type: 'array', items: partition }, configs: { type: 'array', items: config } } },
        ...errorResponses(400, 404),
      },
    },
    handler: async (req) => describeTopic(broker, req.params.topic),
  });

  app.delete<{ Params: { topic: string } }>('/v1/topics/:topic', {
    schema: { summary: 'Delete a topic', tags: ['topics'], params: topicParams, response: { 204: { type: 'null', description: 'Deleted' }, ...errorResponses(400, 403, 404) } },
    handler: async (req, reply) => {
      await deleteTopic(broker, req.params.topic);
      ctx.partitioner.forget(req.params.topic);
      reply.code(204).send();
    },
  });

  app.get<{ Params: { topic: string } }>('/v1/topics/:topic/configs', {
    schema: { summary: 'Topic configs (effective values and their source)', tags: ['topics'], params: topicParams, response: { 200: { type: 'object', properties: { configs: { type: 'array', items: config } } }, ...errorResponses(400, 404) } },
    handler: async (req) => ({ configs: topicConfigs(broker, await findTopic(broker, req.params.topic)) }),
  });

  app.patch<{ Params: { topic: string }; Body: { set?: Record<string, string>; delete?: string[] } }>('/v1/topics/:topic/configs', {
    schema: {
      summary: 'Alter topic configs incrementally',
      description: '`set` adds or replaces overrides; `delete` removes overrides so the broker default applies again.',
      tags: ['topics'],
      params: topicParams,
      body: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        properties: { set: configMap, delete: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 200 } },
      },
      response: { 200: { type: 'object', properties: { configs: { type: 'array', items: config } } }, ...errorResponses(400, 404, 422) },
    },
    handler: async (req) => ({ configs: await alterTopicConfigs(broker, req.params.topic, req.body.set ?? {}, req.body.delete ?? []) }),
  });

  app.get<{ Params: { topic: string } }>('/v1/topics/:topic/partitions', {
    schema: { summary: 'Partitions of a topic with leader and offsets', tags: ['topics'], params: topicParams, response: { 200: { type: 'object', properties: { partitions: { type: 'array', items: partition } } }, ...errorResponses(400, 404) } },
    handler: async (req) => ({ partitions: await partitionDetails(broker, await findTopic(broker, req.params.topic)) }),
  });

  app.get<{ Params: { topic: string; partition: number } }>('/v1/topics/:topic/partitions/:partition', {
    schema: { summary: 'One partition with leader and offsets', tags: ['topics'], params: partitionParams, response: { 200: partition, ...errorResponses(400, 404) } },
    handler: async (req) => {
      const t = await findTopic(broker, req.params.topic);
      if (req.params.partition >= t.partitions) throw kafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic '${t.name}' has no partition ${req.params.partition}`);
      return partitionDetail(broker, t, req.params.partition);
    },
  });
}
