// Cluster view: brokers and partition leaders.
import type { FastifyInstance } from 'fastify';
import { clusterInfo, partitionLeaders } from '../admin/cluster-ops.js';
import type { PluginOptions } from '../context.js';
import { errorResponses } from '../schemas.js';

const brokerSchema = { type: 'object', properties: { node_id: { type: 'integer' }, host: { type: 'string' }, port: { type: 'integer' }, rack: { type: ['string', 'null'] } } } as const;

export default async function clusterRoutes(app: FastifyInstance, { ctx }: PluginOptions): Promise<void> {
  const { broker } = ctx;
  app.get('/v1/cluster', {
    schema: {
      summary: 'Cluster id, controller and live brokers',
      tags: ['cluster'],
      response: { 200: { type: 'object', properties: { cluster_id: { type: 'string' }, controller_id: { type: 'integer' }, brokers: { type: 'array', items: brokerSchema } } }, ...errorResponses() },
    },
    handler: async () => clusterInfo(broker),
  });
  app.get('/v1/brokers', {
    schema: { summary: 'Live brokers', tags: ['cluster'], response: { 200: { type: 'object', properties: { brokers: { type: 'array', items: brokerSchema } } }, ...errorResponses() } },
    handler: async () => ({ brokers: (await clusterInfo(broker)).brokers }),
  });
  app.get('/v1/cluster/partitions', {
    schema: {
      summary: 'Leader (lease holder) and leader epoch of every partition',
      tags: ['cluster'],
      response: {
        200: {
          type: 'object',
          properties: { partitions: { type: 'array', items: { type: 'object', properties: { topic: { type: 'string' }, partition: { type: 'integer' }, leader: { type: 'integer' }, leader_epoch: { type: 'integer' } } } } },
        },
        ...errorResponses(),
      },
    },
    handler: async () => ({ partitions: partitionLeaders(broker) }),
  });
}
