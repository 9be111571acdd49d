// Probes, Prometheus metrics and the OpenAPI document.
import type { FastifyInstance } from 'fastify';
import type { PluginOptions } from '../context.js';
import type { OpenApiCollector, OpenApiInfo } from '../openapi.js';
import { errorResponses } from '../schemas.js';

export interface MetaOptions extends PluginOptions {
  openapi: OpenApiCollector;
  info: OpenApiInfo;
}

export default async function metaRoutes(app: FastifyInstance, { ctx, openapi, info }: MetaOptions): Promise<void> {
  app.get('/healthz', {
    schema: { summary: 'Liveness: the process is up (no token needed)', tags: ['meta'], security: [], response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } },
    handler: async () => ({ status: 'ok' }),
  });

  app.get('/readyz', {
    schema: {
      summary: 'Readiness: broker open and Kafka listener accepting (no token needed)',
      tags: ['meta'],
      security: [],
      response: {
        200: { type: 'object', properties: { status: { type: 'string' }, checks: { type: 'object', additionalProperties: { type: 'boolean' } } } },
        503: { type: 'object', description: 'Not ready', properties: { status: { type: 'string' }, checks: { type: 'object', additionalProperties: { type: 'boolean' } } } },
      },
    },
    handler: async (_req, reply) => {
      const r = await ctx.readiness();
      reply.code(r.ready ? 200 : 503);
      return { status: r.ready ? 'ready' : 'not ready', checks: r.checks };
    },
  });

  app.get('/metrics', {
    schema: { summary: 'Prometheus metrics (text exposition format)', tags: ['meta'], produces: 'text/plain', response: { 200: { type: 'string', description: 'Prometheus text' }, ...errorResponses() } },
    handler: async (_req, reply) => {
      const reg = ctx.broker.metrics.registry;
      const text = await reg.metrics();
      reply.type(reg.contentType);
      return text;
    },
  });

  let doc: string | null = null;
  app.get('/openapi.json', {
    schema: { summary: 'This OpenAPI document', tags: ['meta'], response: { 200: { type: 'object', additionalProperties: true, description: 'OpenAPI 3.0 document' }, ...errorResponses() } },
    handler: async (_req, reply) => {
      doc ??= JSON.stringify(openapi.document(info));
      reply.type('application/json');
      return reply.send(doc);
    },
  });
}
