// Stream functions: deploy (bundle upload or built-in), list, status, logs, pause/resume,
// rollback, delete. The runtime is found through the broker, like the table service.
import type { FastifyInstance } from 'fastify';
import type { PluginOptions } from '../context.js';
import { HttpError } from '../errors.js';
import { errorResponses } from '../schemas.js';
import { runtimeFor, type FunctionRuntime } from '../../../stream-functions/runtime.js';
import { FunctionError } from '../../../stream-functions/spec.js';

const MAX_BUNDLE_BYTES = 32 * 1024 * 1024;

interface DeployBody {
  name: string;
  builtin?: string;
  code_base64?: string;
  inputs: string[];
  outputs?: string[];
  table?: string | null;
  vars?: Record<string, string>;
  from_offset?: string;
  parallelism?: number;
  limits?: Record<string, number>;
}

const nameParams = { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 100 } } } as const;

export default async function functionRoutes(app: FastifyInstance, { ctx }: PluginOptions): Promise<void> {
  const runtime = (): FunctionRuntime => {
    const rt = runtimeFor(ctx.broker);
    if (!rt) throw new HttpError(503, 503, 'the function runtime is not running on this node');
    return rt;
  };
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof FunctionError) return reply.code(err.status).send({ error_code: err.code, message: err.message });
    throw err;
  });

  app.get('/v1/functions', {
    schema: { summary: 'List deployed functions', tags: ['functions'], response: errorResponses(503) },
    handler: async () => ({ functions: runtime().list() }),
  });

  app.post<{ Body: DeployBody }>('/v1/functions', {
    bodyLimit: Math.ceil(MAX_BUNDLE_BYTES * 1.4),
    schema: {
      summary: 'Deploy a function (new version)',
      description: 'Either `builtin` (embed, materialize, reason) or `code_base64` (an ESM bundle whose default export is defineFunction(...)). Each deploy makes the next version; the function resumes from its committed offsets.',
      tags: ['functions'],
      body: {
        type: 'object',
        required: ['name', 'inputs'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 100 },
          builtin: { type: 'string' },
          code_base64: { type: 'string' },
          inputs: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
          outputs: { type: 'array', items: { type: 'string', minLength: 1 } },
          table: { type: ['string', 'null'] },
          vars: { type: 'object', additionalProperties: { type: 'string' } },
          from_offset: { type: 'string' },
          parallelism: { type: 'integer', minimum: 1, maximum: 64 },
          limits: { type: 'object', additionalProperties: { type: 'number' } },
        },
      },
      response: errorResponses(400, 404, 422, 503),
    },
    handler: async (req, reply) => {
      const b = req.body;
      if ((b.builtin === undefined) === (b.code_base64 === undefined)) throw new HttpError(400, 400, 'give exactly one of builtin or code_base64');
      const status = await runtime().deploy({
        name: b.name,
        ...(b.builtin !== undefined ? { builtin: b.builtin } : {}),
        ...(b.code_base64 !== undefined ? { code: Buffer.from(b.code_base64, 'base64') } : {}),
        inputs: b.inputs,
        outputs: b.outputs ?? [],
        table: b.table ?? null,
        vars: b.vars ?? {},
        ...(b.from_offset !== undefined ? { fromOffset: b.from_offset } : {}),
        ...(b.parallelism !== undefined ? { parallelism: b.parallelism } : {}),
        ...(b.limits !== undefined ? { limits: b.limits } : {}),
      });
      reply.code(201).header('location', `/v1/functions/${encodeURIComponent(b.name)}`);
      return status;
    },
  });

  app.get<{ Params: { name: string } }>('/v1/functions/:name', {
    schema: {
      summary: 'Status: state, version, lag, throughput, errors and latency per partition (this node); `group`: every member on any node with its partitions and lag',
      tags: ['functions'],
      params: nameParams,
      response: errorResponses(404, 503),
    },
    handler: async (req) => runtime().clusterStatus(req.params.name),
  });

  app.get<{ Params: { name: string }; Querystring: { after: number; limit: number } }>('/v1/functions/:name/logs', {
    schema: {
      summary: 'Recent log lines (function and runtime); poll with after=<last seq> to follow',
      tags: ['functions'],
      params: nameParams,
      querystring: { type: 'object', additionalProperties: false, properties: { after: { type: 'integer', minimum: 0, default: 0 }, limit: { type: 'integer', minimum: 1, maximum: 2000, default: 500 } } },
      response: errorResponses(400, 404, 503),
    },
    handler: async (req) => runtime().logs(req.params.name, req.query.after, req.query.limit),
  });

  for (const action of ['pause', 'resume'] as const) {
    app.post<{ Params: { name: string } }>(`/v1/functions/:name/${action}`, {
      schema: { summary: `${action === 'pause' ? 'Pause' : 'Resume'} a function`, tags: ['functions'], params: nameParams, response: errorResponses(404, 503) },
      handler: async (req) => runtime()[action](req.params.name),
    });
  }

  app.post<{ Params: { name: string }; Body: { version: number } }>('/v1/functions/:name/rollback', {
    schema: {
      summary: 'Make an earlier version the running one',
      tags: ['functions'],
      params: nameParams,
      body: { type: 'object', required: ['version'], additionalProperties: false, properties: { version: { type: 'integer', minimum: 1 } } },
      response: errorResponses(400, 404, 503),
    },
    handler: async (req) => runtime().rollback(req.params.name, req.body.version),
  });

  app.delete<{ Params: { name: string } }>('/v1/functions/:name', {
    schema: { summary: 'Stop and remove a function with all its versions (its topics, tables and committed offsets stay)', tags: ['functions'], params: nameParams, response: errorResponses(404, 503) },
    handler: async (req, reply) => {
      await runtime().remove(req.params.name);
      reply.code(204);
    },
  });
}
