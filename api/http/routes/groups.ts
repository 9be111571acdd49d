// Consumer group admin: list, describe with lag per partition, reset offsets, delete.
import type { FastifyInstance } from 'fastify';
import { deleteGroup, describeGroup, listGroups, resetOffsets, type ResetTarget } from '../admin/groups-ops.js';
import type { PluginOptions } from '../context.js';
import { badRequest } from '../errors.js';
import { errorResponses, groupParams, TOPIC_NAME } from '../schemas.js';
import { GROUP_STATES } from '../../../broker/groups/group-types.js';

const offsetRow = {
  type: 'object',
  properties: {
    topic: { type: 'string' },
    partition: { type: 'integer' },
    committed_offset: { type: ['integer', 'null'] },
    log_end_offset: { type: 'integer' },
    lag: { type: ['integer', 'null'] },
    member_id: { type: ['string', 'null'] },
  },
} as const;

const member = {
  type: 'object',
  properties: {
    member_id: { type: 'string' },
    group_instance_id: { type: ['string', 'null'] },
    client_id: { type: 'string' },
    client_host: { type: 'string' },
    assignments: { type: 'array', items: { type: 'object', properties: { topic: { type: 'string' }, partition: { type: 'integer' } } } },
  },
} as const;

export default async function groupRoutes(app: FastifyInstance, { ctx }: PluginOptions): Promise<void> {
  const { broker } = ctx;

  app.get<{ Querystring: { state?: string[] } }>('/v1/groups', {
    schema: {
      summary: 'List consumer groups',
      tags: ['groups'],
      querystring: { type: 'object', additionalProperties: false, properties: { state: { type: 'array', items: { type: 'string', enum: GROUP_STATES.filter((s) => s !== 'Dead') } } } },
      response: {
        200: { type: 'object', properties: { groups: { type: 'array', items: { type: 'object', properties: { group_id: { type: 'string' }, protocol_type: { type: 'string' }, state: { type: 'string' } } } } } },
        ...errorResponses(400, 503),
      },
    },
    handler: async (req) => ({ groups: await listGroups(broker, req.query.state ?? []) }),
  });

  app.get<{ Params: { group: string } }>('/v1/groups/:group', {
    schema: {
      summary: 'Describe a group: state, members and their partitions, committed offsets and lag',
      tags: ['groups'],
      params: groupParams,
      response: {
        200: {
          type: 'object',
          properties: {
            group_id: { type: 'string' },
            state: { type: 'string' },
            protocol_type: { type: 'string' },
            protocol: { type: 'string' },
            members: { type: 'array', items: member },
            offsets: { type: 'array', items: offsetRow },
            total_lag: { type: 'integer' },
          },
        },
        ...errorResponses(400, 404, 503),
      },
    },
    handler: async (req) => describeGroup(broker, req.params.group),
  });

  app.post<{ Params: { group: string }; Body: { topic: string; partitions?: number[]; to: ResetTarget['to']; offset?: number; timestamp?: number } }>('/v1/groups/:group/offsets/reset', {
    schema: {
      summary: 'Reset committed offsets of an inactive group',
      description: 'Like kafka-consumer-groups --reset-offsets --execute: the group must have no members (409 otherwise).',
      tags: ['groups'],
      params: groupParams,
      body: {
        type: 'object',
        required: ['topic', 'to'],
        additionalProperties: false,
        properties: {
          topic: TOPIC_NAME,
          partitions: { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1, maxItems: 100000, uniqueItems: true },
          to: { type: 'string', enum: ['earliest', 'latest', 'offset', 'timestamp'] },
          offset: { type: 'integer', minimum: 0 },
          timestamp: { type: 'integer', minimum: 0 },
        },
      },
      response: { 200: { type: 'object', properties: { offsets: { type: 'array', items: offsetRow } } }, ...errorResponses(400, 404, 409, 422, 503) },
    },
    handler: async (req) => {
      const b = req.body;
      let target: ResetTarget;
      if (b.to === 'offset') {
        if (b.offset === undefined) throw badRequest('to=offset needs "offset"');
        target = { to: 'offset', offset: b.offset };
      } else if (b.to === 'timestamp') {
        if (b.timestamp === undefined) throw badRequest('to=timestamp needs "timestamp"');
        target = { to: 'timestamp', timestamp: b.timestamp };
      } else target = { to: b.to };
      return { offsets: await resetOffsets(broker, req.params.group, b.topic, b.partitions, target) };
    },
  });

  app.delete<{ Params: { group: string } }>('/v1/groups/:group', {
    schema: { summary: 'Delete an empty group and its committed offsets', tags: ['groups'], params: groupParams, response: { 204: { type: 'null', description: 'Deleted' }, ...errorResponses(400, 404, 409, 503) } },
    handler: async (req, reply) => {
      await deleteGroup(broker, req.params.group);
      reply.code(204).send();
    },
  });
}
