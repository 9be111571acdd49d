// Tables: create/list/describe/drop/add column, row writes, get, search, count, scan.
import type { FastifyInstance } from 'fastify';
import { LogError } from '../../../broker/log/index.js';
import type { Filter } from '../../../vector/filter.js';
import { TableError, type TableErrorCode } from '../../../vector/errors.js';
import type { SearchRequest } from '../../../vector/table.js';
import { tableServiceOf, type TableService } from '../../../vector/table-service.js';
import type { PluginOptions } from '../context.js';
import { HttpError } from '../errors.js';
import { errorResponses, LIMITS } from '../schemas.js';

const STATUS: Record<TableErrorCode, number> = {
  INVALID_SCHEMA: 400,
  INVALID_ROW: 400,
  INVALID_KEY: 400,
  INVALID_FILTER: 400,
  INVALID_QUERY: 400,
  INVALID_PAGE_TOKEN: 400,
  TABLE_EXISTS: 409,
  TABLE_NOT_FOUND: 404,
  TABLE_CLOSED: 503,
  EMBEDDER_UNAVAILABLE: 503,
  TIMEOUT: 504,
};

function toHttp(err: unknown): unknown {
  if (err instanceof TableError) return new HttpError(STATUS[err.code], err.code, err.message);
  // One row larger than the changelog topic's max.message.bytes.
  if (err instanceof LogError && err.code === 'MESSAGE_TOO_LARGE') return new HttpError(413, err.code, err.message);
  return err;
}

const MAX_ROWS = LIMITS.maxRecordsPerProduce;
const TABLE_NAME = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' } as const;
const nameParams = { type: 'object', required: ['name'], properties: { name: TABLE_NAME } } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;
const filterSchema = { type: 'object', additionalProperties: true, description: 'eq / range / in / and / or / not, e.g. {"and":[{"eq":{"lang":"en"}},{"range":{"price":{"lt":10}}}]}' } as const;
// Untyped on purpose: with coerceTypes a string|integer schema would turn 5 into "5" or back; the
// engine checks keys against the table's primary key type instead.
const keySchema = { description: 'primary key: string or integer, as the table defines it' } as const;

const column = {
  type: 'object',
  required: ['name', 'type'],
  additionalProperties: false,
  properties: {
    name: { type: 'string' },
    type: { type: 'string', enum: ['string', 'int', 'float', 'bool', 'timestamp', 'json'] },
    nullable: { type: 'boolean' },
  },
} as const;

const schemaBody = {
  type: 'object',
  required: ['name', 'primaryKey', 'columns'],
  additionalProperties: false,
  properties: {
    name: TABLE_NAME,
    primaryKey: { type: 'string' },
    columns: { type: 'array', items: column, minItems: 1, maxItems: 1000 },
    vectors: {
      type: 'array',
      maxItems: 16,
      items: {
        type: 'object',
        required: ['name', 'dim', 'metric'],
        additionalProperties: false,
        properties: {
          name: { type: 'string' },
          dim: { type: 'integer' },
          metric: { type: 'string', enum: ['cosine', 'l2', 'ip'] },
          m: { type: 'integer' },
          efConstruction: { type: 'integer' },
        },
      },
    },
    embedder: {
      type: 'object',
      required: ['column', 'source', 'model'],
      additionalProperties: false,
      properties: { column: { type: 'string' }, source: { type: 'string' }, model: { anyOf: [{ type: 'string', description: 'use-lite (512-d) or hashing' }, { type: 'object', description: '{type:"onnx",path,...} or {type:"openai",url,name,apiKeyEnv,...}' }] } },
    },
  },
} as const;

const info = {
  type: 'object',
  properties: {
    schema: anyObject,
    stats: anyObject,
    topics: { type: 'object', properties: { changelog: { type: 'string' }, input: { type: 'string' }, query: { type: 'string' }, errors: { type: 'string' } } },
  },
} as const;

const writeResult = { type: 'object', properties: { offset: { type: 'integer' }, count: { type: 'integer' } } } as const;

export default async function tableRoutes(app: FastifyInstance, { ctx }: PluginOptions): Promise<void> {
  const service = (): TableService => {
    const s = tableServiceOf(ctx.broker);
    if (!s) throw new HttpError(503, 503, 'the table store is not running on this node');
    return s;
  };
  // Engine errors get their status and code here; anything else goes on to the app's handler.
  app.setErrorHandler((err, _req, reply) => {
    const mapped = toHttp(err);
    if (mapped instanceof HttpError) return reply.code(mapped.status).send(mapped.body());
    throw err;
  });

  app.post<{ Body: Record<string, unknown> }>('/v1/tables', {
    schema: {
      summary: 'Create a table',
      description: 'Primary key (string or int column), typed scalar columns, vector columns (dim, metric) and an optional embedder that fills a vector column from a string column.',
      tags: ['tables'],
      body: schemaBody,
      response: { 201: info, ...errorResponses(400, 409, 503) },
    },
    handler: async (req, reply) => {
      const created = await service().create(req.body);
      reply.code(201).header('location', `/v1/tables/${encodeURIComponent(created.schema.name)}`);
      return created;
    },
  });

  app.get('/v1/tables', {
    schema: {
      summary: 'List tables',
      tags: ['tables'],
      response: { 200: { type: 'object', properties: { tables: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, rows: { type: 'integer' } } } } } }, ...errorResponses(503) },
    },
    handler: async () => {
      const svc = service();
      const tables: Array<{ name: string; rows: number }> = [];
      for (const name of await svc.list()) {
        try {
          tables.push({ name, rows: (await svc.table(name)).stats().rows });
        } catch {
          tables.push({ name, rows: -1 });
        }
      }
      return { tables };
    },
  });

  app.get<{ Params: { name: string } }>('/v1/tables/:name', {
    schema: { summary: 'Describe a table: schema, stats and topics', tags: ['tables'], params: nameParams, response: { 200: info, ...errorResponses(400, 404, 503) } },
    handler: async (req) => service().describe(req.params.name),
  });

  app.delete<{ Params: { name: string } }>('/v1/tables/:name', {
    schema: { summary: 'Drop a table, its snapshots and its topics', tags: ['tables'], params: nameParams, response: { 204: { type: 'null', description: 'Dropped' }, ...errorResponses(400, 404, 503) } },
    handler: async (req, reply) => {
      await service().drop(req.params.name);
      reply.code(204).send();
    },
  });

  app.post<{ Params: { name: string }; Body: Record<string, unknown> }>('/v1/tables/:name/columns', {
    schema: {
      summary: 'Add a nullable scalar column',
      tags: ['tables'],
      params: nameParams,
      body: column,
      response: { 200: { type: 'object', properties: { schema: anyObject } }, ...errorResponses(400, 404, 503) },
    },
    handler: async (req) => ({ schema: await service().addColumn(req.params.name, req.body as never) }),
  });

  app.post<{ Params: { name: string }; Body: { rows: unknown[] } }>('/v1/tables/:name/rows', {
    bodyLimit: LIMITS.produceBodyBytes,
    schema: {
      summary: 'Upsert rows (all or nothing)',
      description: `Every row is validated (and embedded) before anything is written; one bad row fails the request. At most ${MAX_ROWS} rows. The returned offset is the changelog offset of the last row: pass it as after_offset with consistency "strong" to read your writes.`,
      tags: ['tables'],
      params: nameParams,
      body: { type: 'object', required: ['rows'], additionalProperties: false, properties: { rows: { type: 'array', items: anyObject, minItems: 1, maxItems: MAX_ROWS } } },
      response: { 200: writeResult, ...errorResponses(400, 404, 413, 503) },
    },
    handler: async (req) => (await service().table(req.params.name)).upsert(req.body.rows),
  });

  app.delete<{ Params: { name: string }; Body: { keys: unknown[] } }>('/v1/tables/:name/rows', {
    schema: {
      summary: 'Delete rows by primary key',
      tags: ['tables'],
      params: nameParams,
      body: { type: 'object', required: ['keys'], additionalProperties: false, properties: { keys: { type: 'array', items: keySchema, minItems: 1, maxItems: MAX_ROWS } } },
      response: { 200: writeResult, ...errorResponses(400, 404, 503) },
    },
    handler: async (req) => (await service().table(req.params.name)).delete(req.body.keys),
  });

  app.get<{ Params: { name: string; key: string }; Querystring: { include_vectors: boolean } }>('/v1/tables/:name/rows/:key', {
    schema: {
      summary: 'Get a row by primary key',
      tags: ['tables'],
      params: { type: 'object', required: ['name', 'key'], properties: { name: TABLE_NAME, key: { type: 'string', minLength: 1 } } },
      querystring: { type: 'object', additionalProperties: false, properties: { include_vectors: { type: 'boolean', default: false } } },
      response: { 200: { type: 'object', properties: { row: anyObject } }, ...errorResponses(400, 404, 503) },
    },
    handler: async (req) => {
      const table = await service().table(req.params.name);
      const schema = table.describe();
      const pkType = schema.columns.find((c) => c.name === schema.primaryKey)!.type;
      const raw = req.params.key;
      let key: string | number = raw;
      if (pkType === 'int') {
        if (!/^-?\d+$/.test(raw)) throw new TableError('INVALID_KEY', `primary key ${schema.primaryKey} is an integer, got ${JSON.stringify(key)}`);
        key = Number(raw);
      }
      const row = await table.get(key, req.query.include_vectors);
      if (!row) throw new HttpError(404, 'ROW_NOT_FOUND', `table ${req.params.name} has no row with key ${JSON.stringify(key)}`);
      return { row };
    },
  });

  app.post<{ Params: { name: string }; Body: Record<string, unknown> }>('/v1/tables/:name/search', {
    bodyLimit: LIMITS.produceBodyBytes,
    schema: {
      summary: 'k nearest neighbours, by vector or by text (tables with an embedder)',
      tags: ['tables'],
      params: nameParams,
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          vector: { type: 'array', items: { type: 'number' }, maxItems: 4096 },
          text: { type: 'string', maxLength: 100_000 },
          k: { type: 'integer', minimum: 1, maximum: 10_000, default: 10 },
          ef: { type: 'integer', minimum: 1, maximum: 100_000 },
          filter: filterSchema,
          column: { type: 'string' },
          consistency: { type: 'string', enum: ['eventual', 'strong'] },
          after_offset: { type: 'integer', minimum: 0 },
          include_vectors: { type: 'boolean' },
        },
      },
      response: {
        200: {
          type: 'object',
          properties: {
            hits: { type: 'array', items: { type: 'object', properties: { key: keySchema, score: { type: 'number' }, distance: { type: 'number' }, row: anyObject } } },
          },
        },
        ...errorResponses(400, 404, 503, 504),
      },
    },
    handler: async (req) => {
      const b = req.body;
      const r: SearchRequest = {};
      if (b.vector !== undefined) r.vector = b.vector as number[];
      if (b.text !== undefined) r.text = b.text as string;
      if (b.k !== undefined) r.k = b.k as number;
      if (b.ef !== undefined) r.ef = b.ef as number;
      if (b.filter !== undefined) r.filter = b.filter as Filter;
      if (b.column !== undefined) r.column = b.column as string;
      if (b.consistency !== undefined) r.consistency = b.consistency as 'eventual' | 'strong';
      if (b.after_offset !== undefined) r.afterOffset = b.after_offset as number;
      if (b.include_vectors !== undefined) r.includeVectors = b.include_vectors as boolean;
      return { hits: await (await service().table(req.params.name)).search(r) };
    },
  });

  const countSchema = { type: 'object', properties: { count: { type: 'integer' } } } as const;
  app.get<{ Params: { name: string } }>('/v1/tables/:name/count', {
    schema: { summary: 'Number of rows', tags: ['tables'], params: nameParams, response: { 200: countSchema, ...errorResponses(400, 404, 503) } },
    handler: async (req) => ({ count: await (await service().table(req.params.name)).count() }),
  });
  app.post<{ Params: { name: string }; Body: { filter?: Filter } }>('/v1/tables/:name/count', {
    schema: {
      summary: 'Number of rows matching a filter',
      tags: ['tables'],
      params: nameParams,
      body: { type: 'object', additionalProperties: false, properties: { filter: filterSchema } },
      response: { 200: countSchema, ...errorResponses(400, 404, 503) },
    },
    handler: async (req) => ({ count: await (await service().table(req.params.name)).count(req.body.filter) }),
  });

  app.post<{ Params: { name: string }; Body: { filter?: Filter; limit?: number; page_token?: string; include_vectors?: boolean } }>('/v1/tables/:name/scan', {
    schema: {
      summary: 'Rows in primary-key order, filtered, one page at a time',
      description: 'Pass next_page_token back as page_token for the next page; no token in the answer means the end.',
      tags: ['tables'],
      params: nameParams,
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          filter: filterSchema,
          limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 100 },
          page_token: { type: 'string', minLength: 1, maxLength: 10_000 },
          include_vectors: { type: 'boolean', default: false },
        },
      },
      response: { 200: { type: 'object', properties: { rows: { type: 'array', items: anyObject }, next_page_token: { type: 'string' } } }, ...errorResponses(400, 404, 503) },
    },
    handler: async (req) => {
      const b = req.body;
      const page = await (await service().table(req.params.name)).scan({
        ...(b.filter !== undefined ? { filter: b.filter } : {}),
        ...(b.limit !== undefined ? { limit: b.limit } : {}),
        ...(b.page_token !== undefined ? { pageToken: b.page_token } : {}),
        ...(b.include_vectors !== undefined ? { includeVectors: b.include_vectors } : {}),
      });
      return page.nextPageToken === undefined ? { rows: page.rows } : { rows: page.rows, next_page_token: page.nextPageToken };
    },
  });
}
